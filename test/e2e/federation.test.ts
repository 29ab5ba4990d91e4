import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { openDatabase } from "../../src/db/client.ts";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { png } from "../helpers/images.ts";
import { freePort, type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import {
  call,
  eventually,
  nextEvents,
  ok,
  openStream,
  register,
  type StreamSocket,
  sleep,
  type User,
} from "../helpers/stream.ts";

// Two real servers with their own databases on loopback, federating through the public API
// only: the story of issue 5.

interface RoomBody {
  id: string;
  url: string;
  handle: string;
  membership: string;
  remote: boolean;
}
interface MessageBody {
  id: string;
  seq: number;
  url: string;
  content: string;
  pending?: boolean;
  author: { handle: string } | null;
  replyTo: { id: string } | null;
  reactions: { emoji: string; count: number }[];
  editedAt: string | null;
  deletedAt: string | null;
  attachments: AttachmentBody[];
}
interface AttachmentBody {
  id: string;
  name: string;
  mediaType: string;
  size?: number;
  width?: number;
  height?: number;
  url: string;
  previewUrl?: string;
}

describe("two federating servers", { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  let a: ServerProcess;
  let b: ServerProcess;
  let portA: number;
  let alice: User;
  let bob: User;
  let carol: User;
  const sockets: StreamSocket[] = [];

  async function start(dir: string, port: number) {
    return await startServer({
      DATA_DIR: dir,
      PORT: String(port),
      RATE_LIMIT_FACTOR: "1000",
      FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
      QUEUE_POLL_INTERVAL_MS: "100",
      LOG_LEVEL: process.env.FED_LOG ?? "warning",
    });
  }

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) dirs.push(preparedDataDir("fedchat-federation-"));
    portA = await freePort();
    [a, b] = await Promise.all([start(dirs[0] as string, portA), start(dirs[1] as string, await freePort())]);
    [alice, bob, carol] = await Promise.all([register(a, "alice"), register(b, "bob"), register(b, "carol")]);
  }, 120_000);

  afterAll(async () => {
    if (process.env.FED_DUMP) {
      const { writeFileSync } = await import("node:fs");
      writeFileSync(`${process.env.FED_DUMP}/a.log`, a?.output() ?? "");
      writeFileSync(`${process.env.FED_DUMP}/b.log`, b?.output() ?? "");
    }
    for (const s of sockets) s.ws.close();
    await Promise.all([a, b].map((s) => (s ? stopServer(s) : undefined)));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    onTestFailed(() => {
      console.error(`A:\n${a?.output().slice(-6000)}\nB:\n${b?.output().slice(-6000)}`);
    });
  });

  const history = (server: ServerProcess, user: User, roomId: string) =>
    ok<{ messages: MessageBody[] }>(200, server, user.token, "GET", `/api/v1/rooms/${roomId}/messages?limit=100`).then(
      (r) => r.messages,
    );
  const roomsOf = (server: ServerProcess, user: User) =>
    ok<{ rooms: RoomBody[] }>(200, server, user.token, "GET", "/api/v1/rooms").then((r) => r.rooms);

  /** Joins a room by target on B and waits until the join is accepted. */
  async function joinFromB(user: User, target: string): Promise<RoomBody> {
    const asked = await call<RoomBody>(b, user.token, "POST", "/api/v1/rooms/join", { target });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    expect(asked.body).toMatchObject({ membership: "pending", remote: true });
    return await eventually(`${user.username} to be in the room`, async () =>
      (await roomsOf(b, user)).find((r) => r.id === asked.body.id && r.membership === "joined"),
    );
  }

  let lobby: RoomBody;
  let mirror: RoomBody;

  it("lets bob on B join alice's public room on A by its handle, with its history", async () => {
    lobby = await ok<RoomBody>(201, a, alice.token, "POST", "/api/v1/rooms", { name: "Lobby", visibility: "public" });
    await ok(201, a, alice.token, "PUT", `/api/v1/rooms/${lobby.id}/messages/t0`, { content: "before you came" });
    mirror = await joinFromB(bob, lobby.handle);
    expect(mirror.url).toBe(lobby.url);
    const backfilled = await eventually("the history to be backfilled", async () => {
      const list = await history(b, bob, mirror.id);
      return list.length > 0 ? list : undefined;
    });
    expect(backfilled.map((m) => [m.seq, m.content])).toEqual([[1, "before you came"]]);
    const { members } = await ok<{ members: { actor: { handle: string } }[] }>(
      200,
      a,
      alice.token,
      "GET",
      `/api/v1/rooms/${lobby.id}/members`,
    );
    expect(members.map((m) => m.actor.handle)).toContain(`bob@${new URL(b.url).host}`);
  });

  it("mirrors a remote room's whole member list, with its roles, when bob's server joins", async () => {
    const dave = await register(a, "dave");
    const porch = await ok<RoomBody>(201, a, alice.token, "POST", "/api/v1/rooms", {
      name: "Porch",
      visibility: "public",
    });
    await ok(200, a, dave.token, "POST", `/api/v1/rooms/${porch.id}/join`);
    type Member = { role: string; actor: { id: string; handle: string; url: string } };
    const onA = await ok<{ members: Member[] }>(200, a, alice.token, "GET", `/api/v1/rooms/${porch.id}/members`);
    const daveActor = onA.members.find((m) => m.actor.url.endsWith("/users/dave"))?.actor.id;
    await ok(204, a, alice.token, "PUT", `/api/v1/rooms/${porch.id}/members/${daveActor}/role`, { role: "moderator" });

    const mirrored = await joinFromB(bob, porch.url);
    const hostA = new URL(a.url).host;
    const roles = await eventually("B's member list to match A's", async () => {
      const { members } = await ok<{ members: Member[] }>(
        200,
        b,
        bob.token,
        "GET",
        `/api/v1/rooms/${mirrored.id}/members`,
      );
      return members.length === 3 ? members : undefined;
    });
    expect(Object.fromEntries(roles.map((m) => [m.actor.handle, m.role]))).toEqual({
      [`alice@${hostA}`]: "owner",
      [`dave@${hostA}`]: "moderator",
      [`bob@${new URL(b.url).host}`]: "member",
    });
  });

  it("shows a member's avatar from another server through this server, never the other", async () => {
    const erin = await register(b, "erin");
    const picture = png(96, 96, { seed: 11 });
    const form = new FormData();
    form.append("file", new File([new Uint8Array(picture)], "me.png"));
    const uploaded = await fetch(`${b.url}/api/v1/me/avatar`, {
      method: "PUT",
      headers: { authorization: `Bearer ${erin.token}` },
      body: form,
    });
    expect(uploaded.status, await uploaded.clone().text()).toBe(200);
    const square = await ok<RoomBody>(201, a, alice.token, "POST", "/api/v1/rooms", {
      name: "Square",
      visibility: "public",
    });
    await joinFromB(erin, square.url);
    type Member = { actor: { url: string; avatarUrl: string | null } };
    const erinOnA = await eventually("erin in A's member list", async () => {
      const { members } = await ok<{ members: Member[] }>(
        200,
        a,
        alice.token,
        "GET",
        `/api/v1/rooms/${square.id}/members`,
      );
      return members.find((m) => m.actor.url.endsWith("/users/erin"))?.actor;
    });
    expect(erinOnA.avatarUrl?.startsWith(`${a.url}/media/remote-avatars/`), String(erinOnA.avatarUrl)).toBe(true);
    const first = await fetch(erinOnA.avatarUrl as string);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toMatch(/^image\//);
    expect((await first.arrayBuffer()).byteLength).toBeGreaterThan(0);
    // Kept: asked again, A serves its copy.
    const again = await fetch(erinOnA.avatarUrl as string);
    expect(again.status).toBe(200);
    expect(await fetch(`${a.url}/media/remote-avatars/${crypto.randomUUID()}`).then((r) => r.status)).toBe(404);
  });

  it("carries messages both ways with the room's numbers, live on B's stream", async () => {
    const stream = await openStream(b, bob, "bob@B");
    sockets.push(stream);
    const sent = await ok<MessageBody>(201, a, alice.token, "PUT", `/api/v1/rooms/${lobby.id}/messages/t1`, {
      content: "hello from **A**",
    });
    const [live] = await nextEvents(stream, 1, 20_000, (f) => f.type === "message.created");
    if (live == null) throw new Error("no event");
    expect(live.roomId).toBe(mirror.id);
    expect((live.data as { message: MessageBody }).message).toMatchObject({
      seq: sent.seq,
      content: "hello from **A**",
    });

    const pending = await call<MessageBody>(b, bob.token, "PUT", `/api/v1/rooms/${mirror.id}/messages/b1`, {
      content: "hi from B",
    });
    expect(pending.status).toBe(202);
    expect(pending.body.pending).toBe(true);
    const onA = await eventually("bob's message on A", async () =>
      (await history(a, alice, lobby.id)).find((m) => m.content === "hi from B"),
    );
    expect(onA.seq).toBe(3);
    const onB = await eventually("bob's message numbered on B", async () =>
      (await history(b, bob, mirror.id)).find((m) => m.content === "hi from B"),
    );
    expect(onB).toMatchObject({ id: pending.body.id, seq: 3 });
    // A retry with the same transaction id is the same message.
    const again = await call<MessageBody>(b, bob.token, "PUT", `/api/v1/rooms/${mirror.id}/messages/b1`, {
      content: "hi from B",
    });
    expect(again.body.id).toBe(pending.body.id);
    // NodeInfo counts what A's own users wrote in public rooms, not bob's message.
    const nodeinfo = (await (await fetch(`${a.url}/nodeinfo/2.1`)).json()) as { usage: { localPosts: number } };
    expect(nodeinfo.usage.localPosts).toBe(2);
  });

  it("shows typing across the two servers, both ways, live", async () => {
    type Typing = { type: string; roomId: string; data: { actorId: string; typing: boolean } };
    const actorOn = async (server: ServerProcess, user: User, roomId: string, url: string) => {
      const { members } = await ok<{ members: { actor: { id: string; url: string } }[] }>(
        200,
        server,
        user.token,
        "GET",
        `/api/v1/rooms/${roomId}/members`,
      );
      return members.find((m) => m.actor.url === url)?.actor.id;
    };
    /** Types on one server until the other's stream shows that member typing (each side learns the other runs ours). */
    const typedAcross = async (
      from: [ServerProcess, User, string],
      to: StreamSocket,
      roomId: string,
      actor: string,
    ) => {
      for (let attempt = 0; attempt < 20; attempt++) {
        await ok(204, from[0], from[1].token, "POST", `/api/v1/rooms/${from[2]}/typing`, { typing: true });
        const seen = await nextEvents(to, 1, 1_500, (f) => {
          const typing = f as unknown as Typing;
          return typing.type === "typing" && typing.roomId === roomId && typing.data.actorId === actor;
        }).catch(() => []);
        if (seen[0]) return seen[0] as unknown as Typing;
      }
      throw new Error("no typing notice came across");
    };
    const onB = await openStream(b, bob, "bob@B typing");
    const onA = await openStream(a, alice, "alice@A typing");
    sockets.push(onB, onA);

    const aliceOnB = (await actorOn(b, bob, mirror.id, `${a.url}/users/alice`)) as string;
    expect((await typedAcross([a, alice, lobby.id], onB, mirror.id, aliceOnB)).data.typing).toBe(true);
    const bobOnA = (await actorOn(a, alice, lobby.id, `${b.url}/users/bob`)) as string;
    expect((await typedAcross([b, bob, mirror.id], onA, lobby.id, bobOnA)).data.typing).toBe(true);
  });

  it("shows read positions both ways and presence across the two servers", async () => {
    type Member = { actor: { url: string }; presence?: string; readUpTo?: number };
    const memberOn = async (server: ServerProcess, user: User, roomId: string, url: string) =>
      (await ok<{ members: Member[] }>(200, server, user.token, "GET", `/api/v1/rooms/${roomId}/members`)).members.find(
        (m) => m.actor.url === url,
      );
    const last = async (server: ServerProcess, user: User, roomId: string) =>
      Math.max(...(await history(server, user, roomId)).map((m) => m.seq));

    const seqOnB = await last(b, bob, mirror.id);
    await ok(200, b, bob.token, "POST", `/api/v1/rooms/${mirror.id}/read`, { seq: seqOnB });
    await eventually("bob's read position on A", async () =>
      (await memberOn(a, alice, lobby.id, `${b.url}/users/bob`))?.readUpTo === seqOnB ? true : undefined,
    );
    const seqOnA = await last(a, alice, lobby.id);
    await ok(200, a, alice.token, "POST", `/api/v1/rooms/${lobby.id}/read`, { seq: seqOnA });
    await eventually("alice's read position on B", async () =>
      (await memberOn(b, bob, mirror.id, `${a.url}/users/alice`))?.readUpTo === seqOnA ? true : undefined,
    );

    // alice's streams on A close: after the grace period B shows her offline; a new one, online.
    for (const socket of sockets.filter((s) => s.label.startsWith("alice@A"))) socket.ws.close();
    const aliceOnB = async (status: string) =>
      (await memberOn(b, bob, mirror.id, `${a.url}/users/alice`))?.presence === status ? true : undefined;
    await eventually("alice offline on B", () => aliceOnB("offline"));
    const onA = await openStream(a, alice, "alice@A presence");
    sockets.push(onA);
    await eventually("alice online on B", () => aliceOnB("online"));
    onA.ws.close();
    await eventually("alice offline on B again", () => aliceOnB("offline"));
  });

  it("federates replies, reactions, edits and deletes", async () => {
    const onB = await history(b, bob, mirror.id);
    const hello = onB.find((m) => m.content === "hello from **A**") as MessageBody;
    await call(b, bob.token, "PUT", `/api/v1/rooms/${mirror.id}/messages/b2`, {
      content: "a reply",
      replyTo: hello.id,
    });
    const reply = await eventually("the reply on A", async () =>
      (await history(a, alice, lobby.id)).find((m) => m.content === "a reply"),
    );
    const helloOnA = (await history(a, alice, lobby.id)).find((m) => m.content === "hello from **A**") as MessageBody;
    expect(reply.replyTo?.id).toBe(helloOnA.id);

    await ok(
      204,
      a,
      alice.token,
      "PUT",
      `/api/v1/rooms/${lobby.id}/messages/${reply.id}/reactions/${encodeURIComponent("🎉")}`,
    );
    await call(
      b,
      bob.token,
      "PUT",
      `/api/v1/rooms/${mirror.id}/messages/${hello.id}/reactions/${encodeURIComponent("👍")}`,
    );
    await eventually("alice's reaction on B", async () => {
      const m = (await history(b, bob, mirror.id)).find((x) => x.content === "a reply");
      return m?.reactions.some((r) => r.emoji === "🎉") ? m : undefined;
    });
    await eventually("bob's reaction on A", async () => {
      const m = (await history(a, alice, lobby.id)).find((x) => x.id === helloOnA.id);
      return m?.reactions.some((r) => r.emoji === "👍") ? m : undefined;
    });

    const replyOnB = (await history(b, bob, mirror.id)).find((m) => m.content === "a reply") as MessageBody;
    await call(b, bob.token, "PATCH", `/api/v1/rooms/${mirror.id}/messages/${replyOnB.id}`, {
      content: "a better reply",
    });
    await eventually("the edit on A", async () =>
      (await history(a, alice, lobby.id)).find((m) => m.content === "a better reply" && m.editedAt),
    );
    await eventually("the edit back on B", async () =>
      (await history(b, bob, mirror.id)).find((m) => m.content === "a better reply" && m.editedAt),
    );

    await ok(204, a, alice.token, "DELETE", `/api/v1/rooms/${lobby.id}/messages/${helloOnA.id}`);
    await eventually("the delete on B", async () =>
      (await history(b, bob, mirror.id)).find((m) => m.id === hello.id && m.deletedAt && m.content === ""),
    );
  });

  it("shares files both ways: published with the Note, fetched by the reader's server when opened", async () => {
    const upload = async (server: ServerProcess, user: User, bytes: Uint8Array, name: string) => {
      const form = new FormData();
      form.append("file", new File([new Uint8Array(bytes)], name));
      const res = await fetch(`${server.url}/api/v1/attachments`, {
        method: "POST",
        headers: { authorization: `Bearer ${user.token}` },
        body: form,
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as AttachmentBody;
    };
    const photo = png(64, 48, { seed: 7 });
    const pdf = new TextEncoder().encode(
      "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    );
    const image = await upload(a, alice, photo, "été.png");
    const report = await upload(a, alice, pdf, "Report Q3.pdf");
    await ok(201, a, alice.token, "PUT", `/api/v1/rooms/${lobby.id}/messages/files1`, {
      content: "two files",
      attachments: [image.id, report.id],
    });

    // B lists them at once, with what the Note says; nothing is fetched until someone opens one.
    const onB = await eventually("alice's files on B", async () =>
      (await history(b, bob, mirror.id)).find((m) => m.content === "two files"),
    );
    expect(onB.attachments.map((f) => [f.name, f.mediaType, f.width, f.height, f.size])).toEqual([
      ["été.png", "image/png", 64, 48, undefined],
      ["Report Q3.pdf", "application/pdf", undefined, undefined, undefined],
    ]);
    const [picture, doc] = onB.attachments as [AttachmentBody, AttachmentBody];
    expect(new URL(picture.url).origin).toBe(b.url);
    const preview = await fetch(picture.previewUrl as string);
    expect(preview.status).toBe(200);
    expect(preview.headers.get("content-type")).toBe("image/webp");
    const file = await fetch(doc.url);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-disposition")).toMatch(/^attachment; filename="Report Q3.pdf"/);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(pdf);
    const fetched = (await history(b, bob, mirror.id)).find((m) => m.id === onB.id) as MessageBody;
    expect(fetched.attachments.map((f) => f.size)).toEqual([photo.length, pdf.length]);
    expect(new Uint8Array(await (await fetch((fetched.attachments[0] as AttachmentBody).url)).arrayBuffer())).toEqual(
      photo,
    );

    // Bob's file goes to A's room with his message and comes back as the same upload.
    const notes = new TextEncoder().encode("minutes of the meeting\n");
    const mine = await upload(b, bob, notes, "minutes.txt");
    const sent = await call<MessageBody>(b, bob.token, "PUT", `/api/v1/rooms/${mirror.id}/messages/files2`, {
      content: "",
      attachments: [mine.id],
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    expect(sent.body.attachments.map((f) => f.id)).toEqual([mine.id]);
    const onA = await eventually("bob's file on A", async () =>
      (await history(a, alice, lobby.id)).find((m) => m.attachments[0]?.name === "minutes.txt"),
    );
    const copy = await fetch((onA.attachments[0] as AttachmentBody).url);
    expect(copy.status).toBe(200);
    expect(new Uint8Array(await copy.arrayBuffer())).toEqual(notes);
    const back = await eventually("bob's message numbered on B", async () =>
      (await history(b, bob, mirror.id)).find((m) => m.id === sent.body.id && !m.pending),
    );
    expect(back.attachments.map((f) => f.id)).toEqual([mine.id]);

    // The file goes with its message, on both servers.
    await ok(204, a, alice.token, "DELETE", `/api/v1/rooms/${lobby.id}/messages/${onA.id}`);
    await eventually("the delete on B", async () =>
      (await history(b, bob, mirror.id)).find((m) => m.id === back.id && m.deletedAt),
    );
    const gone = await fetch(copy.url);
    expect(gone.status).toBe(404);
  });

  it("lets carol join a private room through an invite link, then kicks and bans her", async () => {
    const secret = await ok<RoomBody>(201, a, alice.token, "POST", "/api/v1/rooms", {
      name: "Secret",
      visibility: "private",
    });
    // Without an invitation the room refuses.
    const refused = await call<RoomBody>(b, carol.token, "POST", "/api/v1/rooms/join", { target: secret.url });
    expect(refused.status).toBe(202);
    await eventually("the refusal", async () =>
      (await roomsOf(b, carol)).some((r) => r.id === refused.body.id) ? undefined : true,
    );
    const invite = await ok<{ url: string }>(201, a, alice.token, "POST", `/api/v1/rooms/${secret.id}/invites`, {
      maxUses: 1,
    });
    const joined = await joinFromB(carol, invite.url);
    const named = await eventually("the private room's name", async () => {
      const room = (await roomsOf(b, carol)).find((r) => r.id === joined.id) as RoomBody & { name: string };
      return room.name === "Secret" ? room : undefined;
    });
    expect(named.name).toBe("Secret");
    await ok(201, a, alice.token, "PUT", `/api/v1/rooms/${secret.id}/messages/s1`, { content: "psst" });
    await eventually("the private message on B", async () =>
      (await history(b, carol, joined.id)).find((m) => m.content === "psst"),
    );

    const { members } = await ok<{ members: { actor: { id: string; handle: string } }[] }>(
      200,
      a,
      alice.token,
      "GET",
      `/api/v1/rooms/${secret.id}/members`,
    );
    const carolOnA = members.find((m) => m.actor.handle.startsWith("carol@")) as { actor: { id: string } };
    await ok(204, a, alice.token, "POST", `/api/v1/rooms/${secret.id}/members/${carolOnA.actor.id}/kick`, {});
    await eventually("carol to be out on B", async () =>
      (await roomsOf(b, carol)).some((r) => r.id === joined.id) ? undefined : true,
    );

    await ok(204, a, alice.token, "PUT", `/api/v1/rooms/${secret.id}/bans/${carolOnA.actor.id}`, { reason: "spam" });
    const second = await ok<{ url: string }>(201, a, alice.token, "POST", `/api/v1/rooms/${secret.id}/invites`, {});
    await call(b, carol.token, "POST", "/api/v1/rooms/join", { target: second.url });
    await sleep(1500);
    expect((await roomsOf(b, carol)).some((r) => r.id === joined.id && r.membership === "joined")).toBe(false);
    const after = await ok<{ members: { actor: { handle: string } }[] }>(
      200,
      a,
      alice.token,
      "GET",
      `/api/v1/rooms/${secret.id}/members`,
    );
    expect(after.members.map((m) => m.actor.handle)).not.toContainEqual(expect.stringMatching(/^carol@/));
  });

  it("finds bob's profile on B from A, and invites him by name into a private room", async () => {
    const bobHandle = `bob@${new URL(b.url).host}`;
    const profile = await ok<{ handle: string; url: string }>(
      200,
      a,
      alice.token,
      "GET",
      `/api/v1/users/${encodeURIComponent(bobHandle)}`,
    );
    expect(profile).toMatchObject({ handle: bobHandle, url: `${b.url}/users/bob` });
    expect((await call(a, alice.token, "GET", `/api/v1/users/nobody@${new URL(b.url).host}`)).status).toBe(404);

    const stream = await openStream(b, bob, "bob@B invited");
    sockets.push(stream);
    const club = await ok<RoomBody>(201, a, alice.token, "POST", "/api/v1/rooms", {
      name: "Club",
      visibility: "private",
    });
    await ok(201, a, alice.token, "POST", `/api/v1/rooms/${club.id}/invites`, { user: bobHandle });
    const [invited] = await nextEvents(stream, 1, 30_000, (f) => f.type === "notification");
    if (invited == null) throw new Error("no notification");
    const notification = (invited.data as { notification: { type: string; data: { url: string; roomName: string } } })
      .notification;
    expect(notification).toMatchObject({ type: "invite", data: { roomName: "Club" } });
    // The link is bob's alone: carol cannot use it.
    const stolen = await call<RoomBody>(b, carol.token, "POST", "/api/v1/rooms/join", {
      target: notification.data.url,
    });
    expect(stolen.status).toBe(202);
    await eventually("carol's refusal", async () =>
      (await roomsOf(b, carol)).some((r) => r.id === stolen.body.id) ? undefined : true,
    );
    const joined = await joinFromB(bob, notification.data.url);
    expect(joined.remote).toBe(true);
  });

  it("makes alice on A and bob on B contacts, and ends it from either side", async () => {
    const bobHandle = `bob@${new URL(b.url).host}`;
    const aliceHandle = `alice@${new URL(a.url).host}`;
    type Contacts = {
      contacts: { actor: { handle: string } }[];
      incoming: { id: string; actor: { handle: string } }[];
      outgoing: { actor: { handle: string } }[];
    };
    const contactsOf = (server: ServerProcess, user: User) =>
      ok<Contacts>(200, server, user.token, "GET", "/api/v1/contacts");
    const asked = await call<{ state: string }>(a, alice.token, "POST", "/api/v1/contacts", { user: bobHandle });
    expect(asked.body.state).toBe("outgoing");
    const incoming = await eventually("alice's request on B", async () =>
      (await contactsOf(b, bob)).incoming.find((r) => r.actor.handle === aliceHandle),
    );
    await ok(204, b, bob.token, "POST", `/api/v1/contacts/requests/${incoming.id}/accept`);
    await eventually("bob in alice's contacts", async () =>
      (await contactsOf(a, alice)).contacts.some((c) => c.actor.handle === bobHandle) ? true : undefined,
    );
    expect((await contactsOf(b, bob)).contacts.map((c) => c.actor.handle)).toContain(aliceHandle);
    await ok(204, b, bob.token, "DELETE", `/api/v1/contacts/${encodeURIComponent(aliceHandle)}`);
    await eventually("the contact to end on A", async () =>
      (await contactsOf(a, alice)).contacts.length === 0 ? true : undefined,
    );
  });

  it("keeps a remote invite from someone bob blocks away from him", async () => {
    const aliceHandle = `alice@${new URL(a.url).host}`;
    type Notifications = { notifications: { type: string; data: { roomName?: string } }[] };
    const invitesTo = async (user: User, room: string) =>
      (await ok<Notifications>(200, b, user.token, "GET", "/api/v1/notifications")).notifications.filter(
        (n) => n.type === "invite" && n.data.roomName === room,
      );
    await ok(200, b, bob.token, "POST", "/api/v1/blocks", { user: aliceHandle });
    const den = await ok<RoomBody>(201, a, alice.token, "POST", "/api/v1/rooms", {
      name: "Den",
      visibility: "private",
    });
    for (const who of [bob, carol]) {
      await ok(201, a, alice.token, "POST", `/api/v1/rooms/${den.id}/invites`, {
        user: `${who.username}@${new URL(b.url).host}`,
      });
    }
    await eventually("carol's invite", async () => (await invitesTo(carol, "Den"))[0]);
    await sleep(1000);
    expect(await invitesTo(bob, "Den")).toEqual([]);
    await ok(204, b, bob.token, "DELETE", `/api/v1/blocks/${encodeURIComponent(aliceHandle)}`);
  });

  it("carries the room's own changes: a moderator's delete, a new name, the room's end", async () => {
    const room = await ok<RoomBody>(201, a, alice.token, "POST", "/api/v1/rooms", {
      name: "Temp",
      visibility: "public",
    });
    const mirrored = await joinFromB(bob, room.handle);
    await call(b, bob.token, "PUT", `/api/v1/rooms/${mirrored.id}/messages/x1`, { content: "delete me" });
    const onA = await eventually("bob's message on A", async () =>
      (await history(a, alice, room.id)).find((m) => m.content === "delete me"),
    );
    await ok(204, a, alice.token, "DELETE", `/api/v1/rooms/${room.id}/messages/${onA.id}`);
    await eventually("the moderator's delete on B", async () =>
      (await history(b, bob, mirrored.id)).find((m) => m.seq === onA.seq && m.deletedAt),
    );
    await ok(200, a, alice.token, "PATCH", `/api/v1/rooms/${room.id}`, { name: "Renamed", topic: "new topic" });
    await eventually("the new name on B", async () =>
      (await roomsOf(b, bob)).find(
        (r) => r.id === mirrored.id && (r as RoomBody & { name: string }).name === "Renamed",
      ),
    );
    await ok(204, a, alice.token, "DELETE", `/api/v1/rooms/${room.id}`);
    await eventually("the room to be gone on B", async () =>
      (await roomsOf(b, bob)).some((r) => r.id === mirrored.id) ? undefined : true,
    );
  });

  it("loses nothing when A restarts mid-conversation", async () => {
    await stopServer(a);
    const whileDown = await call<MessageBody>(b, bob.token, "PUT", `/api/v1/rooms/${mirror.id}/messages/down1`, {
      content: "sent while A was down",
    });
    expect(whileDown.status).toBe(202);
    a = await start(dirs[0] as string, portA);
    await ok(201, a, alice.token, "PUT", `/api/v1/rooms/${lobby.id}/messages/up1`, { content: "back up" });
    const onA = await eventually(
      "the message sent while A was down",
      async () => (await history(a, alice, lobby.id)).find((m) => m.content === "sent while A was down"),
      60_000,
    );
    expect(onA).toBeDefined();
    const both = await eventually(
      "the same history on both servers",
      async () => {
        const [ha, hb] = await Promise.all([history(a, alice, lobby.id), history(b, bob, mirror.id)]);
        const view = (list: MessageBody[]) => list.map((m) => [m.seq, m.deletedAt ? null : m.content]);
        return JSON.stringify(view(ha)) === JSON.stringify(view(hb)) ? view(ha) : undefined;
      },
      60_000,
    );
    expect(both.map((m) => m[0])).toEqual(both.map((_, i) => i + 1));
  }, 120_000);

  it("repairs a mirror with holes and a lost tail from the room's history (npm run check-consistency)", async () => {
    const visible = (list: MessageBody[]) => list.filter((m) => !m.deletedAt).map((m) => [m.seq, m.content]);
    const onA = await history(a, alice, lobby.id);
    const top = Math.max(...onA.map((m) => m.seq));
    // A deleted message among the lost: the history lists it as a Delete, which keeps its number.
    const deleted = onA.find((m) => m.deletedAt && m.seq < top - 1) as MessageBody;
    expect(deleted).toBeDefined();
    await stopServer(b);
    // What lost deliveries leave behind: messages missing in the middle and at the end, and a
    // join still pending for a room bob is in.
    const database = await openDatabase({ dataDir: dirs[1] as string });
    try {
      const lost = [2, 3, deleted.seq, top - 1, top];
      await database.db.execute(
        sql`delete from messages where room_id = ${mirror.id} and seq in ${sql.raw(`(${lost.join(",")})`)}`,
      );
      await database.db.execute(sql`update rooms set last_seq = ${top - 2} where id = ${mirror.id}`);
      await database.db.execute(sql`insert into pending_joins (room_id, actor_id, activity_iri)
        values (${mirror.id}, ${bob.id}, ${`${b.url}/users/bob#join-again`})`);
    } finally {
      await database.close();
    }
    const admin = fileURLToPath(new URL("../../federation/admin.ts", import.meta.url));
    const check = (...args: string[]) => {
      const run = spawnSync(process.execPath, [admin, "consistency:check", "--json", ...args], {
        env: {
          PATH: process.env.PATH ?? "",
          DATA_DIR: dirs[1] as string,
          ORIGIN: b.url,
          PORT: new URL(b.url).port,
          FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
        },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(run.stdout, run.stderr).not.toBe("");
      return { status: run.status, ...(JSON.parse(run.stdout) as { found: { check: string }[]; remaining: [] }) };
    };
    const found = check();
    expect(found.status).toBe(1);
    expect(new Set(found.found.map((f) => f.check))).toEqual(
      new Set(["mirrors.gaps", "mirrors.behind", "mirrors.pending-joins"]),
    );
    const fixed = check("--fix");
    expect(fixed.remaining).toEqual([]);
    expect(fixed.status).toBe(0);
    b = await start(dirs[1] as string, Number(new URL(b.url).port));
    expect(visible(await history(b, bob, mirror.id))).toEqual(visible(onA));
    expect((await roomsOf(b, bob)).find((r) => r.id === mirror.id)?.membership).toBe("joined");
  }, 120_000);
});
