// Queue throughput: how many messages per second the PostgreSQL-backed Fedify queue moves
// through enqueue -> claim -> handle -> delete, with 1 and 4 workers, on each database.
import { PostgresMessageQueue } from "../../federation/queue.ts";
import { type DatabaseHandle, openDatabase } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { benchPostgresUrl, percentile, report, scratchDatabase } from "./support.ts";

const count = Number(process.env.BENCH_QUEUE_MESSAGES ?? 2000);

async function run(label: string, database: DatabaseHandle) {
  await migrateDatabase(database);
  const queue = new PostgresMessageQueue(database, { pollIntervalMs: 50 });

  let started = performance.now();
  for (let i = 0; i < 200; i++) await queue.enqueue({ i, at: Date.now() });
  report(`queue ${label}: enqueue one at a time`, 200 / ((performance.now() - started) / 1000), "msg/s");
  started = performance.now();
  for (let i = 0; i < count; i += 100) {
    await queue.enqueueMany(Array.from({ length: 100 }, (_, j) => ({ i: i + j, at: Date.now() })));
  }
  report(`queue ${label}: enqueue in batches of 100`, count / ((performance.now() - started) / 1000), "msg/s");

  for (const workers of [1, 4]) {
    const drainQueue = new PostgresMessageQueue(database, { pollIntervalMs: 50, concurrency: workers });
    const total = (await drainQueue.getDepth()).queued;
    let handled = 0;
    const controller = new AbortController();
    const done = new Promise<void>((resolve) => {
      started = performance.now();
      void drainQueue.listen(
        () => {
          if (++handled >= total) resolve();
        },
        { signal: controller.signal },
      );
    });
    await done;
    const seconds = (performance.now() - started) / 1000;
    controller.abort();
    await drainQueue.close();
    report(`queue ${label}: handle ${total} with ${workers} worker(s)`, total / seconds, "msg/s");
    if (workers === 1) {
      for (let i = 0; i < count; i += 100) {
        await queue.enqueueMany(Array.from({ length: 100 }, (_, j) => ({ i: i + j, at: Date.now() })));
      }
    }
  }

  // Latency from enqueue to handler with an idle listener (NOTIFY wakes it).
  const latencies: number[] = [];
  const controller = new AbortController();
  const listener = new PostgresMessageQueue(database, { pollIntervalMs: 1000 });
  let resolveOne: (() => void) | undefined;
  const listening = listener.listen(
    (m) => {
      latencies.push(performance.now() - (m as { t: number }).t);
      resolveOne?.();
    },
    { signal: controller.signal },
  );
  await new Promise((r) => setTimeout(r, 200));
  for (let i = 0; i < 100; i++) {
    const got = new Promise<void>((r) => {
      resolveOne = r;
    });
    await queue.enqueue({ t: performance.now() });
    await got;
  }
  controller.abort();
  await listening;
  await listener.close();
  await queue.close();
  report(`queue ${label}: enqueue-to-handler latency p50`, percentile(latencies, 50), "ms");
  report(`queue ${label}: enqueue-to-handler latency p99`, percentile(latencies, 99), "ms");
}

export async function queueBenchmark(): Promise<void> {
  const memory = await openDatabase({ memory: true });
  await run("pglite", memory);
  await memory.close();
  const admin = await benchPostgresUrl();
  if (admin == null) {
    process.stdout.write("queue postgres: no PostgreSQL reachable (set BENCH_DATABASE_URL)\n");
    return;
  }
  const scratch = await scratchDatabase(admin);
  const pg = await openDatabase({ url: scratch.url, poolSize: 10 });
  try {
    await run("postgres", pg);
  } finally {
    await pg.close();
    await scratch.drop();
  }
}
