import { z } from "zod";
import { checkAddress } from "../access/rules.ts";
import type { Config } from "../config.ts";
import { databaseUnavailable, isDatabaseUnavailable } from "../db/errors.ts";
import { AppError } from "../errors.ts";
import { addressOf } from "../http/client-address.ts";
import { logger } from "../log.ts";
import type { Hub, StreamSink } from "./hub.ts";

/** The largest frame a client may send. */
export const maxClientFrameBytes = 64 * 1024;
/** Bytes a WebSocket may have waiting before its client counts as too slow. */
export const maxBufferedBytes = 1024 * 1024;
/** Client frames allowed per 10 seconds. */
const frameBudget = 50;

const log = logger("stream", "websocket");

/**
 * The frames a client may send, read by this schema and nothing else: a field is never
 * coerced (`String(frame.type)` on `{"type":{"toString":0}}` throws).
 */
const clientFrame = z.discriminatedUnion("type", [z.object({ type: z.literal("ping") })]);

/** WebSocket close code for a handler that failed: the connection ends, the process goes on. */
export const internalErrorClose = 1011;

/**
 * Runs one socket event handler so that nothing it throws leaves it: a failure is logged at
 * warning and ends this one connection with {@link internalErrorClose}. Each transport (the
 * `ws` package, Deno's WebSocket) wraps every listener it installs in it.
 */
export function guarded<A extends unknown[]>(
  what: string,
  close: (code: number, reason: string) => void,
  handler: (...args: A) => void,
): (...args: A) => void {
  return (...args) => {
    try {
      handler(...args);
    } catch (error) {
      log.warn("A stream socket's {what} handler failed; closing that socket: {error}", { what, error });
      try {
        close(internalErrorClose, "internal error");
      } catch {
        // Already closed: nothing more to end.
      }
    }
  };
}

/** What a WebSocket upgrade request must carry, checked before accepting it. */
export interface UpgradeCheck {
  /** The connection's owner, from the single-use ticket. */
  readonly who: { actorId: string; sessionId: string };
  readonly since: number | undefined;
}

/** An RFC 7230 token, what each offered subprotocol must be. */
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Checks the handshake's own headers the way the WebSocket library will (RFC 6455 §4.2.1), so
 * that a malformed one is refused with a problem document before its ticket is used up, not
 * with the library's plain-text 400 after: a 16-byte base64 key, version 13 (or 8), and
 * subprotocols that are distinct tokens.
 * @returns The offered subprotocols.
 * @throws {AppError} `bad_request`.
 */
function handshakeProtocols(request: Request): string[] {
  const key = request.headers.get("sec-websocket-key") ?? "";
  const version = request.headers.get("sec-websocket-version");
  if (!/^[+/0-9A-Za-z]{22}==$/.test(key.trim()) || (version !== "13" && version !== "8")) {
    throw new AppError("bad_request", "The WebSocket handshake is malformed (Sec-WebSocket-Key or -Version).");
  }
  const protocols = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  if (!protocols.every((p) => token.test(p)) || new Set(protocols).size !== protocols.length) {
    throw new AppError("bad_request", "Sec-WebSocket-Protocol must list distinct tokens.");
  }
  return protocols;
}

/**
 * Checks a WebSocket upgrade: same-origin browsers only (a cross-site page cannot open a
 * stream with someone's ticket), the `chat.v1` subprotocol and a `ticket.<t>` one, and a
 * valid ticket (used up by this check).
 * @throws {AppError} `forbidden` for another origin, `bad_request`, `unauthenticated`,
 *   `database_unavailable`.
 */
export async function checkUpgrade(
  hub: Hub,
  config: Config,
  request: Request,
  peer: string | undefined,
): Promise<UpgradeCheck> {
  const origin = request.headers.get("origin");
  if (origin != null && origin !== config.origin) {
    throw new AppError("forbidden", "Cross-site WebSocket connections are refused.");
  }
  const protocols = handshakeProtocols(request);
  const ticket = protocols.find((p) => p.startsWith("ticket."))?.slice("ticket.".length);
  if (!protocols.includes("chat.v1") || !ticket) {
    throw new AppError("bad_request", 'Offer the subprotocols "chat.v1" and "ticket.<ticket>".');
  }
  const sinceText = new URL(request.url).searchParams.get("since");
  const since = sinceText == null ? undefined : Number(sinceText);
  if (since !== undefined && !(Number.isSafeInteger(since) && since >= 0)) {
    throw new AppError("validation_failed", "since is a stream position (a whole number).");
  }
  try {
    // The access rules by address hold here as for every API request (the upgrade skips Hono).
    await checkAddress(hub, addressOf(peer, request.headers.get("x-forwarded-for"), config.trustProxy), null);
    return { who: await hub.redeemTicket(ticket), since };
  } catch (error) {
    // Refused upgrades are answered outside Hono's onError: say 503 here, as it would.
    throw isDatabaseUnavailable(error) ? databaseUnavailable(error) : error;
  }
}

/** The minimal socket this module drives: the `ws` package's and the web's both fit. */
export interface SocketLike {
  send(text: string): void;
  close(code: number, reason: string): void;
  readonly bufferedAmount: number;
  /** The underlying connection's cork and uncork, where the transport has them (Node). */
  cork?(): void;
  uncork?(): void;
}

/**
 * Wires an accepted socket to the hub: events out, client frames in. Client frames are JSON
 * of at most 64 KiB, rate limited; `{"type":"ping"}` is answered with `pong`, anything else
 * with an error frame.
 * @returns Handlers the transport calls for incoming frames and for the close.
 */
export async function attachSocket(
  hub: Hub,
  socket: SocketLike,
  check: UpgradeCheck,
): Promise<{ onMessage(data: string | Uint8Array): void; onClose(): void }> {
  let closed = false;
  const sink: StreamSink = {
    transport: "websocket",
    send(text) {
      if (closed) return false;
      socket.send(text);
      return socket.bufferedAmount <= maxBufferedBytes;
    },
    close(code, reason) {
      if (closed) return;
      closed = true;
      socket.close(code, reason);
    },
    cork: () => socket.cork?.(),
    uncork: () => socket.uncork?.(),
  };
  const detach = await hub.connect(check.who, sink, check.since);
  let windowStart = Date.now();
  let frames = 0;
  const error = (code: string, detail: string) =>
    socket.send(JSON.stringify({ type: "error", data: { code, detail } }));
  return {
    onMessage(data) {
      const now = Date.now();
      if (now - windowStart > 10_000) {
        windowStart = now;
        frames = 0;
      }
      if (++frames > frameBudget) {
        if (frames === frameBudget + 1) error("rate_limited", "Too many frames; slow down.");
        return;
      }
      const size = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
      if (size > maxClientFrameBytes) return error("payload_too_large", "Frames are at most 64 KiB.");
      let json: unknown;
      try {
        json = JSON.parse(typeof data === "string" ? data : new TextDecoder("utf-8", { fatal: true }).decode(data));
      } catch {
        return error("malformed_json", "Frames are JSON objects.");
      }
      const frame = clientFrame.safeParse(json);
      if (!frame.success) return error("validation_failed", 'The only frame a client sends is {"type":"ping"}.');
      switch (frame.data.type) {
        case "ping":
          return socket.send(JSON.stringify({ type: "pong", data: {} }));
      }
    },
    onClose() {
      closed = true;
      detach();
      log.debug("A stream socket closed.");
    },
  };
}
