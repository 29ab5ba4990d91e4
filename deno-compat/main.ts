/**
 * The Deno 2 entry point, the counterpart of federation/main.ts:
 *
 *     deno run --allow-all --node-modules-dir=manual deno-compat/main.ts
 *
 * The same start-up (federation/server.ts) and the same instance, served by `Deno.serve`.
 * @module
 */
import { runServer } from "../federation/server.ts";
import { AppError, errorCodes } from "../src/errors.ts";
import { attachSocket, checkUpgrade, guarded } from "../src/stream/websocket.ts";

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
  upgradeWebSocket(request: Request, options: { protocol: string }): { socket: WebSocket; response: Response };
};

await runServer({
  name: `Deno ${Deno.version.deno}`,
  env: () => Deno.env.toObject(),
  async serve(fetch, { port, hostname, hub, config }) {
    const listening = Promise.withResolvers<number>();
    const server = Deno.serve(
      { port, hostname, onListen: ({ port }) => listening.resolve(port) },
      async (request, info) => {
        const isStream = new URL(request.url).pathname === "/api/v1/stream";
        if (!isStream || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
          return fetch(request, { clientAddress: info.remoteAddr.hostname });
        }
        try {
          const check = await checkUpgrade(hub, config, request, info.remoteAddr.hostname);
          const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "chat.v1" });
          // Frames and a close that arrive while the hub replays are held, not lost.
          const early: (string | Uint8Array)[] = [];
          let handlers: Awaited<ReturnType<typeof attachSocket>> | undefined;
          let closed = false;
          const close = (code: number, reason: string) => socket.close(code, reason);
          // Every listener is guarded: what one socket's frame throws ends that socket only.
          socket.onmessage = guarded("message", close, (event: MessageEvent) => {
            const frame = typeof event.data === "string" ? event.data : new Uint8Array(event.data);
            if (handlers) handlers.onMessage(frame);
            else early.push(frame);
          });
          socket.onclose = guarded("close", close, () => {
            closed = true;
            handlers?.onClose();
          });
          socket.onopen = guarded("open", close, () => {
            attachSocket(hub, socket, check).then(
              guarded("attach", close, (attached: Awaited<ReturnType<typeof attachSocket>>) => {
                handlers = attached;
                for (const frame of early.splice(0)) attached.onMessage(frame);
                if (closed) attached.onClose();
              }),
              () => socket.close(1011, "could not start the stream"),
            );
          });
          return response;
        } catch (error) {
          const code = error instanceof AppError ? error.code : "internal";
          return Response.json(
            { code, status: errorCodes[code].status },
            { status: errorCodes[code].status, headers: error instanceof AppError ? error.headers : {} },
          );
        }
      },
    );
    return { port: await listening.promise, shutdown: () => server.shutdown() };
  },
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  onUnhandledRejection: (handler) =>
    globalThis.addEventListener("unhandledrejection", (event) => {
      event.preventDefault();
      handler(event.reason);
    }),
  exit: (code) => Deno.exit(code),
});
