import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresMessageQueue } from "../../federation/queue.ts";
import { openDatabase } from "../../src/db/client.ts";
import { fedifyQueue } from "../../src/db/schema.ts";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { createTestDatabase, type TestDatabase, testDatabaseKind } from "../helpers/db.ts";

const worker = fileURLToPath(new URL("../fixtures/queue-worker.ts", import.meta.url));
const children: ChildProcess[] = [];
let dir: string;
/** More folders to remove at the end. */
const dirs: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fedchat-queue-crash-"));
});
afterAll(() => {
  for (const child of children) if (child.exitCode == null) child.kill("SIGKILL");
  for (const path of [dir, ...dirs]) rmSync(path, { recursive: true, force: true });
});

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [worker], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("listening")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

function handled(out: string): string[] {
  if (!existsSync(out)) return [];
  return readFileSync(out, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" ")[1] as string);
}

async function until(predicate: () => boolean, ms: number) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exited = (child: ChildProcess) =>
  child.exitCode != null || child.signalCode != null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()));

const messages = Array.from({ length: 20 }, (_, i) => `m${i}`);

describe("the queue when a worker process is killed", () => {
  // In the embedded pass of the suite; the PostgreSQL part below in the other.
  if (testDatabaseKind === "pglite")
    it("loses nothing on the embedded database: a SIGKILLed worker's messages are handled after restart", async () => {
      // An embedded database already migrated: a copy of the run's template, removed with the rest.
      const dataDir = preparedDataDir("fedchat-queue-crash-");
      dirs.push(dataDir);
      const db = await openDatabase({ dataDir });
      await new PostgresMessageQueue(db).enqueueMany(messages);
      await db.close();

      const out = join(dir, "pglite-out.txt");
      const env = { PGLITE_DATA_DIR: dataDir, OUT: out, HANDLE_MS: "100", LEASE_MS: "1500" };
      const first = await startWorker({ ...env, WORKER_NAME: "first" });
      await until(() => handled(out).length >= 5, 20_000);
      first.kill("SIGKILL");
      await exited(first);
      const beforeRestart = handled(out).length;
      expect(beforeRestart).toBeLessThan(messages.length);

      const second = await startWorker({ ...env, WORKER_NAME: "second" });
      await until(() => new Set(handled(out)).size === messages.length, 30_000);
      second.kill("SIGTERM");
      await exited(second);
      expect(second.exitCode).toBe(0);
      // At least once: everything arrives; only a message in flight at the kill may repeat.
      expect(new Set(handled(out))).toEqual(new Set(messages));
      expect(handled(out).length - messages.length).toBeLessThanOrEqual(1);

      const after = await openDatabase({ dataDir });
      expect(await after.db.select().from(fedifyQueue)).toHaveLength(0);
      await after.close();
    }, 90_000);

  // Two processes cannot share one embedded database, so this part needs PostgreSQL.
  if (process.env.TEST_DATABASE_URL)
    describe("on PostgreSQL", () => {
      let database: TestDatabase;
      beforeAll(async () => {
        database = await createTestDatabase();
      });
      afterAll(async () => database.close());

      it("hands each message to exactly one of two worker processes, and recovers a killed one's", async () => {
        const url = database.url as string;
        const many = Array.from({ length: 60 }, (_, i) => `p${i}`);
        await new PostgresMessageQueue(database).enqueueMany(many);
        const out = join(dir, "pg-out.txt");
        const env = { DATABASE_URL: url, OUT: out, HANDLE_MS: "20", CONCURRENCY: "2", LEASE_MS: "1500" };
        const [a, b] = await Promise.all([
          startWorker({ ...env, WORKER_NAME: "a" }),
          startWorker({ ...env, WORKER_NAME: "b" }),
        ]);
        await until(() => handled(out).length >= many.length, 30_000);
        await new Promise((r) => setTimeout(r, 300));
        expect(handled(out).sort()).toEqual([...many].sort());

        // Now kill one mid-stream; the survivor finishes its work once the leases run out.
        const more = Array.from({ length: 20 }, (_, i) => `q${i}`);
        await new PostgresMessageQueue(database).enqueueMany(more);
        await until(() => handled(out).filter((m) => m.startsWith("q")).length >= 3, 20_000);
        a.kill("SIGKILL");
        await exited(a);
        await until(() => new Set(handled(out).filter((m) => m.startsWith("q"))).size === more.length, 30_000);
        // The killed worker may have handled a message without deleting it: its row comes back
        // once the lease runs out, and the survivor handles it again (at least once).
        const deadline = Date.now() + 30_000;
        while ((await database.db.select().from(fedifyQueue)).length > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        b.kill("SIGTERM");
        await exited(b);
        expect(await database.db.select().from(fedifyQueue)).toHaveLength(0);
        expect(new Set(handled(out).filter((m) => m.startsWith("q"))).size).toBe(more.length);
      }, 90_000);
    });
});
