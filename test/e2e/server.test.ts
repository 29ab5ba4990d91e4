import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase, testDatabaseKind } from "../helpers/db.ts";
import { type ServerProcess, startServer, stopServer } from "../helpers/server.ts";

let dir: string;
const started: ServerProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fedchat-server-"));
});
afterAll(async () => {
  for (const server of started) await stopServer(server, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>) {
  const server = await startServer(env);
  started.push(server);
  return server;
}

async function actorKey(url: string): Promise<string> {
  const res = await fetch(`${url}/actor`, { headers: { accept: "application/activity+json" } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { publicKey: { publicKeyPem: string } }).publicKey.publicKeyPem;
}

/** A raw HTTP exchange, so the test controls exactly what goes on the wire. */
function rawRequest(
  url: string,
  options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${options.path}`, { method: options.method, headers: options.headers }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

// The embedded database and the configuration checks do the same in both passes of the suite:
// they run in the embedded one.
const embeddedPass = testDatabaseKind === "pglite";

if (embeddedPass)
  describe("the server on the embedded database", () => {
    let server: ServerProcess;
    let firstKey: string;
    const dataDir = () => join(dir, "embedded");

    it("starts from nothing, serves /healthz and /readyz, and keeps its secrets private", async () => {
      server = await start({ DATA_DIR: dataDir() });
      expect(server.output()).toContain("Creating the embedded database");
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { checks: object }).checks).toEqual({
        shutdown: "ok",
        database: "ok",
        migrations: "ok",
      });
      expect(statSync(join(dataDir(), "secrets", "jwt-signing-key.jwk.json")).mode & 0o777).toBe(0o600);
      firstKey = await actorKey(server.url);
    }, 90_000);

    it("keeps a second process off its embedded database while it runs", async () => {
      const admin = spawnSync(
        process.execPath,
        [fileURLToPath(new URL("../../federation/admin.ts", import.meta.url)), "users:list"],
        {
          env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir() },
          encoding: "utf8",
          timeout: 60_000,
        },
      );
      expect(admin.status).toBe(75);
      expect(admin.stderr).toContain(`is open in process ${server.child.pid}`);
      const second = await startServer({ DATA_DIR: dataDir() }).catch((error: Error) => error);
      expect(second).toBeInstanceOf(Error);
      expect((second as Error).message).toContain(`is open in process ${server.child.pid}`);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    }, 60_000);

    it("records the socket's address on the session", async () => {
      const res = await fetch(`${server.url}/api/v1/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0" },
        body: JSON.stringify({ username: "socket_user", password: "a fine password" }),
      });
      expect(res.status).toBe(201);
      const { accessToken } = (await res.json()) as { accessToken: string };
      const sessions = await fetch(`${server.url}/api/v1/auth/sessions`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      const [session] = ((await sessions.json()) as { sessions: { address: string; deviceLabel: string }[] }).sessions;
      expect(session).toMatchObject({ address: "127.0.0.1", deviceLabel: "Firefox on Linux" });
    });

    it("answers bad requests over real HTTP with problem documents, never a 500", async () => {
      const malformed = await rawRequest(server.url, {
        method: "POST",
        path: "/inbox",
        headers: { "content-type": "application/activity+json" },
        body: '{"type":',
      });
      expect(malformed.status).toBe(400);
      expect(JSON.parse(malformed.body)).toMatchObject({ code: "malformed_json" });

      const huge = await rawRequest(server.url, {
        method: "POST",
        path: "/inbox",
        headers: { "content-type": "application/activity+json" },
        body: Buffer.alloc(10 * 1024 * 1024, 0x20),
      });
      expect(huge.status).toBe(413);
      expect(huge.type).toBe("application/problem+json");
      expect(JSON.parse(huge.body)).toMatchObject({ code: "payload_too_large" });

      const unknown = await rawRequest(server.url, { method: "GET", path: "/nowhere" });
      expect(unknown.status).toBe(404);
      expect(JSON.parse(unknown.body)).toMatchObject({ code: "not_found" });

      const wrongMethod = await rawRequest(server.url, { method: "PUT", path: "/healthz" });
      expect(wrongMethod.status).toBe(405);
      expect(JSON.parse(wrongMethod.body)).toMatchObject({ code: "method_not_allowed" });
    });

    it("finishes an in-flight request on SIGTERM, then exits 0 within 5 s", async () => {
      // Malformed on purpose: its answer (400 malformed_json) is known once the body is complete.
      const body = `{"type": "Follow", "actor": "https://elsewhere.example/u", "object": `;
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          `${server.url}/inbox`,
          {
            method: "POST",
            headers: { "content-type": "application/activity+json", "content-length": Buffer.byteLength(body) },
          },
          (res) => {
            let text = "";
            res.on("data", (c: Buffer) => {
              text += c.toString();
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on("error", reject);
        req.write(body.slice(0, 10));
        setTimeout(() => req.end(body.slice(10)), 500);
      });
      await new Promise((r) => setTimeout(r, 100));
      const signalled = Date.now();
      server.child.kill("SIGTERM");
      // The request that was half sent when the signal came is answered, not cut off.
      const answer = await response;
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({ code: "malformed_json" });
      const exit = await server.exited;
      expect(exit.code).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(5000);
      expect(server.output()).toContain("Stopped cleanly");
    });

    it("keeps its data across a restart", async () => {
      const again = await start({ DATA_DIR: dataDir() });
      expect(again.output()).not.toContain("Creating the embedded database");
      expect((await fetch(`${again.url}/readyz`)).status).toBe(200);
      expect(await actorKey(again.url)).toBe(firstKey);
      // The process exits 0 soon after "Stopped cleanly", but Node's own teardown of a process
      // that has run the embedded database (a V8 worker freeing its memory) takes about a second
      // on a quiet machine and far longer on a busy one: time enough not to take it for a hang.
      const exit = await stopServer(again, "SIGINT", 45_000);
      expect(exit.code).toBe(0);
      expect(again.output()).toContain("Stopped cleanly");
    }, 90_000);
  });

if (embeddedPass)
  describe("a wrong configuration", () => {
    it("stops the start with a message that names the variable", async () => {
      const child = spawn(process.execPath, [fileURLToPath(new URL("../../federation/main.ts", import.meta.url))], {
        env: { PATH: process.env.PATH ?? "", PORT: "eighty", DATA_DIR: join(dir, "never") },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      expect(code).toBe(78);
      expect(stderr).toMatch(/PORT: expected a port number/);
    });
  });

// The same server against PostgreSQL, when the run has one.
if (process.env.TEST_DATABASE_URL) {
  describe("the server on PostgreSQL", () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(async () => database.close());

    it("starts with DATABASE_URL, is ready, and stops cleanly", async () => {
      const server = await start({ DATABASE_URL: database.url as string, DATA_DIR: join(dir, "pg") });
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(await actorKey(server.url)).toContain("BEGIN PUBLIC KEY");
      const exit = await stopServer(server);
      expect(exit.code).toBe(0);
    }, 60_000);
  });
}
