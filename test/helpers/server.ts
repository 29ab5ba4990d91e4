import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const entry = fileURLToPath(new URL("../../federation/main.ts", import.meta.url));

/** The Node flags `npm start` runs the server with (package.json), so tests run it the same way. */
const startFlags = (
  JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")) as {
    scripts: { start: string };
  }
).scripts.start
  .split(/\s+/)
  .filter((word) => word.startsWith("--"));

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** A server process started the way `npm start` starts it. */
export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote so far, stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns `node federation/main.ts` with only the given environment (plus PATH), and waits
 * until `/healthz` answers or the process dies.
 */
export async function startServer(
  env: Record<string, string>,
  // A loaded machine (several test runs on two cores) can take longer than a minute to start one.
  timeoutMs = Number(process.env.TEST_SERVER_START_MS) || 60_000,
): Promise<ServerProcess> {
  const port = env.PORT ?? String(await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...startFlags, entry], {
    env: { PATH: process.env.PATH ?? "", LOG_FORMAT: "json", HOST: "127.0.0.1", ORIGIN: url, ...env, PORT: port },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const server: ServerProcess = { url, child, output: () => output, exited };
  const deadline = Date.now() + timeoutMs;
  let dead: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((exit) => {
    dead = exit;
  });
  while (Date.now() < deadline && !dead) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  const how = dead ? `exited with ${dead.signal ?? dead.code}` : `no answer in ${timeoutMs} ms`;
  throw new Error(`the server did not start (${how}):\n${output}`);
}

/** Sends a signal and waits for the exit, killing the process if it takes over `ms`. */
export async function stopServer(server: ServerProcess, signal: NodeJS.Signals = "SIGTERM", ms = 10_000) {
  if (server.child.exitCode != null || server.child.signalCode != null) return server.exited;
  server.child.kill(signal);
  const timer = setTimeout(() => server.child.kill("SIGKILL"), ms);
  try {
    return await server.exited;
  } finally {
    clearTimeout(timer);
  }
}
