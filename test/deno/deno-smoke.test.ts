import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/server.ts";

/**
 * Smoke test of the Deno entry (deno-compat/main.ts): the real server under Deno 2, on the
 * embedded database in a fresh data folder, answering over a socket, stopping on SIGTERM.
 */

const root = fileURLToPath(new URL("../../", import.meta.url));
const deno = join(root, "node_modules", ".bin", "deno");
/** Deno compiles on its first run and PGlite creates its cluster: allow for both. */
const startupMs = 100_000;

let child: ChildProcess | undefined;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let dataDir: string | undefined;
let origin: string;
let output = "";

/** What the server printed, for failure messages. */
const tail = () => output.slice(-4000);

describe("the Deno entry", { timeout: 30_000 }, () => {
  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    dataDir = mkdtempSync(join(tmpdir(), "fedchat-deno-"));
    child = spawn(deno, ["run", "--allow-all", "--node-modules-dir=manual", "deno-compat/main.ts"], {
      cwd: root,
      // A clean environment: nothing from the caller's (DATABASE_URL, JWT_PRIVATE_KEY...) leaks in.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...(process.env.DENO_DIR ? { DENO_DIR: process.env.DENO_DIR } : {}),
        NO_COLOR: "1",
        PORT: String(port),
        HOST: "127.0.0.1",
        ORIGIN: origin,
        DATA_DIR: dataDir,
        LOG_FORMAT: "json",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const spawned = child;
    exited = new Promise((resolve) => spawned.once("exit", (code, signal) => resolve({ code, signal })));

    const deadline = Date.now() + startupMs;
    for (;;) {
      if (spawned.exitCode != null || spawned.signalCode != null) {
        throw new Error(`Deno exited during startup (${spawned.exitCode ?? spawned.signalCode}):\n${tail()}`);
      }
      try {
        const response = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (response.status === 200) break;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`/healthz never answered 200 within ${startupMs} ms:\n${tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }, startupMs + 20_000);

  afterAll(() => {
    if (child != null && child.exitCode == null && child.signalCode == null) child.kill("SIGKILL");
    if (dataDir != null) rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers /healthz", async () => {
    const response = await fetch(`${origin}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("is ready: the embedded database is migrated", async () => {
    const response = await fetch(`${origin}/readyz`);
    expect(response.status, await response.clone().text()).toBe(200);
  });

  it("serves NodeInfo through Fedify", async () => {
    const response = await fetch(`${origin}/nodeinfo/2.1`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { software: { name: string }; protocols: string[] };
    expect(body.software.name).toBe("fedchat");
    expect(body.protocols).toEqual(["activitypub"]);

    const jrd = await fetch(`${origin}/.well-known/nodeinfo`);
    expect(jrd.status).toBe(200);
    const { links } = (await jrd.json()) as { links: { href: string }[] };
    expect(links.map((link) => link.href)).toContain(`${origin}/nodeinfo/2.1`);
  });

  it("answers an unknown path with a not_found problem", async () => {
    const response = await fetch(`${origin}/no/such/thing`);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ status: 404, code: "not_found" });
  });

  it("registers and logs in (argon2 and EdDSA tokens work on Deno), recording the client address", async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${origin}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const registered = await post("/api/v1/auth/register", { username: "deno_user", password: "a fine password" });
    expect(registered.status).toBe(201);
    const loggedIn = await post("/api/v1/auth/login", { username: "deno_user", password: "a fine password" });
    expect(loggedIn.status).toBe(200);
    const { accessToken } = (await loggedIn.json()) as { accessToken: string };
    const sessions = await fetch(`${origin}/api/v1/auth/sessions`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(sessions.status).toBe(200);
    const list = ((await sessions.json()) as { sessions: { address: string | null }[] }).sessions;
    expect(list).toHaveLength(2);
    expect(list.map((session) => session.address)).toEqual(["127.0.0.1", "127.0.0.1"]);
  });

  it("stops cleanly on SIGTERM", async () => {
    expect(child?.kill("SIGTERM")).toBe(true);
    const result = await Promise.race([
      exited,
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 5000)),
    ]);
    expect(result, tail()).toEqual({ code: 0, signal: null });
    expect(output).toContain("Stopped cleanly.");
  });
});
