/**
 * The Node entry point (`npm start`): the shared start-up of federation/server.ts, served by
 * @hono/node-server.
 * @module
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Http2Bindings, type HttpBindings, serve } from "@hono/node-server";
import { limitConnectionsPerAddress, nodeServerOptions } from "../src/http/node-limits.ts";
import { serveWebSockets } from "../src/stream/node-websocket.ts";
import { runServer } from "./server.ts";

function closeIdle(server: object): void {
  if ("closeIdleConnections" in server && typeof server.closeIdleConnections === "function") {
    server.closeIdleConnections();
  }
}

await runServer({
  name: `Node ${process.version}`,
  env: () => process.env,
  async serve(fetch, { port, hostname, hub, config }) {
    const server = serve({
      fetch: (request, env: HttpBindings | Http2Bindings) =>
        fetch(request, { clientAddress: env.incoming.socket.remoteAddress }),
      port,
      hostname,
      serverOptions: nodeServerOptions(config),
    });
    limitConnectionsPerAddress(server as Server, config.maxConnectionsPerAddress);
    serveWebSockets(server as Server, hub, config);
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    return {
      port: (server.address() as AddressInfo).port,
      shutdown: () =>
        new Promise<void>((resolve) => {
          // close() stops accepting and waits for open connections. A connection whose
          // request finishes turns idle (keep-alive) and would hold close() for the keep-alive
          // timeout, so idle connections are closed until none is left.
          const sweep = setInterval(() => closeIdle(server), 50);
          server.close(() => {
            clearInterval(sweep);
            resolve();
          });
          closeIdle(server);
        }),
    };
  },
  onSignal: (signal, handler) => process.on(signal, handler),
  onUnhandledRejection: (handler) => process.on("unhandledRejection", handler),
  exit: (code) => process.exit(code),
});
