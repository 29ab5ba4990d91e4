import { and, count, eq, max, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events, invites, moderationLog, roomBans, roomMembers, rooms } from "../../src/db/schema.ts";
import { createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { apiClient, type Client, expectProblem, peek } from "./support.ts";

let t: TestInstance;

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
});
afterAll(async () => {
  await t?.dispose();
});

// ---- Helpers ----

const { signUp, call, ok } = apiClient(() => t);

/** The room object of the API. */
interface RoomBody {
  id: string;
  name: string;
  topic: string;
  visibility: "public" | "private";
  direct: boolean;
  theme: string | null;
  role: string | null;
  permissions: string[];
  unread: number;
  mentions: number;
  lastSeq: number;
  lastReadSeq: number;
  handle: string;
  url: string;
  createdAt: string;
  members?: number;
}

/** A member as the members list shows it. */
interface MemberBody {
  actor: { id: string; handle: string; displayName: string };
  role: string;
  nickname: string | null;
  color: string | null;
  joinedAt: string;
}

const allActions = [
  "rename",
  "setTopic",
  "setAvatar",
  "setTheme",
  "setVisibility",
  "setLinkPreviews",
  "setBots",
  "manageWebhooks",
  "setRetention",
  "invite",
  "kick",
  "ban",
  "deleteOthers",
  "pin",
  "changeRoles",
  "viewModerationLog",
  "deleteRoom",
];

const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function createRoom(
  owner: Client,
  body: { name: string; visibility: "public" | "private"; topic?: string },
): Promise<RoomBody> {
  return await ok<RoomBody>(await call("POST", "/rooms", owner, body), 201);
}

async function joinRoom(roomId: string, who: Client): Promise<RoomBody> {
  return await ok<RoomBody>(await call("POST", `/rooms/${roomId}/join`, who));
}

async function getRoom(roomId: string, who: Client): Promise<RoomBody> {
  return await ok<RoomBody>(await call("GET", `/rooms/${roomId}`, who));
}

async function membersOf(roomId: string, who: Client): Promise<MemberBody[]> {
  return (await ok<{ members: MemberBody[] }>(await call("GET", `/rooms/${roomId}/members`, who))).members;
}

async function myRooms(who: Client): Promise<RoomBody[]> {
  return (await ok<{ rooms: RoomBody[] }>(await call("GET", "/rooms", who))).rooms;
}

async function setRole(roomId: string, by: Client, target: Client, role: string): Promise<void> {
  const res = await call("PUT", `/rooms/${roomId}/members/${target.id}/role`, by, { role });
  expect(res.status, await peek(res)).toBe(204);
}

/** Everything a room's requests could change, read straight from the database. */
async function roomState(roomId: string) {
  const db = t.testDatabase.db;
  const [room] = await db.select().from(rooms).where(eq(rooms.id, roomId));
  const [last] = await db.select({ position: max(events.position) }).from(events);
  return {
    room,
    members: await db.select().from(roomMembers).where(eq(roomMembers.roomId, roomId)).orderBy(roomMembers.actorId),
    bans: await db.select().from(roomBans).where(eq(roomBans.roomId, roomId)).orderBy(roomBans.actorId),
    invites: await db.select().from(invites).where(eq(invites.roomId, roomId)).orderBy(invites.id),
    log: await db.select().from(moderationLog).where(eq(moderationLog.roomId, roomId)).orderBy(moderationLog.id),
    lastEvent: last?.position ?? null,
  };
}

async function countRooms(): Promise<number> {
  const [row] = await t.testDatabase.db.select({ n: count() }).from(rooms);
  return Number(row?.n);
}

async function eventsOf(roomId: string, type: string) {
  return await t.testDatabase.db
    .select()
    .from(events)
    .where(and(eq(events.roomId, roomId), eq(events.type, type)))
    .orderBy(events.position);
}

/** room.deleted is addressed to each former member (they are no longer in the room). */
async function deletionsOf(roomId: string) {
  return await t.testDatabase.db
    .select()
    .from(events)
    .where(and(eq(events.type, "room.deleted"), sql`${events.data}->>'roomId' = ${roomId}`))
    .orderBy(events.position);
}

/** The parts of a problem document that do not change from one request to the next. */
async function problemShape(res: Response) {
  const { requestId: _, ...rest } = (await res.json()) as Record<string, unknown>;
  return { status: res.status, ...rest };
}

// ---- Creating ----

