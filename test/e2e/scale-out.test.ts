/**
 * The live stream scaled out: two server processes on one PostgreSQL database (the same
 * JWT_PRIVATE_KEY, each its own ORIGIN and DATA_DIR). An event written through one process
 * reaches sockets on the other through LISTEN/NOTIFY. Runs in the PostgreSQL pass only
 * (TEST_DATABASE_URL set); two processes cannot share the embedded database.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, verify } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { type ServerProcess, startServer, stopServer } from "../helpers/server.ts";

// ---- Helpers (a copy of those in test/e2e/stream.test.ts) ----

/** A stream frame as the tests read it. */
interface Frame {
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
class StreamSocket {
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

function describeFrames(frames: readonly Frame[]): string {
  return frames.map((f) => `${f.type}@${f.position ?? "-"}${f.roomId ? `(${f.roomId.slice(-6)})` : ""}`).join(", ");
}

/**
 * The next `n` frames the socket receives (after those handed out before) that `accept`
 * accepts; frames it does not accept are passed over. Fails, listing what did arrive, when
 * they do not all come within `timeoutMs` or the socket closes first.
 */
function nextEvents(
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
async function expectQuiet(socket: StreamSocket, ms: number, accept: (frame: Frame) => boolean = () => true) {
  await sleep(ms);
  const extra = socket.frames.slice(socket.cursor).filter(accept);
  expect(extra, `${socket.label} received unexpected frames: ${describeFrames(extra)}`).toEqual([]);
}

/** Resolves with the close, or fails after `ms`. */
async function closedWithin(socket: StreamSocket, ms: number): Promise<{ code: number; reason: string }> {
  return await within(socket.closed, ms, `${socket.label} to close`);
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface User {
  id: string;
  username: string;
  token: string;
}

async function call<T = unknown>(
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

/** Calls the API and fails unless the answer has the status. */
async function ok<T = unknown>(status: number, ...args: Parameters<typeof call>): Promise<T> {
  const res = await call<T>(...args);
  expect(res.status, `${args[2]} ${args[3]}: ${JSON.stringify(res.body)}`).toBe(status);
  return res.body;
}

async function register(server: ServerProcess, username: string): Promise<User> {
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

async function login(server: ServerProcess, username: string): Promise<User> {
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

async function ticket(server: ServerProcess, user: User): Promise<string> {
  return (await ok<{ ticket: string }>(200, server, user.token, "POST", "/api/v1/stream/ticket")).ticket;
}

function streamUrl(server: ServerProcess, since?: number | string): string {
  return `${server.url.replace(/^http/, "ws")}/api/v1/stream${since === undefined ? "" : `?since=${since}`}`;
}

/** Opens a stream socket with a fresh ticket and waits (bounded) for the handshake. */
async function openStream(
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

/** A masked client frame (RFC 6455 §5.2) with FIN set. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
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

function closePayload(code: number): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return payload;
}

/**
 * Sends a valid upgrade request with client frames right behind it, in one write (as a
 * client that does not wait for the handshake can), and resolves with whatever the server
 * sent once the connection ends.
 */
function pipelinedUpgrade(server: ServerProcess, streamTicket: string, frames: Buffer[]): Promise<string> {
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
async function pool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
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

interface MessageBody {
  id: string;
  seq: number;
}

async function send(server: ServerProcess, user: User, roomId: string, txnId: string, content: string, extra = {}) {
  return await ok<MessageBody>(201, server, user.token, "PUT", `/api/v1/rooms/${roomId}/messages/${txnId}`, {
    content,
    ...extra,
  });
}

// ---- The tests ----

/** Whether a JWT was signed by the private Ed25519 JWK (given as JSON text). */
function signedWith(token: string, jwk: string): boolean {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const key = createPublicKey(createPrivateKey({ key: JSON.parse(jwk), format: "jwk" }));
  return verify(null, Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, "base64url"));
}

function claims(token: string): { iss?: string } {
  return JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()) as { iss?: string };
}

const sharedKey = () => JSON.stringify(generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }));

if (process.env.TEST_DATABASE_URL) {
  describe("the live stream across two processes on one PostgreSQL database", () => {
    let database: TestDatabase;
    const dirs: string[] = [];
    const key = sharedKey();
    let a: ServerProcess;
    let b: ServerProcess;
    /** Each user signed in on each process (tokens carry their process's origin as issuer). */
    let aliceA: User;
    let bobA: User;
    let aliceB: User;
    let bobB: User;
    let roomId: string;
    const opened: StreamSocket[] = [];

    async function open(server: ServerProcess, user: User, label: string, options: { since?: number } = {}) {
      const socket = await openStream(server, user, label, options);
      opened.push(socket);
      const [first] = await nextEvents(socket, 1, 5000);
      if (options.since === undefined) expect(first, `${label}'s first frame`).toMatchObject({ type: "ready" });
      else socket.cursor = 0;
      return socket;
    }

    beforeAll(async () => {
      database = await createTestDatabase();
      const env = (name: string) => {
        const dir = mkdtempSync(join(tmpdir(), `fedchat-scale-${name}-`));
        dirs.push(dir);
        return {
          DATABASE_URL: database.url as string,
          DATA_DIR: dir,
          JWT_PRIVATE_KEY: key,
          RATE_LIMIT_FACTOR: "1000",
        };
      };
      [a, b] = await Promise.all([startServer(env("a")), startServer(env("b"))]);
      [aliceA, bobA] = await Promise.all([register(a, "alice"), register(a, "bob")]);
      [aliceB, bobB] = await Promise.all([login(b, "alice"), login(b, "bob")]);
      roomId = (
        await ok<{ id: string }>(201, a, bobA.token, "POST", "/api/v1/rooms", { name: "Scaled", visibility: "public" })
      ).id;
      await ok(200, a, aliceA.token, "POST", `/api/v1/rooms/${roomId}/join`);
    }, 90_000);

    afterAll(async () => {
      for (const socket of opened) socket.ws.terminate();
      await Promise.all([a, b].filter(Boolean).map((server) => stopServer(server, "SIGTERM", 5000)));
      await database?.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it("signs with the shared JWT_PRIVATE_KEY on both processes, each as its own issuer", async () => {
      expect(a.url).not.toBe(b.url);
      for (const user of [aliceA, bobA, aliceB, bobB]) expect(signedWith(user.token, key)).toBe(true);
      expect(claims(aliceA.token).iss).toBe(a.url);
      expect(claims(aliceB.token).iss).toBe(b.url);
      expect(aliceA.id).toBe(aliceB.id);
      // So a token works on the process that issued it only.
      expect((await call(b, aliceA.token, "POST", "/api/v1/stream/ticket")).status).toBe(401);
      expect((await call(b, aliceB.token, "POST", "/api/v1/stream/ticket")).status).toBe(200);
    });

    it("delivers 50 messages sent through A to a socket on B, in order, without duplicates", async () => {
      const onB = await open(b, aliceB, "alice@B");
      const onA = await open(a, bobA, "bob@A");
      const txnIds = Array.from({ length: 50 }, (_, i) => `fan-${i}`);
      const sent = await pool(txnIds, 5, (txnId) => send(a, bobA, roomId, txnId, `from A: ${txnId}`));
      const ids = new Set(sent.map((m) => m.id));
      expect(ids.size).toBe(50);

      const [fromB, fromA] = await Promise.all([nextEvents(onB, 50, 15_000), nextEvents(onA, 50, 15_000)]);
      expect(fromB.map((f) => f.type)).toEqual(Array(50).fill("message.created"));
      expect(new Set(fromB.map((f) => f.data?.message?.id))).toEqual(ids);
      const seqs = fromB.map((f) => f.data?.message?.seq as number);
      const first = seqs[0] as number;
      expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => first + i));
      for (let i = 1; i < fromB.length; i++) {
        expect(fromB[i]?.position).toBeGreaterThan(fromB[i - 1]?.position as number);
      }
      // Both processes tell the same story, position for position.
      expect(fromB).toEqual(fromA);
      await Promise.all([expectQuiet(onB, 500), expectQuiet(onA, 500)]);
      onB.ws.close(1000);
      onA.ws.close(1000);
    }, 40_000);

    it("delivers a message and a typing notice sent through B to a socket on A", async () => {
      const onA = await open(a, bobA, "bob@A");
      const onB = await open(b, aliceB, "alice@B");
      const message = await send(b, aliceB, roomId, "from-b", "hello from B");
      for (const socket of [onA, onB]) {
        const [created] = await nextEvents(socket, 1, 5000);
        expect(created).toMatchObject({ type: "message.created", roomId, data: { message: { id: message.id } } });
      }
      await ok(204, b, aliceB.token, "POST", `/api/v1/rooms/${roomId}/typing`, { typing: true });
      const [typing] = await nextEvents(onA, 1, 5000);
      expect(typing).toMatchObject({ type: "typing", roomId, data: { actorId: aliceB.id, typing: true } });
      await expectQuiet(onA, 300);
      onA.ws.close(1000);
      onB.ws.close(1000);
    });

    it("streams a room joined through B to a socket on B, for messages sent through A", async () => {
      const onB = await open(b, aliceB, "alice@B");
      const other = (
        await ok<{ id: string }>(201, a, bobA.token, "POST", "/api/v1/rooms", { name: "Later", visibility: "public" })
      ).id;
      await ok(200, b, aliceB.token, "POST", `/api/v1/rooms/${other}/join`);
      const [joined] = await nextEvents(onB, 1, 5000);
      expect(joined).toMatchObject({ type: "member.joined", roomId: other });
      const message = await send(a, bobA, other, "later-1", "welcome");
      const [created] = await nextEvents(onB, 1, 5000);
      expect(created).toMatchObject({ type: "message.created", roomId: other, data: { message: { id: message.id } } });
      onB.ws.close(1000);
    });

    it("resumes on B what was written through A while the socket was away", async () => {
      const watcher = await open(b, aliceB, "alice@B-watcher");
      const away = await open(b, aliceB, "alice@B-away");
      const last = away.frames.at(-1)?.position as number;
      away.ws.close(1000);
      await closedWithin(away, 5000);
      const sent = await pool(
        Array.from({ length: 10 }, (_, i) => `away-${i}`),
        3,
        (txnId) => send(a, bobA, roomId, txnId, txnId),
      );
      // Once the watcher on B has them, B's hub has read them.
      const live = await nextEvents(watcher, 10, 10_000);
      const resumed = await open(b, aliceB, "alice@B-resumed", { since: last });
      const replay = await nextEvents(resumed, 11, 10_000);
      expect(replay.slice(0, 10)).toEqual(live);
      expect(new Set(live.map((f) => f.data?.message?.id))).toEqual(new Set(sent.map((m) => m.id)));
      expect(replay[10]).toMatchObject({ type: "ready", position: live.at(-1)?.position });
      watcher.ws.close(1000);
      resumed.ws.close(1000);
    });

    it("answers a ping sent the moment the socket opens (PostgreSQL: the set-up takes a round trip)", async () => {
      // The server attaches its message handler only after the hub has read the
      // connection's rooms; a frame that arrives meanwhile must not be dropped.
      const missing: number[] = [];
      for (let i = 0; i < 20; i++) {
        const ws = new WebSocket(streamUrl(b, undefined), ["chat.v1", `ticket.${await ticket(b, aliceB)}`]);
        const socket = new StreamSocket(`alice@B-early-${i}`, ws);
        opened.push(socket);
        ws.once("open", () => socket.send({ type: "ping" }));
        const frames = await nextEvents(socket, 1, 3000, (f) => f.type === "ready");
        expect(frames).toHaveLength(1);
        await sleep(100);
        if (!socket.frames.some((f) => f.type === "pong")) missing.push(i);
        ws.close(1000);
      }
      expect(missing, `pings sent on open that got no pong (of 20): ${missing.length}`).toEqual([]);
    });

    it("ends the connection of a client that closes while the server sets it up (it goes offline)", async () => {
      const dave = await register(a, "dave");
      await ok(200, a, dave.token, "POST", `/api/v1/rooms/${roomId}/join`);
      const presenceOf = async (user: User) => {
        const { members } = await ok<{ members: { actor: { id: string }; presence?: string }[] }>(
          200,
          a,
          aliceA.token,
          "GET",
          `/api/v1/rooms/${roomId}/members`,
        );
        return members.find((m) => m.actor.id === user.id)?.presence;
      };
      // Presence works: online while a socket is open.
      const socket = await open(a, dave, "dave@A");
      const deadline = Date.now() + 3000;
      while ((await presenceOf(dave)) !== "online" && Date.now() < deadline) await sleep(100);
      expect(await presenceOf(dave), "dave's presence with an open socket").toBe("online");
      socket.ws.close(1000);
      await closedWithin(socket, 5000);
      // A client closes right away: its close frame follows the upgrade request in one write.
      const answer = await pipelinedUpgrade(a, await ticket(a, dave), [clientFrame(0x8, closePayload(1000))]);
      expect(answer).toMatch(/^HTTP\/1\.1 101 /);
      // After the grace period (5 s) a user without connections is offline; a connection
      // whose close the server never saw keeps them online for good.
      await sleep(6500);
      expect(await presenceOf(dave), "dave's presence 6.5 s after his last socket closed").toBe("offline");
    }, 20_000);

    it("replays a backlog bigger than the socket buffers to a slow reader completely, or closes it (4008)", async () => {
      // ~24 KB per event (HTML escaping quadruples the "&"s): 400 of them are ~10 MB, more
      // than the kernel's loopback buffers and the hub's 1 MiB allowance together.
      const backlog = (
        await ok<{ id: string }>(201, a, bobA.token, "POST", "/api/v1/rooms", { name: "Backlog", visibility: "public" })
      ).id;
      await ok(200, a, aliceA.token, "POST", `/api/v1/rooms/${backlog}/join`);
      const before = await open(a, aliceA, "alice@A-before");
      const since = before.frames.at(-1)?.position as number;
      before.ws.close(1000);
      const sent = await pool(
        Array.from({ length: 400 }, (_, i) => `big-${i}`),
        10,
        (txnId) => send(a, bobA, backlog, txnId, "&".repeat(4000)),
      );
      expect(sent).toHaveLength(400);

      // A client on a slow link: it reads nothing for 1.5 s, then everything.
      const ws = new WebSocket(streamUrl(a, since), ["chat.v1", `ticket.${await ticket(a, aliceA)}`]);
      let paused: { resume(): void } | undefined;
      ws.once("upgrade", (res) => {
        paused = res.socket.pause();
      });
      const slow = new StreamSocket("alice@A-slow", ws);
      opened.push(slow);
      await sleep(1500);
      paused?.resume();
      // Until ready, a close, or 1.5 s without a frame (bounded).
      const deadline = Date.now() + 20_000;
      let count = -1;
      let still = Date.now();
      while (Date.now() < deadline && !slow.closeInfo && !slow.frames.some((f) => f.type === "ready")) {
        if (slow.frames.length !== count) {
          count = slow.frames.length;
          still = Date.now();
        } else if (Date.now() - still > 1500) break;
        await sleep(100);
      }
      const created = slow.frames.filter((f) => f.type === "message.created");
      const seqs = created.map((f) => f.data?.message?.seq as number);
      expect(seqs, "replayed in order, without duplicates").toEqual(
        Array.from({ length: seqs.length }, (_, i) => (seqs[0] as number) + i),
      );
      const ready = slow.frames.some((f) => f.type === "ready");
      const outcome = slow.closeInfo
        ? `closed ${slow.closeInfo.code}`
        : ready
          ? "ready"
          : `open, silent: no ready and no close after ${created.length} of 400 replayed events`;
      if (outcome === "ready") expect(created).toHaveLength(400);
      // Either the whole replay then ready, or a slow-consumer close the client resumes from.
      expect(["ready", "closed 4008"], `outcome: ${outcome}`).toContain(outcome);
    }, 40_000);

    // Last: when it fails, process B is gone.
    it("survives a frame over 64 KiB sent right behind the upgrade request", async () => {
      for (let i = 0; i < 5 && b.child.exitCode == null; i++) {
        const answer = await pipelinedUpgrade(b, await ticket(b, aliceB), [
          clientFrame(0x1, Buffer.from(JSON.stringify({ type: "ping", padding: "x".repeat(70 * 1024) }))),
        ]);
        expect(answer).toMatch(/^HTTP\/1\.1 101 /);
        await sleep(200);
      }
      const alive = await fetch(`${b.url}/healthz`).then(
        (res) => res.status,
        (error: Error) => `unreachable (${error.message})`,
      );
      expect(
        { alive, exit: b.child.exitCode },
        `the server process must survive a bad client frame; its output ends with:\n${b.output().slice(-1200)}`,
      ).toEqual({ alive: 200, exit: null });
    });
  });
} else {
  // Without PostgreSQL, the part of the scale-out set-up one process can show: a server given
  // JWT_PRIVATE_KEY signs with it (so several processes can share it) and streams as usual.
  describe("a server given JWT_PRIVATE_KEY (the scale-out set-up, embedded database)", () => {
    let dir: string;
    let server: ServerProcess;
    const key = sharedKey();

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "fedchat-scale-"));
      server = await startServer({ DATA_DIR: dir, JWT_PRIVATE_KEY: key, RATE_LIMIT_FACTOR: "1000" });
    }, 90_000);
    afterAll(async () => {
      if (server) await stopServer(server, "SIGKILL");
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("signs its tokens with that key and streams with them", async () => {
      const carol = await register(server, "carol");
      expect(signedWith(carol.token, key)).toBe(true);
      expect(signedWith(carol.token, sharedKey())).toBe(false);
      const socket = await openStream(server, carol, "carol");
      try {
        expect((await nextEvents(socket, 1, 5000))[0]).toMatchObject({ type: "ready" });
      } finally {
        socket.ws.terminate();
      }
    });
  });
}
