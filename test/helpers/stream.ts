/**
 * Helpers for the live stream's end-to-end tests (test/e2e/stream.test.ts and
 * scale-out.test.ts): bounded waits on WebSocket frames, API calls against a server process,
 * and raw frames for protocol-breaking clients.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { expect } from "vitest";
import WebSocket from "ws";
import type { ServerProcess } from "./server.ts";

/** A stream frame as the tests read it. */
export interface Frame {
  type: string;
  position?: number;
  roomId?: string;
  data?: {
    message?: {
      id: string;
      seq: number;
      content: string;
      author: { id: string } | null;
      replyTo: { id: string } | null;
    };
    id?: string;
    roomId?: string;
    actorId?: string;
    emoji?: string;
    messageId?: string;
    seq?: number;
    typing?: boolean;
    unread?: number;
    code?: string;
  };
}

/** A WebSocket that records every frame it receives and how it closed. */
export class StreamSocket {
  readonly frames: Frame[] = [];
  /** Presence frames, apart from the others. */
  readonly presence: Frame[] = [];
  /** Index of the next frame {@link nextEvents} hands out. */
  cursor = 0;
  closeInfo: { code: number; reason: string } | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #listeners = new Set<() => void>();

  readonly label: string;
  readonly ws: WebSocket;

  constructor(label: string, ws: WebSocket) {
    this.label = label;
    this.ws = ws;
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      // Presence (online/offline) depends on when sockets come and go, in this and other
      // tests' connections: it is kept apart, so the event sequences stay deterministic.
      if (frame.type === "presence") this.presence.push(frame);
      else this.frames.push(frame);
      this.#notify();
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        this.closeInfo = { code, reason: String(reason) };
        this.#notify();
        resolve(this.closeInfo);
      }),
    );
    ws.on("error", () => {});
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  /** Calls `listener` on every new frame and on the close, until the returned function is called. */
  watch(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Passes over every frame received so far. */
  skipReceived(): void {
    this.cursor = this.frames.length;
  }

  send(value: unknown): void {
    this.ws.send(typeof value === "string" ? value : JSON.stringify(value));
  }
}

export function describeFrames(frames: readonly Frame[]): string {
  return frames.map((f) => `${f.type}@${f.position ?? "-"}${f.roomId ? `(${f.roomId.slice(-6)})` : ""}`).join(", ");
}

/**
 * The next `n` frames the socket receives (after those handed out before) that `accept`
 * accepts; frames it does not accept are passed over. Fails, listing what did arrive, when
 * they do not all come within `timeoutMs` or the socket closes first.
 */
export function nextEvents(
  socket: StreamSocket,
  n: number,
  timeoutMs: number,
  accept: (frame: Frame) => boolean = () => true,
): Promise<Frame[]> {
  const taken: Frame[] = [];
  const start = socket.cursor;
  return new Promise((resolve, reject) => {
    let stop = () => {};
    const fail = (why: string) => {
      stop();
      clearTimeout(timer);
      reject(
        new Error(
          `${socket.label}: expected ${n} frames, ${why} after ${taken.length}: [${describeFrames(taken)}]` +
            ` (all frames since: [${describeFrames(socket.frames.slice(start)).slice(0, 2000)}])`,
        ),
      );
    };
    const timer = setTimeout(() => fail(`timed out (${timeoutMs} ms)`), timeoutMs);
    const check = () => {
      while (taken.length < n && socket.cursor < socket.frames.length) {
        const frame = socket.frames[socket.cursor++] as Frame;
        if (accept(frame)) taken.push(frame);
      }
      if (taken.length === n) {
        stop();
        clearTimeout(timer);
        resolve(taken);
      } else if (socket.closeInfo) {
        fail(`the socket closed (${socket.closeInfo.code} ${socket.closeInfo.reason})`);
      }
    };
    stop = socket.watch(check);
    check();
  });
}

/** Waits `ms` and fails if the socket received any frame `accept` accepts meanwhile (beyond the cursor). */
export async function expectQuiet(socket: StreamSocket, ms: number, accept: (frame: Frame) => boolean = () => true) {
  await sleep(ms);
  const extra = socket.frames.slice(socket.cursor).filter(accept);
  expect(extra, `${socket.label} received unexpected frames: ${describeFrames(extra)}`).toEqual([]);
}

/** Resolves with the close, or fails after `ms`. */
export async function closedWithin(socket: StreamSocket, ms: number): Promise<{ code: number; reason: string }> {
  return await within(socket.closed, ms, `${socket.label} to close`);
}

export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until `check` returns a value (not undefined), for at most `ms` (generous: the servers
 * under test share the machine with the rest of the suite). An error from `check` is kept and
 * reported if time runs out.
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 45_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export interface User {
  id: string;
  username: string;
  token: string;
}

