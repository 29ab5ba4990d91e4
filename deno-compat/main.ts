/**
 * The Deno 2 entry point, the counterpart of federation/main.ts:
 *
 *     deno run --allow-all --node-modules-dir=manual deno-compat/main.ts
 *
 * The same start-up (federation/server.ts) and the same instance, served by `Deno.serve`.
 * @module
 */
import { runServer } from "../federation/server.ts";

// The few Deno APIs used here, so that `tsc` (which has no Deno types) checks this file.
declare const Deno: {
  version: { deno: string };
  env: { toObject(): Record<string, string> };
  exit(code: number): never;
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  serve(
    options: { port: number; hostname: string; onListen?: (address: { hostname: string; port: number }) => void },
    handler: (request: Request, info: { remoteAddr: { hostname?: string } }) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
};

await runServer({
  name: `Deno ${Deno.version.deno}`,
  env: () => Deno.env.toObject(),
  async serve(fetch, { port, hostname }) {
    const listening = Promise.withResolvers<number>();
    const server = Deno.serve({ port, hostname, onListen: ({ port }) => listening.resolve(port) }, (request, info) =>
      fetch(request, { clientAddress: info.remoteAddr.hostname }),
    );
    return { port: await listening.promise, shutdown: () => server.shutdown() };
  },
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
});