describe("creating a room", () => {
  it("answers 201 with the room; the creator is its owner with every permission", async () => {
    const alice = await signUp("creator");
    const res = await call("POST", "/rooms", alice, { name: "General", topic: "Anything goes", visibility: "public" });
    const room = await ok<RoomBody>(res, 201);
    expect(room).toMatchObject({
      name: "General",
      topic: "Anything goes",
      visibility: "public",
      direct: false,
      theme: null,
      role: "owner",
      unread: 0,
      mentions: 0,
      lastSeq: 0,
      lastReadSeq: 0,
      handle: `${room.id}@chat.example`,
      url: `https://chat.example/rooms/${room.id}`,
    });
    expect(room.id).toMatch(uuidV7);
    expect([...room.permissions].sort()).toEqual([...allActions].sort());
    expect(Date.parse(room.createdAt)).toBeGreaterThan(Date.now() - 60_000);

    expect(await getRoom(room.id, alice)).toMatchObject({ id: room.id, name: "General", role: "owner" });
    const members = await membersOf(room.id, alice);
    expect(members.map((m) => [m.actor.id, m.role])).toEqual([[alice.id, "owner"]]);
    expect(members[0]?.actor.handle).toBe(`${alice.username}@chat.example`);
    const joined = await eventsOf(room.id, "member.joined");
    expect(joined).toHaveLength(1);
  });

  it("defaults the topic to empty and creates private rooms", async () => {
    const alice = await signUp("creator");
    const room = await createRoom(alice, { name: "Secret", visibility: "private" });
    expect(room).toMatchObject({ name: "Secret", topic: "", visibility: "private", role: "owner" });
  });

  it("cleans bidi overrides, zero-width characters and extra spaces out of the name and topic", async () => {
    const alice = await signUp("creator");
    const room = await createRoom(alice, {
      name: "  \u202Egen\u200Beral\u2066   chat\u200D\u200D ",
      topic: "line one\u202E  \n\n\n\nline\uFEFF two ",
      visibility: "public",
    });
    expect(room.name).toBe("general chat");
    expect(room.topic).toBe("line one\n\nline two");
    expect((await getRoom(room.id, alice)).name).toBe("general chat");
  });

  it("counts the name's 100 characters and the topic's 1000 in code points", async () => {
    const alice = await signUp("creator");
    const name = "😀".repeat(100);
    const topic = "ü".repeat(1000);
    const room = await createRoom(alice, { name, topic, visibility: "public" });
    expect(room.name).toBe(name);
    expect(room.topic).toBe(topic);
  });

  it.each([
    ["an empty name", { name: "", visibility: "public" }, "name"],
    ["a name of invisible characters only", { name: "\u200B\u202E\u2066 \uFEFF", visibility: "public" }, "name"],
    ["a name of 101 characters", { name: "😀".repeat(101), visibility: "public" }, "name"],
    ["a huge name", { name: "a".repeat(5000), visibility: "public" }, "name"],
    ["a topic of 1001 characters", { name: "ok", topic: "t".repeat(1001), visibility: "public" }, "topic"],
    ["an unknown visibility", { name: "ok", visibility: "secret" }, "visibility"],
    ["no visibility", { name: "ok" }, "visibility"],
    ["a name that is not a string", { name: 42, visibility: "public" }, "name"],
  ])("refuses %s with 422 and creates nothing", async (_, body, field) => {
    const alice = await signUp("creator");
    const before = await countRooms();
    const problem = await expectProblem(await call("POST", "/rooms", alice, body), 422, "validation_failed");
    expect(problem.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: field })]));
    expect(await countRooms()).toBe(before);
    expect(await myRooms(alice)).toEqual([]);
  });

  it("refuses an anonymous caller", async () => {
    const before = await countRooms();
    await expectProblem(
      await t.request("/api/v1/rooms", json("POST", { name: "x", visibility: "public" })),
      401,
      "unauthenticated",
    );
    expect(await countRooms()).toBe(before);
  });
});

// ---- Ids ----

