import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { type AddressInfo, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterEach, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { testDatabaseKind } from "../helpers/db.ts";
import { startTwoInstances, type TwoInstances, TwoInstancesError, type TwoInstancesOptions } from "../two-instances.ts";

// The launcher behind `npm run two-instances`: two real server processes on loopback.

/** Ports that were free a moment ago, found by letting the system pick them. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

let dataDir: string;
let output: string[];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "fedchat-two-instances-"));
  output = [];
  onTestFailed(() => {
    console.error(`The servers' last output:\n${output.slice(-60).join("\n")}`);
  });
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the pair with free ports, a temporary data folder and captured output. */
async function start(options: TwoInstancesOptions = {}): Promise<TwoInstances> {
  const [a, b] = await freePorts(2);
  return startTwoInstances({
    ports: { a, b },
    dataDir,
    onOutput: (name, line) => output.push(`[${name}] ${line}`),
    readyTimeoutMs: 60_000,
    stopTimeoutMs: 15_000,
    ...options,
  });
}

/** Checks that both servers are up, each as itself, then stops them and checks they exit 0. */
async function expectTwoWorkingInstances(instances: TwoInstances): Promise<void> {
  const { a, b } = instances;
  try {
    expect(a.url).not.toBe(b.url);
    const names = new Set<unknown>();
    for (const instance of [a, b]) {
      expect(new URL(instance.url).hostname).toBe("127.0.0.1");
      const ready = await getJson(`${instance.url}/readyz`);
      expect(ready.status, `${instance.name} /readyz`).toBe(200);

      const nodeInfo = await getJson(`${instance.url}/nodeinfo/2.1`);
      expect(nodeInfo.status, `${instance.name} NodeInfo`).toBe(200);
      expect(nodeInfo.body).toMatchObject({ software: { name: "fedchat" }, protocols: ["activitypub"] });
      names.add((nodeInfo.body.metadata as { nodeName?: unknown } | undefined)?.nodeName);

      // The discovery document links under the instance's own URL: its ORIGIN is that URL.
      const links = (await getJson(`${instance.url}/.well-known/nodeinfo`)).body.links as { href: string }[];
      expect(links.map((link) => link.href)).toContain(`${instance.url}/nodeinfo/2.1`);
    }
    expect(names.size, "each instance names itself").toBe(2);
  } finally {
    await instances.stop();
  }
  const statuses = await Promise.all([a.exited, b.exited]);
  expect(statuses.map((status) => status.code)).toEqual([0, 0]);
  await instances.stop(); // a second stop is harmless
}

describe("startTwoInstances", () => {
  // Embedded databases: in the embedded pass of the suite; PostgreSQL's test below in the other.
  if (testDatabaseKind === "pglite")
    it("starts two ready instances on embedded databases and stops them cleanly", { timeout: 120_000 }, async () => {
      const instances = await start();
      expect(instances.a.databaseUrl).toBeUndefined();
      for (const instance of [instances.a, instances.b]) {
        expect(
          existsSync(join(instance.dataDir, "pglite", "PG_VERSION")),
          `${instance.name} has its own database`,
        ).toBe(true);
      }
      expect(instances.a.dataDir).not.toBe(instances.b.dataDir);
      await expectTwoWorkingInstances(instances);
    });

  if (testDatabaseKind === "pglite")
    it("fails fast, stopping both, when an instance cannot start", { timeout: 120_000 }, async () => {
      const [a, b] = await freePorts(2);
      // Something else on b's port, hanging up on every connection.
      const blocker = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => blocker.listen(b, "127.0.0.1", resolve));
      try {
        const started = Date.now();
        const error = await start({ ports: { a, b } }).then(
          (instances) => instances.stop().then(() => undefined),
          (error: unknown) => error,
        );
        expect(error).toBeInstanceOf(TwoInstancesError);
        expect((error as Error).message).toMatch(/Instance b .* exited with \d+ before it was ready/);
        expect(Date.now() - started, "did not wait for the ready timeout").toBeLessThan(60_000);
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
      // Instance a was stopped too: its port is free again.
      const probe = createServer();
      await new Promise<void>((resolve, reject) => {
        probe.once("error", reject);
        probe.listen(a, "127.0.0.1", resolve);
      });
      await new Promise((resolve) => probe.close(resolve));
    });

  // Runs in the PostgreSQL pass of the suite (TEST_DATABASE_URL set).
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl)
    it("gives each instance its own PostgreSQL database, creating it when missing", { timeout: 120_000 }, async () => {
      const suffix = randomBytes(4).toString("hex");
      const databases = { a: `fedchat_two_${suffix}_a`, b: `fedchat_two_${suffix}_b` };
      try {
        const instances = await start({ databaseUrl: adminUrl, databaseNames: databases });
        expect(new URL(instances.a.databaseUrl ?? "").pathname).toBe(`/${databases.a}`);
        expect(new URL(instances.b.databaseUrl ?? "").pathname).toBe(`/${databases.b}`);
        await expectTwoWorkingInstances(instances);
      } finally {
        const admin = postgres(adminUrl ?? "", { max: 1, onnotice: () => {} });
        try {
          for (const database of Object.values(databases)) {
            await admin.unsafe(`drop database if exists "${database}" with (force)`);
          }
        } finally {
          await admin.end();
        }
      }
    });
});
