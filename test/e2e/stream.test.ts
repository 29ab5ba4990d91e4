import { rmSync } from "node:fs";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import {
  call,
  clientFrame,
  closedWithin,
  describeFrames,
  expectQuiet,
  type Frame,
  login,
  nextEvents,
  ok,
  openStream,
  pipelinedUpgrade,
  pool,
  refusedUpgrade,
  register,
  StreamSocket,
  send,
  sleep,
  streamUrl,
  ticket,
  type User,
  within,
} from "../helpers/stream.ts";

describe("the live stream over WebSocket (one server, embedded database)", () => {
  let dir: string;
  let server: ServerProcess;
  let alice: User;
  let bob: User;
  let roomId: string;
  /** Every socket opened, so afterAll can end them. */
  const opened: StreamSocket[] = [];
  let aliceSockets: StreamSocket[] = [];
  let bobSockets: StreamSocket[] = [];

  async function open(user: User, label: string, options: { since?: number | string } = {}) {
    const socket = await openStream(server, user, label, options);
    opened.push(socket);
    return socket;
  }

  const isOpen = (s: StreamSocket) => s.closeInfo === undefined;

  beforeAll(async () => {
    dir = preparedDataDir("fedchat-stream-");
    server = await startServer({ DATA_DIR: dir, RATE_LIMIT_FACTOR: "1000" });
    [alice, bob] = await Promise.all([register(server, "alice"), register(server, "bob")]);
    roomId = (
      await ok<{ id: string }>(201, server, alice.token, "POST", "/api/v1/rooms", {
        name: "Stream test",
        visibility: "public",
      })
    ).id;
    await ok(200, server, bob.token, "POST", `/api/v1/rooms/${roomId}/join`);
  }, 90_000);

  afterAll(async () => {
    for (const socket of opened) socket.ws.terminate();
    if (server) await stopServer(server, "SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("delivers the room's events to every socket of both users in one order, without duplicates", async () => {
    aliceSockets = [await open(alice, "alice#1"), await open(alice, "alice#2")];
    bobSockets = [await open(bob, "bob#1"), await open(bob, "bob#2")];
    const all = [...aliceSockets, ...bobSockets];
    for (const socket of all) {
      const [first] = await nextEvents(socket, 1, 5000);
      expect(first, `${socket.label}'s first frame`).toMatchObject({ type: "ready" });
    }

    const m1 = await send(server, alice, roomId, "order-1", "hello bob");
    const m2 = await send(server, bob, roomId, "order-2", "hello alice", { replyTo: m1.id });
    await ok(
      204,
      server,
      bob.token,
      "PUT",
      `/api/v1/rooms/${roomId}/messages/${m1.id}/reactions/${encodeURIComponent("👍")}`,
    );
    await ok(200, server, alice.token, "PATCH", `/api/v1/rooms/${roomId}/messages/${m1.id}`, { content: "hello, bob" });
    await ok(204, server, alice.token, "DELETE", `/api/v1/rooms/${roomId}/messages/${m1.id}`);
    await ok(204, server, bob.token, "POST", `/api/v1/rooms/${roomId}/typing`, { typing: true });
    await ok(200, server, bob.token, "POST", `/api/v1/rooms/${roomId}/read`, { seq: m2.seq });

    const expectedTypes = [
      "message.created",
      "message.created",
      "reaction.added",
      "message.updated",
      "message.deleted",
      "typing",
      "read",
    ];
    const received = new Map<StreamSocket, Frame[]>();
    for (const socket of all) {
      // Bob's own sockets also get his read counts (the copy addressed to him, with `unread`);
      // Alice's get the notification of Bob's reply to her.
      const own = 1;
      const frames = await nextEvents(socket, expectedTypes.length + own, 5000);
      const isPersonal = (f: Frame) => (f.type === "read" && f.data?.unread !== undefined) || f.type === "notification";
      const roomFrames = frames.filter((f) => !isPersonal(f));
      expect(
        roomFrames.map((f) => [f.type, f.roomId]),
        `${socket.label}: ${describeFrames(frames)}`,
      ).toEqual(expectedTypes.map((type) => [type, roomId]));
      const personal = frames.filter(isPersonal);
      expect(personal, `${socket.label}: ${describeFrames(frames)}`).toHaveLength(own);
      if (bobSockets.includes(socket)) {
        expect(personal[0]).toMatchObject({ type: "read", data: { roomId, actorId: bob.id, seq: m2.seq, unread: 0 } });
      } else {
        expect(personal[0]).toMatchObject({ type: "notification", data: { notification: { type: "reply" } } });
      }
      // Positions: strictly increasing; typing (not kept) repeats the position before it.
      let last = 0;
      for (const frame of frames) {
        expect(typeof frame.position, `${socket.label}: ${describeFrames(frames)}`).toBe("number");
        const position = frame.position as number;
        if (frame.type === "typing") expect(position, `${socket.label}: ${describeFrames(frames)}`).toBe(last);
        else expect(position, `${socket.label}: ${describeFrames(frames)}`).toBeGreaterThan(last);
        last = position;
      }
      received.set(socket, roomFrames);
    }

    // Everyone saw the very same room events (same positions, same content).
    const reference = received.get(all[0] as StreamSocket) as Frame[];
    for (const socket of all) expect(received.get(socket), socket.label).toEqual(reference);
    const [created1, created2, reaction, updated, deleted, typing, read] = reference as Frame[];
    expect(created1?.data?.message).toMatchObject({
      id: m1.id,
      seq: m1.seq,
      content: "hello bob",
      author: { id: alice.id },
    });
    expect(created2?.data?.message).toMatchObject({ id: m2.id, replyTo: { id: m1.id }, author: { id: bob.id } });
    expect(reaction?.data).toMatchObject({ messageId: m1.id, emoji: "👍" });
    expect(updated?.data?.message).toMatchObject({ id: m1.id, content: "hello, bob" });
    expect(deleted?.data).toMatchObject({ id: m1.id, seq: m1.seq });
    expect(typing?.data).toMatchObject({ actorId: bob.id, typing: true });
    expect(read?.data).toMatchObject({ actorId: bob.id, seq: m2.seq });

    // Nothing more: no duplicate arrives late.
    await Promise.all(all.map((socket) => expectQuiet(socket, 300)));
  });

  it("resumes with ?since: exactly the missed messages in order, then ready, then live events", async () => {
    const [, gone] = aliceSockets as [StreamSocket, StreamSocket];
    const watcher = aliceSockets[0] as StreamSocket;
    const last = gone.frames.at(-1)?.position;
    expect(last).toBeTypeOf("number");
    gone.ws.close(1000, "bye");
    await closedWithin(gone, 5000);

    const txnIds = Array.from({ length: 300 }, (_, i) => `resume-${i}`);
    const sent = await pool(txnIds, 6, (txnId) =>
      send(server, Number(txnId.slice(7)) % 2 ? bob : alice, roomId, txnId, `message ${txnId}`),
    );
    const sentIds = new Set(sent.map((m) => m.id));
    expect(sentIds.size).toBe(300);
    // The socket that stayed open saw them live: the server has them all.
    const live = await nextEvents(watcher, 300, 20_000, (f) => f.type === "message.created");
    expect(new Set(live.map((f) => f.data?.message?.id))).toEqual(sentIds);

    const resumed = await open(alice, "alice#resumed", { since: last });
    const replay = await nextEvents(resumed, 301, 10_000);
    const messages = replay.slice(0, 300);
    const ready = replay[300] as Frame;
    expect(
      messages.map((f) => f.type),
      describeFrames(replay),
    ).toEqual(Array(300).fill("message.created"));
    expect(ready).toMatchObject({ type: "ready" });
    expect(new Set(messages.map((f) => f.data?.message?.id))).toEqual(sentIds);
    const seqs = messages.map((f) => f.data?.message?.seq as number);
    const first = seqs[0] as number;
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => first + i));
    const positions = messages.map((f) => f.position as number);
    expect(positions[0]).toBeGreaterThan(last as number);
    for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1] as number);
    expect(ready.position).toBe(positions.at(-1));
    // The replay is what the live socket saw, frame for frame.
    expect(messages).toEqual(live);

    // A resent transaction id changes nothing; a new message arrives live, after ready.
    const again = await call(server, alice.token, "PUT", `/api/v1/rooms/${roomId}/messages/resume-0`, {
      content: "message resume-0",
    });
    expect(again.status).toBe(200);
    const fresh = await send(server, bob, roomId, "after-resume", "live again");
    const [next] = await nextEvents(resumed, 1, 5000);
    expect(next).toMatchObject({ type: "message.created", roomId, data: { message: { id: fresh.id } } });
    expect(next?.position).toBeGreaterThan(ready.position as number);
    await expectQuiet(resumed, 300);
    aliceSockets = [watcher, resumed];
  }, 60_000);

  it("answers a position beyond the head with resync, then continues live", async () => {
    const probe = await open(bob, "bob#probe");
    const [ready] = await nextEvents(probe, 1, 5000);
    expect(ready).toMatchObject({ type: "ready" });
    const head = ready?.position as number;
    probe.ws.close(1000);

    const ahead = await open(bob, "bob#ahead", { since: head + 1000 });
    const [first] = await nextEvents(ahead, 1, 5000);
    expect(first).toMatchObject({ type: "resync" });
    expect(first?.position).toBe(head);
    const message = await send(server, alice, roomId, "after-resync", "still there?");
    const [next] = await nextEvents(ahead, 1, 5000);
    expect(next).toMatchObject({ type: "message.created", data: { message: { id: message.id } } });
    expect(next?.position).toBeGreaterThan(head);
    ahead.ws.close(1000);

    for (const since of ["-1", "abc", "1.5"]) {
      const refused = await refusedUpgrade(streamUrl(server, since), [
        "chat.v1",
        `ticket.${await ticket(server, bob)}`,
      ]);
      expect(refused.status, `since=${since}`).toBe(422);
    }
  });

  it("refuses cross-site origins, reused tickets and a missing ticket", async () => {
    const t = await ticket(server, alice);
    const crossSite = await refusedUpgrade(streamUrl(server), ["chat.v1", `ticket.${t}`], {
      origin: "https://evil.example",
    });
    expect(crossSite.status).toBe(403);
    expect(JSON.parse(crossSite.body)).toMatchObject({ code: "forbidden" });

    // A ticket works once.
    const used = await ticket(server, alice);
    const first = new StreamSocket("alice#ticket", new WebSocket(streamUrl(server), ["chat.v1", `ticket.${used}`]));
    opened.push(first);
    await nextEvents(first, 1, 5000);
    const reused = await refusedUpgrade(streamUrl(server), ["chat.v1", `ticket.${used}`]);
    expect(reused.status).toBe(401);
    first.ws.close(1000);

    expect((await refusedUpgrade(streamUrl(server), ["chat.v1", "ticket.not-a-real-ticket"])).status).toBe(401);
    expect((await refusedUpgrade(streamUrl(server), ["chat.v1"])).status).toBe(400);
    expect((await refusedUpgrade(streamUrl(server), [`ticket.${await ticket(server, alice)}`])).status).toBe(400);
    // The same origin is accepted explicitly too.
    const sameOrigin = new StreamSocket(
      "alice#same-origin",
      new WebSocket(streamUrl(server), ["chat.v1", `ticket.${await ticket(server, alice)}`], { origin: server.url }),
    );
    opened.push(sameOrigin);
    expect((await nextEvents(sameOrigin, 1, 5000))[0]).toMatchObject({ type: "ready" });
    sameOrigin.ws.close(1000);
    // Tickets are for signed-in users only.
    expect((await call(server, null, "POST", "/api/v1/stream/ticket")).status).toBe(401);
  });

  it("closes a session's sockets with 4001 within 5 s of its logout, and no other session's", async () => {
    const second = await login(server, "alice");
    const doomed = await open(second, "alice#second-session");
    expect((await nextEvents(doomed, 1, 5000))[0]).toMatchObject({ type: "ready" });
    const unused = await ticket(server, second);
    const survivor = aliceSockets[0] as StreamSocket;
    expect(isOpen(survivor)).toBe(true);

    await ok(204, server, second.token, "POST", "/api/v1/auth/logout", {});
    const started = Date.now();
    const closed = await closedWithin(doomed, 5000);
    expect(closed.code).toBe(4001);
    expect(Date.now() - started).toBeLessThan(5000);
    // A ticket of the ended session no longer opens anything.
    expect((await refusedUpgrade(streamUrl(server), ["chat.v1", `ticket.${unused}`])).status).toBe(401);
    // Alice's first session lives on and still gets events.
    survivor.skipReceived();
    const message = await send(server, bob, roomId, "after-logout", "still here");
    const [next] = await nextEvents(survivor, 1, 5000);
    expect(next?.data?.message?.id).toBe(message.id);
    expect(isOpen(survivor)).toBe(true);
  });

  it("answers client frames: ping, malformed JSON, unknown types", async () => {
    const socket = await open(bob, "bob#frames");
    await nextEvents(socket, 1, 5000);
    socket.send({ type: "ping" });
    expect((await nextEvents(socket, 1, 5000))[0]).toMatchObject({ type: "pong" });
    socket.send("{not json");
    expect((await nextEvents(socket, 1, 5000))[0]).toMatchObject({ type: "error", data: { code: "malformed_json" } });
    socket.send({ type: "subscribe", roomId });
    expect((await nextEvents(socket, 1, 5000))[0]).toMatchObject({
      type: "error",
      data: { code: "validation_failed" },
    });
    socket.ws.send(Buffer.from(JSON.stringify({ type: "ping" })), { binary: true });
    const binary = (await nextEvents(socket, 1, 5000))[0];
    expect(binary, JSON.stringify(binary)).toMatchObject({ type: "pong" });
    expect(isOpen(socket)).toBe(true);
    socket.ws.close(1000);
  });

  it("answers a ping sent the moment the socket opens, also while it replays", async () => {
    // A client may send as soon as `open` fires; the server must not drop what arrives while
    // it is still setting the connection up (reading its rooms, replaying from ?since=0).
    const missing: string[] = [];
    for (const [i, since] of [undefined, undefined, undefined, 0, 0, 0].entries()) {
      const label = `bob#early-ping-${i}${since === undefined ? "" : "-since-0"}`;
      const ws = new WebSocket(streamUrl(server, since), ["chat.v1", `ticket.${await ticket(server, bob)}`]);
      const socket = new StreamSocket(label, ws);
      opened.push(socket);
      ws.once("open", () => socket.send({ type: "ping" }));
      await nextEvents(socket, 1, 5000, (f) => f.type === "ready");
      await sleep(200);
      if (!socket.frames.some((f) => f.type === "pong")) missing.push(label);
      socket.ws.close(1000);
    }
    expect(missing, "sockets whose ping, sent on open, got no pong").toEqual([]);
  });

  it("closes the socket (1009) on a frame over 64 KiB", async () => {
    const socket = await open(bob, "bob#big");
    await nextEvents(socket, 1, 5000);
    socket.send(JSON.stringify({ type: "ping", padding: "x".repeat(70 * 1024) }));
    const closed = await closedWithin(socket, 5000);
    expect(closed.code).toBe(1009);
  });

  it("rate-limits client frames: 60 in a second give one rate_limited error", async () => {
    const socket = await open(bob, "bob#flood");
    await nextEvents(socket, 1, 5000);
    for (let i = 0; i < 60; i++) socket.send({ type: "ping" });
    const answers = await nextEvents(socket, 51, 5000);
    await expectQuiet(socket, 500);
    const types = answers.map((f) => f.type);
    expect(types.filter((t) => t === "pong")).toHaveLength(50);
    expect(answers.filter((f) => f.type === "error")).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ code: "rate_limited" }) }),
    ]);
    expect(isOpen(socket)).toBe(true);
    socket.ws.close(1000);
  });

  it("tells both users when the room is deleted, and nothing more from it", async () => {
    const other = (
      await ok<{ id: string }>(201, server, alice.token, "POST", "/api/v1/rooms", {
        name: "Still here",
        visibility: "public",
      })
    ).id;
    await ok(200, server, bob.token, "POST", `/api/v1/rooms/${other}/join`);
    const fresh = [await open(alice, "alice#deletion"), await open(bob, "bob#deletion")];
    for (const socket of fresh) expect((await nextEvents(socket, 1, 5000))[0]).toMatchObject({ type: "ready" });
    const everyone = [...fresh, ...aliceSockets, ...bobSockets].filter(isOpen);
    expect(everyone.length).toBeGreaterThanOrEqual(5);
    // Bob is typing in the doomed room right before it goes.
    await ok(204, server, bob.token, "POST", `/api/v1/rooms/${roomId}/typing`, { typing: true });

    await ok(204, server, alice.token, "DELETE", `/api/v1/rooms/${roomId}`);
    for (const socket of everyone) {
      const [deleted] = await nextEvents(socket, 1, 5000, (f) => f.type === "room.deleted");
      expect(deleted).toMatchObject({ type: "room.deleted", roomId, data: { roomId } });
    }
    // The room is gone for the API too.
    expect(
      (await call(server, bob.token, "PUT", `/api/v1/rooms/${roomId}/messages/late`, { content: "hi" })).status,
    ).toBe(404);
    expect((await call(server, bob.token, "POST", `/api/v1/rooms/${roomId}/typing`, {})).status).toBe(404);

    const message = await send(server, bob, other, "other-room", "the other room lives");
    for (const socket of everyone) {
      const [next] = await nextEvents(socket, 1, 5000, (f) => f.roomId === other && f.type === "message.created");
      expect(next?.data?.message?.id).toBe(message.id);
      const deletedAt = socket.frames.findIndex((f) => f.type === "room.deleted");
      const later = socket.frames.slice(deletedAt + 1).filter((f) => f.roomId === roomId);
      expect(later, `${socket.label}: frames from the deleted room: ${describeFrames(later)}`).toEqual([]);
    }
    await sleep(300);
    for (const socket of everyone) {
      const deletedAt = socket.frames.findIndex((f) => f.type === "room.deleted");
      expect(socket.frames.slice(deletedAt + 1).filter((f) => f.roomId === roomId)).toEqual([]);
    }
  });

  it("closes every socket with 1001 on SIGTERM and exits 0 within 5 s", async () => {
    const extra = [await open(alice, "alice#sigterm"), await open(bob, "bob#sigterm")];
    const live = opened.filter(isOpen);
    expect(live.length).toBeGreaterThanOrEqual(extra.length);
    const started = Date.now();
    server.child.kill("SIGTERM");
    const closes = await Promise.all(live.map((socket) => closedWithin(socket, 5000)));
    for (const [i, closed] of closes.entries()) expect(closed.code, (live[i] as StreamSocket).label).toBe(1001);
    const exit = await within(server.exited, Math.max(100, 5000 - (Date.now() - started)), "the server to exit");
    expect(exit, server.output().slice(-2000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("a stream client that breaks the protocol during the handshake (its own server: it may die)", () => {
  let dir: string;
  let server: ServerProcess;
  let erin: User;

  beforeAll(async () => {
    dir = preparedDataDir("fedchat-stream-crash-");
    server = await startServer({ DATA_DIR: dir, RATE_LIMIT_FACTOR: "1000" });
    erin = await register(server, "erin");
  }, 90_000);

  afterAll(async () => {
    if (server) await stopServer(server, "SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Fails unless the process still answers and has not exited. */
  async function expectAlive(what: string) {
    const alive = await fetch(`${server.url}/healthz`).then(
      (res) => res.status,
      (error: Error) => `unreachable (${error.message})`,
    );
    expect(
      { alive, exit: server.child.exitCode },
      `the server process must survive ${what}; its output ends with:\n${server.output().slice(-1500)}`,
    ).toEqual({ alive: 200, exit: null });
  }

  it("answers frames whose fields are not what they claim with an error frame, and stays up", async () => {
    const socket = await openStream(server, erin, "erin#fields");
    await nextEvents(socket, 1, 5000);
    // `String(frame.type)` on the first one threw inside the socket's handler: the process died.
    const frames = ['{"type":{"toString":0}}', '{"type":{"valueOf":0,"toString":0}}', "null", "[]", "42", '"ping"'];
    for (const frame of frames) {
      socket.send(frame);
      expect((await nextEvents(socket, 1, 5000))[0], frame).toMatchObject({
        type: "error",
        data: { code: "validation_failed" },
      });
    }
    socket.send({ type: "ping" });
    expect((await nextEvents(socket, 1, 5000))[0]).toMatchObject({ type: "pong" });
    socket.ws.close(1000);
    await expectAlive("frames with objects for strings");
  });

  it("survives clients that reset the connection while their upgrade is checked", async () => {
    const { hostname, port } = new URL(server.url);
    const upgrade = (target: string, streamTicket: string) =>
      `GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from("0123456789abcdef").toString("base64")}\r\n` +
      `Sec-WebSocket-Protocol: chat.v1, ticket.${streamTicket}\r\n\r\n`;
    for (let i = 0; i < 10; i++) {
      const streamTicket = i % 2 === 0 ? await ticket(server, erin) : "no-such-ticket";
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(upgrade("/api/v1/stream", streamTicket), () => {
            socket.resetAndDestroy();
            resolve();
          });
        });
        socket.on("error", () => resolve());
      });
    }
    // A request target that is no URL the server can resolve.
    const answer = await new Promise<string>((resolve) => {
      let received = "";
      const socket = connect(Number(port), hostname, () => socket.write(upgrade("http://[x/api/v1/stream", "t")));
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve(received));
      setTimeout(() => socket.destroy(), 3000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 4\d\d /);
    await sleep(300);
    await expectAlive("reset and malformed upgrades");
  });

  it("survives a frame over 64 KiB sent right behind the upgrade request", async () => {
    const answer = await pipelinedUpgrade(server, await ticket(server, erin), [
      clientFrame(0x1, Buffer.from(JSON.stringify({ type: "ping", padding: "x".repeat(70 * 1024) }))),
    ]);
    expect(answer).toMatch(/^HTTP\/1\.1 101 /);
    await sleep(300);
    const alive = await fetch(`${server.url}/healthz`).then(
      (res) => res.status,
      (error: Error) => `unreachable (${error.message})`,
    );
    expect(
      { alive, exit: server.child.exitCode },
      `the server process must survive a bad client frame; its output ends with:\n${server.output().slice(-1500)}`,
    ).toEqual({ alive: 200, exit: null });
  });
});
