// Cold start: time from spawning `node federation/main.ts` to the first 200 from /readyz,
// for a first start (empty data folder or database) and a second one, on each database.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, stopServer } from "../helpers/server.ts";
import { benchPostgresUrl, report, scratchDatabase } from "./support.ts";

async function timedStart(env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const server = await startServer(env, 120_000);
  while ((await fetch(`${server.url}/readyz`)).status !== 200) await new Promise((r) => setTimeout(r, 20));
  const ms = performance.now() - started;
  await stopServer(server);
  return ms;
}

export async function startupBenchmark(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "fedchat-bench-"));
  try {
    const env = { DATA_DIR: join(dir, "embedded"), LOG_LEVEL: "warning" };
    report("startup pglite: first start (creates the database)", await timedStart(env), "ms");
    report("startup pglite: second start", await timedStart(env), "ms");
    const admin = await benchPostgresUrl();
    if (admin == null) {
      process.stdout.write("startup postgres: no PostgreSQL reachable (set BENCH_DATABASE_URL)\n");
      return;
    }
    const scratch = await scratchDatabase(admin);
    try {
      const pgEnv = { DATA_DIR: join(dir, "pg"), DATABASE_URL: scratch.url, LOG_LEVEL: "warning" };
      report("startup postgres: first start (migrates)", await timedStart(pgEnv), "ms");
      report("startup postgres: second start", await timedStart(pgEnv), "ms");
    } finally {
      await scratch.drop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