describe("room ids in the path", () => {
  const malformed = [
    ["conv1", "conv1"],
    ["../x", encodeURIComponent("../x")],
    ["a 10 KB string", "a".repeat(10 * 1024)],
    ["a UUIDv4", "0b5f3c3e-8f0a-4c1e-9d2b-6a7e8f9a0b1c"],
  ] as const;

  it.each(malformed)("refuses %s with 422 validation_failed on the path, before any lookup", async (_, id) => {
    const alice = await signUp("ids");
    for (const [method, path, body] of [
      ["GET", `/rooms/${id}`, undefined],
      ["GET", `/rooms/${id}/members`, undefined],
      ["POST", `/rooms/${id}/join`, undefined],
      ["PATCH", `/rooms/${id}`, { topic: "x" }],
      ["DELETE", `/rooms/${id}`, undefined],
      ["POST", `/rooms/${id}/invites`, {}],
    ] as const) {
      const problem = await expectProblem(await call(method, path, alice, body), 422, "validation_failed");
      expect(problem.details, `${method} ${path.slice(0, 60)}`).toEqual([
        expect.objectContaining({ path: "roomId", in: "path parameters" }),
      ]);
    }
  });

  it("answers 404 room_not_found for a well-formed UUIDv7 that names no room", async () => {
    const alice = await signUp("ids");
    const id = uuidv7();
    await expectProblem(await call("GET", `/rooms/${id}`, alice), 404, "room_not_found");
    await expectProblem(await call("POST", `/rooms/${id}/join`, alice), 404, "room_not_found");
    await expectProblem(await call("GET", `/rooms/${id}/members`, alice), 404, "room_not_found");
    expect(await myRooms(alice)).toEqual([]);
  });
});

// ---- Visibility ----

describe("a private room, to an outsider", () => {
  it("is indistinguishable from a room that does not exist, whatever the request, and nothing changes", async () => {
    const owner = await signUp("priv_owner");
    const outsider = await signUp("priv_outsider");
    const room = await createRoom(owner, { name: "Hidden", visibility: "private" });
    const invite = await ok<{ id: string }>(await call("POST", `/rooms/${room.id}/invites`, owner, {}), 201);
    const before = await roomState(room.id);
    const missing = uuidv7();

    const requests = (id: string): [string, string, unknown][] => [
      ["GET", `/rooms/${id}`, undefined],
      ["GET", `/rooms/${id}/members`, undefined],
      ["POST", `/rooms/${id}/join`, undefined],
      ["POST", `/rooms/${id}/invites`, {}],
      ["GET", `/rooms/${id}/invites`, undefined],
      ["DELETE", `/rooms/${id}/invites/${invite.id}`, undefined],
      ["PATCH", `/rooms/${id}`, { name: "Mine now" }],
      ["DELETE", `/rooms/${id}`, undefined],
      ["POST", `/rooms/${id}/leave`, undefined],
      ["PATCH", `/rooms/${id}/members/me`, { nickname: "x" }],
      ["GET", `/rooms/${id}/bans`, undefined],
      ["PUT", `/rooms/${id}/bans/${owner.id}`, {}],
      ["POST", `/rooms/${id}/members/${owner.id}/kick`, {}],
      ["PUT", `/rooms/${id}/members/${owner.id}/role`, { role: "member" }],
      ["GET", `/rooms/${id}/moderation-log`, undefined],
    ];
    const hidden = requests(room.id);
    const absent = requests(missing);
    for (const [i, [method, path, body]] of hidden.entries()) {
      const [, absentPath, absentBody] = absent[i] ?? [];
      const answer = await problemShape(await call(method, path, outsider, body));
      const reference = await problemShape(await call(method, absentPath ?? "", outsider, absentBody));
      expect(answer, `${method} ${path}`).toMatchObject({ status: 404, code: "room_not_found" });
      expect(answer, `${method} ${path}`).toEqual(reference);
    }

    expect(await roomState(room.id)).toEqual(before);
    expect(await myRooms(outsider)).toEqual([]);
    expect(await getRoom(room.id, owner)).toMatchObject({ name: "Hidden", visibility: "private" });
  });
});

