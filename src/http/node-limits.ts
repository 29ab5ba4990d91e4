import type { Server } from "node:http";
import type { Config } from "../config.ts";
import { addressKey } from "./client-address.ts";

/**
 * What the Node HTTP server is told about slow and greedy clients (Deno's server has no such
 * settings): a request must arrive whole, body included, within `REQUEST_TIMEOUT_MS` (Node
 * checks every second here, not every 30 s), headers within 20 s of it; and one address holds
 * at most `MAX_CONNECTIONS_PER_ADDRESS` connections, WebSockets included. The connection over
 * the limit gets a 429 and is closed.
 */
export function nodeServerOptions(config: Config): {
  requestTimeout: number;
  headersTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    requestTimeout: config.requestTimeoutMs,
    headersTimeout: Math.min(config.requestTimeoutMs, 20_000),
    connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs),
  };
}

/** Closes connections past the per-address limit (see {@link nodeServerOptions}). */
export function limitConnectionsPerAddress(server: Server, limit: number): void {
  if (limit <= 0) return;
  const open = new Map<string, number>();
  server.on("connection", (socket) => {
    const key = addressKey(socket.remoteAddress);
    const count = (open.get(key) ?? 0) + 1;
    if (count > limit) {
      socket.end("HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\nRetry-After: 10\r\n\r\n");
      socket.destroySoon();
      return;
    }
    open.set(key, count);
    socket.once("close", () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
