import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInstance, type Instance } from "../../federation/instance.ts";
import { loadConfig } from "../../src/config.ts";
import type { Secrets } from "../../src/secrets.ts";
import { createTestDatabase, type TestDatabase } from "./db.ts";
import { testSecrets } from "./secrets.ts";

/** An assembled instance on a fresh test database, with its own temporary data folder. */
export interface TestInstance extends Instance {
  readonly origin: string;
  readonly testDatabase: TestDatabase;
  /** Sends a request to the app as a client at `address` would (no socket involved). */
  request(path: string, init?: RequestInit, address?: string): Promise<Response>;
  /** Closes the instance and drops its database and data folder. */
  dispose(): Promise<void>;
}

/**
 * Builds the whole server (database, app, Fedify) for `app.request()` tests.
 * @param env Extra configuration variables; ORIGIN defaults to https://chat.example and queue
 *            workers to none.
 * @param secrets The secrets to use (a test that forges tokens passes a key it knows).
 */
export async function createTestInstance(
  env: Record<string, string> = {},
  secrets: Secrets = testSecrets(),
): Promise<TestInstance> {
  const dataDir = mkdtempSync(join(tmpdir(), "fedchat-instance-"));
  const database = await createTestDatabase();
  const config = loadConfig({ ORIGIN: "https://chat.example", QUEUE_WORKERS: "0", DATA_DIR: dataDir, ...env });
  const instance = await createInstance(config, { database, secrets });
  return Object.assign(instance, {
    origin: config.origin,
    testDatabase: database,
    async request(path: string, init: RequestInit = {}, address = "203.0.113.10") {
      return await instance.app.request(new URL(path, config.origin), init, { clientAddress: address });
    },
    async dispose() {
      await instance.close();
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** JSON request options. */
export function json(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

/** The Authorization header for an access token. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