describe("a public room, to an outsider", () => {
  it("can be read (role null, no permissions) but not its members or moderation", async () => {
    const owner = await signUp("pub_owner");
    const outsider = await signUp("pub_outsider");
    const room = await createRoom(owner, { name: "Lobby", topic: "Say hi", visibility: "public" });
    const before = await roomState(room.id);

    expect(await getRoom(room.id, outsider)).toMatchObject({
      id: room.id,
      name: "Lobby",
      topic: "Say hi",
      role: null,
      permissions: [],
    });
    for (const [method, path, body] of [
      ["GET", `/rooms/${room.id}/members`, undefined],
      ["POST", `/rooms/${room.id}/leave`, undefined],
      ["PATCH", `/rooms/${room.id}/members/me`, { nickname: "x" }],
      ["PATCH", `/rooms/${room.id}`, { topic: "mine" }],
      ["DELETE", `/rooms/${room.id}`, undefined],
      ["GET", `/rooms/${room.id}/bans`, undefined],
      ["PUT", `/rooms/${room.id}/bans/${owner.id}`, {}],
      ["POST", `/rooms/${room.id}/members/${owner.id}/kick`, {}],
      ["PUT", `/rooms/${room.id}/members/${owner.id}/role`, { role: "member" }],
      ["GET", `/rooms/${room.id}/moderation-log`, undefined],
      ["POST", `/rooms/${room.id}/invites`, {}],
      ["GET", `/rooms/${room.id}/invites`, undefined],
    ] as const) {
      const res = await call(method, path, outsider, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      await expectProblem(res, 403, "not_a_member");
    }
    expect(await roomState(room.id)).toEqual(before);
  });

  it("can be joined: the outsider becomes a member", async () => {
    const owner = await signUp("pub_owner");
    const outsider = await signUp("pub_outsider");
    const room = await createRoom(owner, { name: "Lobby", visibility: "public" });
    const joined = await joinRoom(room.id, outsider);
    expect(joined).toMatchObject({ id: room.id, role: "member", permissions: [] });
    expect((await membersOf(room.id, outsider)).map((m) => [m.actor.id, m.role])).toEqual([
      [owner.id, "owner"],
      [outsider.id, "member"],
    ]);
  });
});

describe("markup in names", () => {
  it("stores and serves a room name and a nickname as the same inert text", async () => {
    const markup = "<img src=1 onerror=alert(1)>";
    const owner = await signUp("markup");
    const created = await ok<RoomBody>(
      await call("POST", "/rooms", owner, { name: markup, visibility: "public" }),
      201,
    );
    expect(created.name).toBe(markup);

    const res = await call("GET", `/rooms/${created.id}`, owner);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(((await res.json()) as RoomBody).name).toBe(markup);
    expect((await myRooms(owner)).find((r) => r.id === created.id)?.name).toBe(markup);
    const [stored] = await t.testDatabase.db.select().from(rooms).where(eq(rooms.id, created.id));
    expect(stored?.name).toBe(markup);

    const member = await ok<MemberBody>(
      await call("PATCH", `/rooms/${created.id}/members/me`, owner, { nickname: markup }),
    );
    expect(member.nickname).toBe(markup);
    const listed = await call("GET", `/rooms/${created.id}/members`, owner);
    expect(listed.headers.get("content-type")).toMatch(/^application\/json/);
    expect(((await listed.json()) as { members: MemberBody[] }).members[0]?.nickname).toBe(markup);
  });
});

// ---- Directory and lists ----

describe("the directory", () => {
  /** Five public rooms with 5, 4, 3, 2 and 1 members, plus rooms that must not be listed. */
  let listed: { name: string; members: number }[];
  let viewer: Client;
  let alphaId: string;

  beforeAll(async () => {
    const owner = await signUp("dir_owner");
    viewer = await signUp("dir_viewer");
    const joiners = await Promise.all([signUp("dir_j"), signUp("dir_j"), signUp("dir_j")]);
    listed = [
      { name: "Dir7 Alpha", members: 5 },
      { name: "dir7 beta", members: 4 },
      { name: "DIR7 gamma", members: 3 },
      { name: "Dir7 100% real", members: 2 },
      { name: "Dir7 under_score", members: 1 },
    ];
    // Created in reverse so that creation order is not the answer's order.
    for (const entry of [...listed].reverse()) {
      const room = await createRoom(owner, { name: entry.name, visibility: "public" });
      if (entry.name === "Dir7 Alpha") alphaId = room.id;
      const others = [viewer, ...joiners].slice(0, entry.members - 1);
      for (const who of others) await joinRoom(room.id, who);
    }
    await createRoom(owner, { name: "Dir7 hidden", visibility: "private" });
    const deleted = await createRoom(owner, { name: "Dir7 deleted", visibility: "public" });
    expect((await call("DELETE", `/rooms/${deleted.id}`, owner)).status).toBe(204);
    const turnedPrivate = await createRoom(owner, { name: "Dir7 turned private", visibility: "public" });
    expect((await call("PATCH", `/rooms/${turnedPrivate.id}`, owner, { visibility: "private" })).status).toBe(200);
    // No endpoint creates direct conversations yet: write one as the DM code will. It is marked
    // public so that only the `direct` flag can keep it out of the directory.
    await t.testDatabase.db.insert(rooms).values({
      id: uuidv7(),
      name: "Dir7 direct",
      visibility: "public",
      direct: true,
      directKey: `${owner.id}:${viewer.id}`,
      createdBy: owner.id,
    });
  });

  async function directory(query: string): Promise<RoomBody[]> {
    return (await ok<{ rooms: RoomBody[] }>(await call("GET", `/rooms/directory?${query}`, viewer))).rooms;
  }

  it("lists public, non-direct, live rooms only, largest first, with member counts", async () => {
    const found = await directory("q=dir7");
    expect(found.map((r) => ({ name: r.name, members: r.members }))).toEqual(listed);
  });

  it("shows the caller's role in each room, null where they are not a member", async () => {
    const found = await directory("q=dir7");
    expect(found.map((r) => r.role)).toEqual(["member", "member", "member", "member", null]);
    expect(found[0]?.id).toBe(alphaId);
  });

  it("searches names case-insensitively", async () => {
    expect((await directory("q=DIR7%20ALPHA")).map((r) => r.name)).toEqual(["Dir7 Alpha"]);
    expect((await directory("q=Gamma")).map((r) => r.name)).toEqual(["DIR7 gamma"]);
  });

  it("takes % and _ in the query literally", async () => {
    const percent = await directory(`q=${encodeURIComponent("%")}`);
    expect(percent.map((r) => r.name)).toContain("Dir7 100% real");
    for (const r of percent) expect(r.name).toContain("%");
    const underscore = await directory("q=_");
    expect(underscore.map((r) => r.name)).toContain("Dir7 under_score");
    for (const r of underscore) expect(r.name).toContain("_");
    // As wildcards these would match every Dir7 room.
    expect(await directory(`q=${encodeURIComponent("dir7%")}`)).toEqual([]);
    expect(await directory(`q=${encodeURIComponent("dir7_")}`)).toEqual([]);
    expect(await directory(`q=${encodeURIComponent("dir7\\")}`)).toEqual([]);
  });

  it("pages with limit and offset", async () => {
    const names = listed.map((r) => r.name);
    expect((await directory("q=dir7&limit=2")).map((r) => r.name)).toEqual(names.slice(0, 2));
    expect((await directory("q=dir7&limit=2&offset=2")).map((r) => r.name)).toEqual(names.slice(2, 4));
    expect((await directory("q=dir7&limit=2&offset=4")).map((r) => r.name)).toEqual(names.slice(4));
    expect(await directory("q=dir7&offset=5")).toEqual([]);
  });

  it.each(["limit=0", "limit=101", "offset=-1", "limit=abc", `q=${"x".repeat(101)}`])(
    "refuses %s with 422",
    async (query) => {
      await expectProblem(await call("GET", `/rooms/directory?${query}`, viewer), 422, "validation_failed");
    },
  );
});

describe("the caller's room list", () => {
  it("shows the caller's rooms with their role and zero unread and mentions, and nobody else's", async () => {
    const me = await signUp("lister");
    const other = await signUp("lister_other");
    const mine = await createRoom(me, { name: "Mine", visibility: "private" });
    const joined = await createRoom(other, { name: "Joined", visibility: "public" });
    const promoted = await createRoom(other, { name: "Promoted", visibility: "public" });
    const notMine = await createRoom(other, { name: "Not mine", visibility: "public" });
    await joinRoom(joined.id, me);
    await joinRoom(promoted.id, me);
    await setRole(promoted.id, other, me, "moderator");

    const list = await myRooms(me);
    expect(list.map((r) => [r.id, r.name, r.role]).sort()).toEqual(
      [
        [mine.id, "Mine", "owner"],
        [joined.id, "Joined", "member"],
        [promoted.id, "Promoted", "moderator"],
      ].sort(),
    );
    for (const r of list) expect(r).toMatchObject({ unread: 0, mentions: 0, lastReadSeq: 0 });
    expect(list.map((r) => r.id)).not.toContain(notMine.id);
    expect((await myRooms(other)).map((r) => r.id)).not.toContain(mine.id);
  });
});

// ---- Changing and deleting ----

describe("changing a room", () => {
  it("lets the owner set the name, topic, theme and visibility", async () => {
    const owner = await signUp("patch_owner");
    const room = await createRoom(owner, { name: "Before", visibility: "public" });
    const updated = await ok<RoomBody>(
      await call("PATCH", `/rooms/${room.id}`, owner, {
        name: " After\u202E ",
        topic: "New topic",
        theme: "#3366FF",
        visibility: "private",
      }),
    );
    expect(updated).toMatchObject({
      id: room.id,
      name: "After",
      topic: "New topic",
      theme: "#3366ff",
      visibility: "private",
      role: "owner",
    });
    expect(await getRoom(room.id, owner)).toMatchObject({ name: "After", theme: "#3366ff", visibility: "private" });
    const cleared = await ok<RoomBody>(await call("PATCH", `/rooms/${room.id}`, owner, { theme: null }));
    expect(cleared).toMatchObject({ theme: null, name: "After", topic: "New topic" });
    expect(await eventsOf(room.id, "room.updated")).toHaveLength(2);
  });

  it("lets an admin do the same", async () => {
    const owner = await signUp("patch_owner");
    const admin = await signUp("patch_admin");
    const room = await createRoom(owner, { name: "Before", visibility: "public" });
    await joinRoom(room.id, admin);
    await setRole(room.id, owner, admin, "admin");
    const updated = await ok<RoomBody>(
      await call("PATCH", `/rooms/${room.id}`, admin, { name: "By admin", theme: "#000000", visibility: "private" }),
    );
    expect(updated).toMatchObject({ name: "By admin", theme: "#000000", visibility: "private", role: "admin" });
  });

  it("lets a moderator set the topic but not rename; a refused change changes nothing at all", async () => {
    const owner = await signUp("patch_owner");
    const moderator = await signUp("patch_mod");
    const room = await createRoom(owner, { name: "Stays", topic: "Old", visibility: "public" });
    await joinRoom(room.id, moderator);
    await setRole(room.id, owner, moderator, "moderator");

    const topic = await ok<RoomBody>(await call("PATCH", `/rooms/${room.id}`, moderator, { topic: "Moderated" }));
    expect(topic).toMatchObject({ name: "Stays", topic: "Moderated", role: "moderator" });

    const before = await roomState(room.id);
    await expectProblem(await call("PATCH", `/rooms/${room.id}`, moderator, { name: "Renamed" }), 403, "forbidden");
    // Both fields in one request: the topic (allowed) must not be written either.
    await expectProblem(
      await call("PATCH", `/rooms/${room.id}`, moderator, { name: "Renamed", topic: "Sneaked in" }),
      403,
      "forbidden",
    );
    await expectProblem(await call("PATCH", `/rooms/${room.id}`, moderator, { theme: "#ff0000" }), 403, "forbidden");
    await expectProblem(
      await call("PATCH", `/rooms/${room.id}`, moderator, { visibility: "private" }),
      403,
      "forbidden",
    );
    expect(await roomState(room.id)).toEqual(before);
    expect(await getRoom(room.id, owner)).toMatchObject({ name: "Stays", topic: "Moderated", theme: null });
  });

  it("lets a plain member neither rename nor set the topic", async () => {
    const owner = await signUp("patch_owner");
    const member = await signUp("patch_member");
    const room = await createRoom(owner, { name: "Stays", topic: "Old", visibility: "public" });
    await joinRoom(room.id, member);
    const before = await roomState(room.id);
    await expectProblem(await call("PATCH", `/rooms/${room.id}`, member, { topic: "New" }), 403, "forbidden");
    await expectProblem(await call("PATCH", `/rooms/${room.id}`, member, { name: "New" }), 403, "forbidden");
    expect(await roomState(room.id)).toEqual(before);
  });

  it.each([
    [{ theme: "red" }],
    [{ theme: "#12345" }],
    [{ name: "" }],
    [{ name: "x".repeat(101) }],
    [{ topic: "x".repeat(1001) }],
    [{ visibility: "hidden" }],
  ])("refuses %j with 422 and changes nothing", async (body) => {
    const owner = await signUp("patch_owner");
    const room = await createRoom(owner, { name: "Stays", visibility: "public" });
    const before = await roomState(room.id);
    await expectProblem(await call("PATCH", `/rooms/${room.id}`, owner, body), 422, "validation_failed");
    expect(await roomState(room.id)).toEqual(before);
  });
});

describe("deleting a room", () => {
  it("is for the owner only: an admin is forbidden and nothing changes", async () => {
    const owner = await signUp("del_owner");
    const admin = await signUp("del_admin");
    const room = await createRoom(owner, { name: "Doomed", visibility: "public" });
    await joinRoom(room.id, admin);
    await setRole(room.id, owner, admin, "admin");
    const before = await roomState(room.id);
    await expectProblem(await call("DELETE", `/rooms/${room.id}`, admin), 403, "forbidden");
    expect(await roomState(room.id)).toEqual(before);
  });

  it("hides the room from everyone, empties everyone's list and appends room.deleted", async () => {
    const owner = await signUp("del_owner");
    const member = await signUp("del_member");
    const outsider = await signUp("del_outsider");
    const room = await createRoom(owner, { name: "Doomed room", visibility: "public" });
    await joinRoom(room.id, member);
    const invite = await ok<{ code: string }>(await call("POST", `/rooms/${room.id}/invites`, owner, {}), 201);

    const res = await call("DELETE", `/rooms/${room.id}`, owner);
    expect(res.status, await peek(res)).toBe(204);

    for (const who of [owner, member, outsider]) {
      await expectProblem(await call("GET", `/rooms/${room.id}`, who), 404, "room_not_found");
      expect((await myRooms(who)).map((r) => r.id)).not.toContain(room.id);
    }
    await expectProblem(await call("GET", `/rooms/${room.id}/members`, member), 404, "room_not_found");
    await expectProblem(await call("POST", `/rooms/${room.id}/join`, outsider), 404, "room_not_found");
    await expectProblem(await call("DELETE", `/rooms/${room.id}`, owner), 404, "room_not_found");
    await expectProblem(await call("GET", `/invites/${invite.code}`, outsider), 404, "invite_not_found");
    const directory = await ok<{ rooms: RoomBody[] }>(
      await call("GET", `/rooms/directory?q=${encodeURIComponent("Doomed room")}`, outsider),
    );
    expect(directory.rooms).toEqual([]);

    const deleted = await deletionsOf(room.id);
    expect(deleted.map((e) => e.actorId).sort()).toEqual([owner.id, member.id].sort());
    expect(deleted.every((e) => e.roomId === null)).toBe(true);
    expect(deleted[0]?.data).toEqual({ roomId: room.id });
  });
});

// ---- Membership ----

describe("joining and leaving", () => {
  it("joining twice is a no-op", async () => {
    const owner = await signUp("join_owner");
    const joiner = await signUp("joiner");
    const room = await createRoom(owner, { name: "Twice", visibility: "public" });
    await joinRoom(room.id, joiner);
    const before = await roomState(room.id);
    expect(await joinRoom(room.id, joiner)).toMatchObject({ role: "member" });
    expect(await roomState(room.id)).toEqual(before);
    expect(await membersOf(room.id, joiner)).toHaveLength(2);
  });

  it("an owner or admin joining their own room keeps their role", async () => {
    const owner = await signUp("join_owner");
    const room = await createRoom(owner, { name: "Mine", visibility: "public" });
    expect(await joinRoom(room.id, owner)).toMatchObject({ role: "owner" });
    expect((await membersOf(room.id, owner)).map((m) => m.role)).toEqual(["owner"]);
  });

  it("ten concurrent joins by one user give one membership and one member.joined event", async () => {
    const owner = await signUp("join_owner");
    const joiner = await signUp("racer");
    const room = await createRoom(owner, { name: "Race", visibility: "public" });
    const answers = await Promise.all(Array.from({ length: 10 }, () => call("POST", `/rooms/${room.id}/join`, joiner)));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    const members = await membersOf(room.id, owner);
    expect(members.filter((m) => m.actor.id === joiner.id)).toHaveLength(1);
    expect(members).toHaveLength(2);
    const joined = (await eventsOf(room.id, "member.joined")).filter(
      (e) => (e.data as { member: { actor: { id: string } } }).member.actor.id === joiner.id,
    );
    expect(joined).toHaveLength(1);
  });

  it("a private room cannot be joined without an invite", async () => {
    const owner = await signUp("join_owner");
    const joiner = await signUp("joiner");
    const room = await createRoom(owner, { name: "Closed", visibility: "private" });
    const before = await roomState(room.id);
    await expectProblem(await call("POST", `/rooms/${room.id}/join`, joiner), 404, "room_not_found");
    expect(await roomState(room.id)).toEqual(before);
  });

  it("a member can leave: gone from the members and from their list, and a second leave is not_a_member", async () => {
    const owner = await signUp("leave_owner");
    const leaver = await signUp("leaver");
    const room = await createRoom(owner, { name: "Exit", visibility: "public" });
    await joinRoom(room.id, leaver);
    const res = await call("POST", `/rooms/${room.id}/leave`, leaver);
    expect(res.status, await peek(res)).toBe(204);
    expect((await membersOf(room.id, owner)).map((m) => m.actor.id)).toEqual([owner.id]);
    expect((await myRooms(leaver)).map((r) => r.id)).not.toContain(room.id);
    const left = await eventsOf(room.id, "member.left");
    expect(left.map((e) => e.data)).toEqual([{ roomId: room.id, actorId: leaver.id, reason: "left", by: null }]);
    await expectProblem(await call("POST", `/rooms/${room.id}/leave`, leaver), 403, "not_a_member");
  });

  it("the owner cannot leave while others remain (409) and nothing changes", async () => {
    const owner = await signUp("leave_owner");
    const member = await signUp("leave_member");
    const room = await createRoom(owner, { name: "Held", visibility: "public" });
    await joinRoom(room.id, member);
    const before = await roomState(room.id);
    await expectProblem(await call("POST", `/rooms/${room.id}/leave`, owner), 409, "conflict");
    expect(await roomState(room.id)).toEqual(before);
    expect(await getRoom(room.id, owner)).toMatchObject({ role: "owner" });
  });

  it("an owner alone leaving deletes the room", async () => {
    const owner = await signUp("leave_owner");
    const other = await signUp("leave_other");
    const room = await createRoom(owner, { name: "Solo", visibility: "public" });
    const res = await call("POST", `/rooms/${room.id}/leave`, owner);
    expect(res.status, await peek(res)).toBe(204);
    await expectProblem(await call("GET", `/rooms/${room.id}`, owner), 404, "room_not_found");
    await expectProblem(await call("POST", `/rooms/${room.id}/join`, other), 404, "room_not_found");
    expect(await myRooms(owner)).toEqual([]);
    expect(await deletionsOf(room.id)).toHaveLength(1);
  });
});

describe("one's own nickname and colour", () => {
  it("sets, shows and clears them per room", async () => {
    const owner = await signUp("nick_owner");
    const member = await signUp("nick_member");
    const room = await createRoom(owner, { name: "Nicks", visibility: "public" });
    const other = await createRoom(owner, { name: "Other", visibility: "public" });
    await joinRoom(room.id, member);
    await joinRoom(other.id, member);

    const set = await ok<MemberBody>(
      await call("PATCH", `/rooms/${room.id}/members/me`, member, {
        nickname: "  Ali\u200Bce\u202E ",
        color: "#AABBCC",
      }),
    );
    expect(set).toMatchObject({ nickname: "Alice", color: "#aabbcc", role: "member" });
    expect(set.actor.id).toBe(member.id);
    const listed = (await membersOf(room.id, owner)).find((m) => m.actor.id === member.id);
    expect(listed).toMatchObject({ nickname: "Alice", color: "#aabbcc" });
    // Per room: the other room is untouched.
    expect((await membersOf(other.id, owner)).find((m) => m.actor.id === member.id)).toMatchObject({
      nickname: null,
      color: null,
    });

    // Only the nickname: the colour stays.
    const renamed = await ok<MemberBody>(
      await call("PATCH", `/rooms/${room.id}/members/me`, member, { nickname: "Ally" }),
    );
    expect(renamed).toMatchObject({ nickname: "Ally", color: "#aabbcc" });

    const cleared = await ok<MemberBody>(
      await call("PATCH", `/rooms/${room.id}/members/me`, member, { nickname: null, color: null }),
    );
    expect(cleared).toMatchObject({ nickname: null, color: null });
    expect((await membersOf(room.id, owner)).find((m) => m.actor.id === member.id)).toMatchObject({
      nickname: null,
      color: null,
    });
  });

  it.each([
    [{ color: "red" }],
    [{ color: "#abc" }],
    [{ color: "#GGGGGG" }],
    [{ nickname: "" }],
    [{ nickname: "\u200B\u202E" }],
    [{ nickname: "n".repeat(65) }],
  ])("refuses %j with 422 and changes nothing", async (body) => {
    const owner = await signUp("nick_owner");
    const room = await createRoom(owner, { name: "Nicks", visibility: "public" });
    await ok(await call("PATCH", `/rooms/${room.id}/members/me`, owner, { nickname: "Boss", color: "#010203" }));
    const before = await roomState(room.id);
    await expectProblem(await call("PATCH", `/rooms/${room.id}/members/me`, owner, body), 422, "validation_failed");
    expect(await roomState(room.id)).toEqual(before);
  });
});