export async function call<T = unknown>(
  server: ServerProcess,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** The handles of a room's members, as `user` sees them. */
export async function memberHandles(server: ServerProcess, user: User, roomId: string): Promise<string[]> {
  const { members } = await ok<{ members: { actor: { handle: string } }[] }>(
    200,
    server,
    user.token,
    "GET",
    `/api/v1/rooms/${roomId}/members`,
  );
  return members.map((m) => m.actor.handle);
}

/** A room's latest messages (at most 100) as a user sees them, oldest first. */
export async function roomMessages<T>(server: ServerProcess, user: User, roomId: string): Promise<T[]> {
  const { messages } = await ok<{ messages: T[] }>(
    200,
    server,
    user.token,
    "GET",
    `/api/v1/rooms/${roomId}/messages?limit=100`,
  );
  return messages;
}

/** Calls the API and fails unless the answer has the status. */
export async function ok<T = unknown>(status: number, ...args: Parameters<typeof call>): Promise<T> {
  const res = await call<T>(...args);
  expect(res.status, `${args[2]} ${args[3]}: ${JSON.stringify(res.body)}`).toBe(status);
  return res.body;
}

export async function register(server: ServerProcess, username: string): Promise<User> {
  const body = await ok<{ user: { id: string }; accessToken: string }>(
    201,
    server,
    null,
    "POST",
    "/api/v1/auth/register",
    {
      username,
      password: "correct horse battery",
      refreshTokenIn: "body",
    },
  );
  return { id: body.user.id, username, token: body.accessToken };
}

export async function login(server: ServerProcess, username: string): Promise<User> {
  const body = await ok<{ user: { id: string }; accessToken: string }>(
    200,
    server,
    null,
    "POST",
    "/api/v1/auth/login",
    {
      username,
      password: "correct horse battery",
      refreshTokenIn: "body",
    },
  );
  return { id: body.user.id, username, token: body.accessToken };
}

export async function ticket(server: ServerProcess, user: User): Promise<string> {
  return (await ok<{ ticket: string }>(200, server, user.token, "POST", "/api/v1/stream/ticket")).ticket;
}

export function streamUrl(server: ServerProcess, since?: number | string): string {
  return `${server.url.replace(/^http/, "ws")}/api/v1/stream${since === undefined ? "" : `?since=${since}`}`;
}

/** Opens a stream socket with a fresh ticket and waits (bounded) for the handshake. */
export async function openStream(
  server: ServerProcess,
  user: User,
  label: string,
  options: { since?: number | string } = {},
): Promise<StreamSocket> {
  const ws = new WebSocket(streamUrl(server, options.since), ["chat.v1", `ticket.${await ticket(server, user)}`]);
  const socket = new StreamSocket(label, ws);
  await within(
    new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`${label}: upgrade refused: ${res.statusCode}`)));
      ws.once("error", reject);
    }),
    5000,
    `${label} to open`,
  );
  expect(ws.protocol).toBe("chat.v1");
  return socket;
}

/** Attempts an upgrade that should be refused; resolves with the HTTP status and body. */
export function refusedUpgrade(
  url: string,
  protocols: string[],
  options: WebSocket.ClientOptions = {},
): Promise<{ status: number; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, options);
      ws.on("error", () => {});
      ws.once("open", () => {
        ws.terminate();
        reject(new Error("the upgrade was accepted"));
      });
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", () => resolve({ status: res.statusCode ?? 0, body }));
      });
    }),
    5000,
    "the refused upgrade",
  );
}

/** A masked client frame (RFC 6455 §5.2) with FIN set. */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const header = length < 126 ? Buffer.alloc(2) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (length < 126) header[1] = 0x80 | length;
  else if (length < 65_536) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)));
  return Buffer.concat([header, mask, masked]);
}

/**
 * Sends a valid upgrade request with client frames right behind it, in one write (as a
 * client that does not wait for the handshake can), and resolves with whatever the server
 * sent once the connection ends.
 */
export function pipelinedUpgrade(server: ServerProcess, streamTicket: string, frames: Buffer[]): Promise<string> {
  const { hostname, port } = new URL(server.url);
  const request =
    "GET /api/v1/stream HTTP/1.1\r\n" +
    `Host: ${hostname}:${port}\r\n` +
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
    `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n` +
    `Sec-WebSocket-Protocol: chat.v1, ticket.${streamTicket}\r\n\r\n`;
  return within(
    new Promise((resolve) => {
      let received = "";
      const socket = connect(Number(port), hostname, () =>
        socket.write(Buffer.concat([Buffer.from(request), ...frames])),
      );
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve(received));
    }),
    5000,
    "the pipelined connection to end",
  );
}

/** Runs `task` for each item with at most `limit` at a time. */
export async function pool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i] as T);
      }
    }),
  );
  return results;
}

export interface MessageBody {
  id: string;
  seq: number;
}

export async function send(
  server: ServerProcess,
  user: User,
  roomId: string,
  txnId: string,
  content: string,
  extra = {},
) {
  return await ok<MessageBody>(201, server, user.token, "PUT", `/api/v1/rooms/${roomId}/messages/${txnId}`, {
    content,
    ...extra,
  });
}

/** The payload of a close frame with this code. */
export function closePayload(code: number): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return payload;
}
