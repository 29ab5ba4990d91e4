/**
 * The live stream scaled out: two server processes on one PostgreSQL database (the same
 * JWT_PRIVATE_KEY, each its own ORIGIN and DATA_DIR). An event written through one process
 * reaches sockets on the other through LISTEN/NOTIFY. Runs in the PostgreSQL pass only
 * (TEST_DATABASE_URL set); two processes cannot share the embedded database.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import {
  call,
  clientFrame,
  closedWithin,
  closePayload,
  expectQuiet,
  login,
  nextEvents,
  ok,
  openStream,
  pipelinedUpgrade,
  pool,
  register,
  StreamSocket,
  send,
  sleep,
  streamUrl,
  ticket,
  type User,
} from "../helpers/stream.ts";

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
      // Sending the 400 took most of 40 s on a loaded two-core machine (CI with other work).
    }, 90_000);

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
