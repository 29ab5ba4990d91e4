import { type Config, ConfigError, loadConfig } from "../src/config.ts";
import { DataDirInUseError } from "../src/db/client.ts";
import { logger, setupLogging, teardownLogging } from "../src/log.ts";
import { loadSecrets } from "../src/secrets.ts";
import type { Hub } from "../src/stream/hub.ts";
import { software } from "../src/version.ts";
import { createInstance } from "./instance.ts";

/** A listening HTTP server, as the runtime made it. */
export interface RunningServer {
  readonly port: number;
  /** Stops accepting connections and resolves once in-flight requests have finished. */
  shutdown(): Promise<void>;
}

/** What differs between Node and Deno: the environment, serving, signals, exiting. */
export interface Runtime {
  readonly name: string;
  env(): Record<string, string | undefined>;
  /**
   * Serves `fetch`; the runtime passes the socket peer's address as
   * `fetch(request, { clientAddress })`.
   */
  serve(
    fetch: (request: Request, env: { clientAddress?: string }) => Response | Promise<Response>,
    options: { port: number; hostname: string; hub: Hub; config: Config },
  ): Promise<RunningServer>;
  onSignal(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  /** Takes over promises that fail with nobody to handle them (the runtime would exit). */
  onUnhandledRejection(handler: (reason: unknown) => void): void;
  exit(code: number): never;
}

/** Runs `read`; a ConfigError becomes its message on stderr and exit code 78 (EX_CONFIG). */
function orExit<T>(runtime: Runtime, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      runtime.exit(78);
    }
    throw error;
  }
}

/**
 * Starts the server on a runtime: reads the configuration, loads the secrets, starts the
 * instance, serves HTTP, starts the queue workers, and on SIGTERM or SIGINT shuts down
 * gracefully: not ready, stop accepting, finish in-flight requests and queue messages, close
 * the database, exit 0. A second signal, or a shutdown longer than `SHUTDOWN_TIMEOUT_MS`,
 * exits 1 at once.
 */
export async function runServer(runtime: Runtime): Promise<void> {
  const config: Config = orExit(runtime, () => loadConfig(runtime.env()));
  await setupLogging(config.logLevel, config.logFormat);
  const log = logger("main");
  // A background promise that fails unhandled is a bug to log loudly, not a reason for every
  // user of the server to lose it: whatever input caused it must not take the process down.
  runtime.onUnhandledRejection((reason) =>
    log.error("A promise failed with nobody to handle it: {reason}", { reason }),
  );
  const started = performance.now();
  const secrets = orExit(runtime, () => loadSecrets(config));
  log.info("Starting {name} {version} on {runtime} with {database}.", {
    name: software.name,
    version: software.version,
    runtime: runtime.name,
    database: config.databaseUrl ? "PostgreSQL" : `the embedded database in ${config.dataDir}`,
  });
  const instance = await createInstance(config, { secrets }).catch((error: unknown) => {
    if (!(error instanceof DataDirInUseError)) throw error;
    console.error(error.message);
    // EX_TEMPFAIL: it can start once the other process has stopped.
    return runtime.exit(75);
  });
  const server = await runtime.serve((request, env) => instance.app.fetch(request, env), {
    port: config.port,
    hostname: config.host,
    hub: instance.hub,
    config,
  });
  instance.startWorkers();
  log.info("Listening on {host}:{port} as {origin}; ready in {ms} ms.", {
    host: config.host,
    port: server.port,
    origin: config.origin,
    ms: Math.round(performance.now() - started),
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn("Second {signal}: exiting now.", { signal });
      runtime.exit(1);
    }
    stopping = true;
    log.info("{signal} received: shutting down.", { signal });
    const force = setTimeout(() => {
      log.error("Shutdown took longer than {ms} ms: exiting anyway.", { ms: config.shutdownTimeoutMs });
      runtime.exit(1);
    }, config.shutdownTimeoutMs);
    (force as { unref?: () => void }).unref?.();
    instance.drain();
    // Streams first: open WebSockets and SSE responses would hold the listener's close.
    await instance.hub.stop();
    // Deliveries before the listener: their receivers fetch our keys from it.
    await instance.stopDeliveries();
    await server.shutdown();
    await instance.close();
    log.info("Stopped cleanly.");
    await teardownLogging();
    runtime.exit(0);
  };
  runtime.onSignal("SIGTERM", () => void shutdown("SIGTERM"));
  runtime.onSignal("SIGINT", () => void shutdown("SIGINT"));
}
