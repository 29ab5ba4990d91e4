/**
 * A server process and a loopback peer, as the federation tests start them: the server on the
 * embedded database in a prepared data directory, or on a PostgreSQL database of its own when
 * TEST_DATABASE_URL is set; private addresses allowed (the peer is on loopback), rate limits
 * relaxed, the queue polled often.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, onTestFailed } from "vitest";
import { preparedDataDir } from "./data-dir.ts";
import { createTestDatabase, type TestDatabase } from "./db.ts";
import { Peer } from "./peer.ts";
import { type ServerProcess, startServer, stopServer } from "./server.ts";

export interface Federated {
  readonly server: ServerProcess;
  readonly peer: Peer;
  /** Stops both and removes what the server stored. */
  close(): Promise<void>;
}

/**
 * Starts a server (with `env` on top of the defaults) and a peer side by side.
 * @param prefix The data directory's name prefix (`fedchat-<what>-`).
 * @param prepare Runs with the server's environment before it starts (`npm run admin` commands).
 * @param startTimeoutMs How long the server may take to answer (a loaded machine needs more).
 */
export async function startFederated(
  prefix: string,
  env: Record<string, string> = {},
  prepare?: (env: Record<string, string>) => Promise<void> | void,
  startTimeoutMs = 60_000,
): Promise<Federated> {
  const database: TestDatabase | undefined = process.env.TEST_DATABASE_URL ? await createTestDatabase() : undefined;
  const dir = database ? mkdtempSync(join(tmpdir(), prefix)) : preparedDataDir(prefix);
  const serverEnv: Record<string, string> = {
    DATA_DIR: dir,
    ...(database?.url ? { DATABASE_URL: database.url } : {}),
    RATE_LIMIT_FACTOR: "1000",
    FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
    QUEUE_POLL_INTERVAL_MS: "100",
    LOG_LEVEL: process.env.FED_LOG ?? "warning",
    ...env,
  };
  // Before the server opens the database (the embedded one takes one process at a time).
  await prepare?.(serverEnv);
  const [server, peer] = await Promise.all([startServer(serverEnv, startTimeoutMs), Peer.start()]);
  return {
    server,
    peer,
    async close() {
      await peer.close();
      await stopServer(server);
      await database?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Shows what the server process wrote when a test fails (its last lines on stderr), or writes
 * all of it to the file named by FED_DUMP, after each failure and when the suite ends.
 */
export function showServerOutput(server: () => ServerProcess | undefined, tail = 4000): void {
  const dump = () => {
    if (process.env.FED_DUMP) writeFileSync(process.env.FED_DUMP, server()?.output() ?? "");
  };
  beforeEach(() => {
    onTestFailed(() => {
      if (process.env.FED_DUMP) dump();
      else console.error(server()?.output().slice(-tail));
    });
  });
  afterAll(dump);
}
