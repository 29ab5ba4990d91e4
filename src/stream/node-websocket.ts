import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { Config } from "../config.ts";
import { AppError, errorCodes } from "../errors.ts";
import { logger } from "../log.ts";
import type { Hub } from "./hub.ts";
import { attachSocket, checkUpgrade, guarded, maxClientFrameBytes, type SocketLike } from "./websocket.ts";

const log = logger("stream", "websocket");

/**
 * Serves the stream's WebSocket on a Node HTTP server: upgrades to `/api/v1/stream` are
 * checked (origin, subprotocols, ticket) before the handshake; refused ones get a plain HTTP
 * answer with the problem's status.
 */
export function serveWebSockets(server: Server, hub: Hub, config: Config): void {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxClientFrameBytes,
    handleProtocols: (protocols) => (protocols.has("chat.v1") ? "chat.v1" : false),
  });
  server.on("upgrade", (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands over the raw socket without its error listener: a client that resets the
    // connection while the ticket is checked would otherwise be an unhandled "error".
    socket.on("error", () => socket.destroy());
    try {
      upgrade(incoming, socket, head);
    } catch (error) {
      log.warn("A stream upgrade failed: {error}", { error });
      refuse(socket, error);
    }
  });

  function upgrade(incoming: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = URL.canParse(incoming.url ?? "/", config.origin) ? new URL(incoming.url ?? "/", config.origin) : null;
    if (url?.pathname !== "/api/v1/stream") {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (typeof value === "string") headers.set(name, value);
    }
    checkUpgrade(hub, config, new Request(url, { headers }), incoming.socket.remoteAddress).then(
      (check) => {
        if (socket.destroyed) return;
        wss.handleUpgrade(incoming, socket, head, (ws) => {
          const close = (code: number, reason: string) => ws.close(code, reason);
          // Listeners go on at once: a frame or a close that arrives while the hub replays
          // must neither crash the process (an unhandled "error") nor be lost.
          const early: (string | Uint8Array)[] = [];
          let handlers: Awaited<ReturnType<typeof attachSocket>> | undefined;
          let closed = false;
          ws.on(
            "message",
            guarded("message", close, (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
              const bytes = Array.isArray(data)
                ? Buffer.concat(data)
                : Buffer.isBuffer(data)
                  ? data
                  : Buffer.from(data);
              const frame = isBinary ? new Uint8Array(bytes) : bytes.toString("utf8");
              if (handlers) handlers.onMessage(frame);
              else early.push(frame);
            }),
          );
          ws.on(
            "close",
            guarded("close", close, () => {
              closed = true;
              handlers?.onClose();
            }),
          );
          ws.on("error", () => ws.terminate());
          // ws writes to the upgraded socket itself: corking it batches frames into one write.
          const like: SocketLike = {
            send: (text) => ws.send(text),
            close,
            get bufferedAmount() {
              return ws.bufferedAmount;
            },
            cork: () => socket.cork(),
            uncork: () => socket.uncork(),
          };
          attachSocket(hub, like, check).then(
            guarded("attach", close, (attached: Awaited<ReturnType<typeof attachSocket>>) => {
              handlers = attached;
              for (const frame of early.splice(0)) attached.onMessage(frame);
              if (closed) attached.onClose();
            }),
            (error: unknown) => {
              log.warn("A stream could not start: {error}", { error });
              ws.terminate();
            },
          );
        });
      },
      (error: unknown) => refuse(socket, error),
    );
  }
}

/** Answers a refused upgrade with a plain HTTP problem and ends the socket. */
function refuse(socket: Duplex, error: unknown): void {
  if (socket.destroyed) return;
  const status = error instanceof AppError ? errorCodes[error.code].status : 500;
  const code = error instanceof AppError ? error.code : "internal";
  const body = JSON.stringify({ code, status });
  // Such as Retry-After; names and values are our own constants, never the client's.
  const extra = error instanceof AppError ? Object.entries(error.headers).map(([k, v]) => `${k}: ${v}\r\n`) : [];
  socket.end(
    `HTTP/1.1 ${status} Refused\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra.join("")}Connection: close\r\n\r\n${body}`,
  );
}
