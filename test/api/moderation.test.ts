import { and, eq, isNull, max } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events, invites, moderationLog, roomBans, roomMembers, rooms } from "../../src/db/schema.ts";
import { createTestInstance, type TestInstance } from "../helpers/instance.ts";
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

interface Profile {
  id: string;
  handle: string;
}

interface MemberBody {
  actor: Profile;
  role: string;
}

interface LogEntry {
  id: string;
  action: string;
  actor: Profile | null;
  target: Profile | null;
  reason: string | null;
  data: unknown;
  createdAt: string;
}

async function createRoom(owner: Client, visibility: "public" | "private" = "public"): Promise<string> {
  return (await ok<{ id: string }>(await call("POST", "/rooms", owner, { name: "Moderated", visibility }), 201)).id;
}

async function join(roomId: string, ...who: Client[]): Promise<void> {
  for (const w of who) await ok(await call("POST", `/rooms/${roomId}/join`, w));
}

async function setRole(roomId: string, by: Client, target: Client, role: string): Promise<void> {
  await ok(await call("PUT", `/rooms/${roomId}/members/${target.id}/role`, by, { role }), 204);
}

async function roles(roomId: string, who: Client): Promise<Record<string, string>> {
  const { members } = await ok<{ members: MemberBody[] }>(await call("GET", `/rooms/${roomId}/members`, who));
  return Object.fromEntries(members.map((m) => [m.actor.id, m.role]));
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

// ---- The authorization matrix ----

type Caller = "outsider" | "member" | "moderator" | "admin" | "owner" | "banned";
const callers: Caller[] = ["outsider", "member", "moderator", "admin", "owner", "banned"];
type Cast = Record<Caller | "target", Client>;

interface MatrixAction {
  request(roomId: string, cast: Cast, visibility: "public" | "private"): [string, string, unknown?];
  /** The roles that may, from the permission table in src/rooms/permissions.ts. */
  allowed: readonly Caller[];
  status: number;
  /** Whether an allowed request only reads (the room's state must then stay as it was). */
  readOnly?: boolean;
  /** Checks the effect of an allowed request. */
  effect(roomId: string, cast: Cast, res: Response, visibility: "public" | "private"): Promise<void>;
}

const roomAs = async (roomId: string, who: Client) =>
  await ok<{ name: string; topic: string; theme: string | null; visibility: string }>(
    await call("GET", `/rooms/${roomId}`, who),
  );

const matrix: Record<string, MatrixAction> = {
  rename: {
    request: (id) => ["PATCH", `/rooms/${id}`, { name: "Renamed" }],
    allowed: ["owner", "admin"],
    status: 200,
    effect: async (id, cast) => expect((await roomAs(id, cast.owner)).name).toBe("Renamed"),
  },
  "set topic": {
    request: (id) => ["PATCH", `/rooms/${id}`, { topic: "New topic" }],
    allowed: ["owner", "admin", "moderator"],
    status: 200,
    effect: async (id, cast) => expect((await roomAs(id, cast.owner)).topic).toBe("New topic"),
  },
  "set theme": {
    request: (id) => ["PATCH", `/rooms/${id}`, { theme: "#123abc" }],
    allowed: ["owner", "admin"],
    status: 200,
    effect: async (id, cast) => expect((await roomAs(id, cast.owner)).theme).toBe("#123abc"),
  },
  "set visibility": {
    request: (id, _, visibility) => [
      "PATCH",
      `/rooms/${id}`,
      { visibility: visibility === "public" ? "private" : "public" },
    ],
    allowed: ["owner", "admin"],
    status: 200,
    effect: async (id, cast, _, visibility) =>
      expect((await roomAs(id, cast.owner)).visibility).toBe(visibility === "public" ? "private" : "public"),
  },
  "create invite": {
    request: (id) => ["POST", `/rooms/${id}/invites`, {}],
    allowed: ["owner", "admin", "moderator"],
    status: 201,
    effect: async (id, _, res) => {
      const invite = (await res.json()) as { roomId: string; code: string };
      expect(invite.roomId).toBe(id);
      expect(invite.code).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    },
  },
  "list invites": {
    request: (id) => ["GET", `/rooms/${id}/invites`],
    allowed: ["owner", "admin", "moderator"],
    status: 200,
    readOnly: true,
    effect: async (_, __, res) => expect(((await res.json()) as { invites: unknown[] }).invites).toHaveLength(1),
  },
  "kick a member": {
    request: (id, cast) => ["POST", `/rooms/${id}/members/${cast.target.id}/kick`, { reason: "matrix" }],
    allowed: ["owner", "admin", "moderator"],
    status: 204,
    effect: async (id, cast) => expect((await roles(id, cast.owner))[cast.target.id]).toBeUndefined(),
  },
  "ban a member": {
    request: (id, cast) => ["PUT", `/rooms/${id}/bans/${cast.target.id}`, { reason: "matrix" }],
    allowed: ["owner", "admin", "moderator"],
    status: 204,
    effect: async (id, cast) => {
      expect((await roles(id, cast.owner))[cast.target.id]).toBeUndefined();
      const { bans } = await ok<{ bans: { actor: Profile }[] }>(await call("GET", `/rooms/${id}/bans`, cast.owner));
      expect(bans.map((b) => b.actor.id).sort()).toEqual([cast.banned.id, cast.target.id].sort());
    },
  },
  "list bans": {
    request: (id) => ["GET", `/rooms/${id}/bans`],
    allowed: ["owner", "admin", "moderator"],
    status: 200,
    readOnly: true,
    effect: async (_, cast, res) => {
      const { bans } = (await res.json()) as { bans: { actor: Profile; reason: string }[] };
      expect(bans.map((b) => [b.actor.id, b.reason])).toEqual([[cast.banned.id, "setup"]]);
    },
  },
  "change a member's role": {
    request: (id, cast) => ["PUT", `/rooms/${id}/members/${cast.target.id}/role`, { role: "moderator" }],
    allowed: ["owner", "admin"],
    status: 204,
    effect: async (id, cast) => expect((await roles(id, cast.owner))[cast.target.id]).toBe("moderator"),
  },
  "view the moderation log": {
    request: (id) => ["GET", `/rooms/${id}/moderation-log`],
    allowed: ["owner", "admin", "moderator"],
    status: 200,
    readOnly: true,
    effect: async (_, cast, res) => {
      const { entries } = (await res.json()) as { entries: LogEntry[] };
      expect(entries.map((e) => [e.action, e.target?.id ?? null, e.reason])).toContainEqual([
        "member.banned",
        cast.banned.id,
        "setup",
      ]);
    },
  },
  "delete the room": {
    request: (id) => ["DELETE", `/rooms/${id}`],
    allowed: ["owner"],
    status: 204,
    effect: async (id, cast) => {
      await expectProblem(await call("GET", `/rooms/${id}`, cast.owner), 404, "room_not_found");
    },
  },
};

describe("the authorization matrix", () => {
  let cast: Cast;

  beforeAll(async () => {
    const entries = await Promise.all(
      [...callers, "target" as const].map(async (name) => [name, await signUp(`mx_${name}`)] as const),
    );
    cast = Object.fromEntries(entries) as Cast;
  });

  /** A fresh room with one of each role, a plain member as the target, a banned user and an invite. */
  async function fixture(visibility: "public" | "private"): Promise<string> {
    const id = await createRoom(cast.owner);
    await Promise.all([cast.admin, cast.moderator, cast.member, cast.target, cast.banned].map((who) => join(id, who)));
    await setRole(id, cast.owner, cast.admin, "admin");
    await setRole(id, cast.owner, cast.moderator, "moderator");
    await ok(await call("PUT", `/rooms/${id}/bans/${cast.banned.id}`, cast.owner, { reason: "setup" }), 204);
    await ok(await call("POST", `/rooms/${id}/invites`, cast.owner, {}), 201);
    if (visibility === "private") await ok(await call("PATCH", `/rooms/${id}`, cast.owner, { visibility }));
    return id;
  }

  /**
   * A fixture that no request has changed, kept between cells to save time: a cell takes it
   * and gives it back only when it has checked that the room's state is as before.
   */
  const unchanged: Partial<Record<"public" | "private", string>> = {};

  for (const visibility of ["public", "private"] as const) {
    describe(`in a ${visibility} room`, () => {
      for (const [name, action] of Object.entries(matrix)) {
        for (const caller of callers) {
          const outside = caller === "outsider" || caller === "banned";
          const expected = outside
            ? visibility === "public"
              ? { status: 403, code: "not_a_member" }
              : { status: 404, code: "room_not_found" }
            : action.allowed.includes(caller)
              ? { status: action.status }
              : { status: 403, code: "forbidden" };
          const title = `${name} by ${caller}: ${expected.status}${expected.code ? ` ${expected.code}` : ""}`;
          it(title, async () => {
            const id = unchanged[visibility] ?? (await fixture(visibility));
            delete unchanged[visibility];
            const before = await roomState(id);
            const [method, path, body] = action.request(id, cast, visibility);
            const res = await call(method, path, cast[caller], body);
            if (expected.code) {
              await expectProblem(res, expected.status, expected.code);
            } else {
              expect(res.status, await peek(res)).toBe(expected.status);
              await action.effect(id, cast, res, visibility);
              if (!action.readOnly) return;
            }
            expect(await roomState(id)).toEqual(before);
            unchanged[visibility] = id;
          });
        }
      }
    });
  }
});

// ---- Roles ----

describe("roles", () => {
  let owner: Client;
  let admin: Client;
  let admin2: Client;
  let moderator: Client;
  let member: Client;
  let outsider: Client;
  let roomId: string;

  beforeAll(async () => {
    [owner, admin, admin2, moderator, member, outsider] = await Promise.all([
      signUp("ro_owner"),
      signUp("ro_admin"),
      signUp("ro_admin"),
      signUp("ro_mod"),
      signUp("ro_member"),
      signUp("ro_outsider"),
    ]);
    roomId = await createRoom(owner);
    await join(roomId, admin, admin2, moderator, member);
  });

  it("the owner grants admin: the member list and a member.updated event show it", async () => {
    const before = (await t.testDatabase.db.select({ p: max(events.position) }).from(events))[0]?.p ?? 0;
    await setRole(roomId, owner, admin, "admin");
    await setRole(roomId, owner, admin2, "admin");
    expect(await roles(roomId, member)).toMatchObject({ [admin.id]: "admin", [admin2.id]: "admin" });
    const updated = (
      await t.testDatabase.db
        .select()
        .from(events)
        .where(and(eq(events.roomId, roomId), eq(events.type, "member.updated")))
        .orderBy(events.position)
    ).filter((e) => e.position > before);
    expect(updated.map((e) => (e.data as { member: MemberBody }).member)).toEqual([
      expect.objectContaining({ role: "admin", actor: expect.objectContaining({ id: admin.id }) }),
      expect.objectContaining({ role: "admin", actor: expect.objectContaining({ id: admin2.id }) }),
    ]);
  });

  it("an admin grants moderator, and takes it back", async () => {
    await setRole(roomId, admin, member, "moderator");
    expect((await roles(roomId, owner))[member.id]).toBe("moderator");
    await setRole(roomId, admin, member, "member");
    expect((await roles(roomId, owner))[member.id]).toBe("member");
    await setRole(roomId, admin, moderator, "moderator");
    expect((await roles(roomId, owner))[moderator.id]).toBe("moderator");
  });

  it.each([
    ["an admin grants admin", "admin", "member", "admin"],
    ["an admin changes the owner", "admin", "owner", "member"],
    ["an admin changes another admin", "admin", "admin2", "member"],
    ["an admin promotes another admin to owner", "admin", "admin2", "owner"],
    ["an admin hands over ownership", "admin", "member", "owner"],
    ["a moderator grants moderator", "moderator", "member", "moderator"],
    ["a member demotes a moderator", "member", "moderator", "member"],
    ["the owner changes their own role", "owner", "owner", "admin"],
    ["an admin changes their own role", "admin", "admin", "moderator"],
    ["a moderator changes their own role", "moderator", "moderator", "member"],
  ])("refuses when %s (403 forbidden) and changes nothing", async (_, by, target, role) => {
    const who: Record<string, Client> = { owner, admin, admin2, moderator, member };
    const byClient = who[by] as Client;
    const targetClient = who[target] as Client;
    const before = await roomState(roomId);
    await expectProblem(
      await call("PUT", `/rooms/${roomId}/members/${targetClient.id}/role`, byClient, { role }),
      403,
      "forbidden",
    );
    expect(await roomState(roomId)).toEqual(before);
  });

  it("answers member_not_found for a target who is not a member, and not_a_member for an outsider", async () => {
    const before = await roomState(roomId);
    await expectProblem(
      await call("PUT", `/rooms/${roomId}/members/${outsider.id}/role`, owner, { role: "moderator" }),
      404,
      "member_not_found",
    );
    await expectProblem(
      await call("PUT", `/rooms/${roomId}/members/${uuidv7()}/role`, owner, { role: "moderator" }),
      404,
      "member_not_found",
    );
    await expectProblem(
      await call("PUT", `/rooms/${roomId}/members/${member.id}/role`, outsider, { role: "moderator" }),
      403,
      "not_a_member",
    );
    expect(await roomState(roomId)).toEqual(before);
  });

  it.each([
    ["an unknown role", "superuser", "member"],
    ["a malformed actor id", "moderator", "not-an-id"],
  ])("refuses %s with 422", async (_, role, target) => {
    const id = target === "member" ? member.id : target;
    const before = await roomState(roomId);
    await expectProblem(
      await call("PUT", `/rooms/${roomId}/members/${id}/role`, owner, { role }),
      422,
      "validation_failed",
    );
    expect(await roomState(roomId)).toEqual(before);
  });

  it("the owner hands over ownership with role owner and becomes an admin", async () => {
    await setRole(roomId, owner, admin, "owner");
    const now = await roles(roomId, member);
    expect(now[admin.id]).toBe("owner");
    expect(now[owner.id]).toBe("admin");
    expect(Object.values(now).filter((r) => r === "owner")).toHaveLength(1);
    const seen = await ok<{ role: string; permissions: string[] }>(await call("GET", `/rooms/${roomId}`, owner));
    expect(seen.role).toBe("admin");
    expect(seen.permissions).not.toContain("deleteRoom");

    // The former owner has an admin's rights now, no more.
    const before = await roomState(roomId);
    await expectProblem(await call("DELETE", `/rooms/${roomId}`, owner), 403, "forbidden");
    await expectProblem(
      await call("PUT", `/rooms/${roomId}/members/${admin.id}/role`, owner, { role: "member" }),
      403,
      "forbidden",
    );
    expect(await roomState(roomId)).toEqual(before);
    // … and may leave, which an owner may not while others remain.
    await ok(await call("POST", `/rooms/${roomId}/leave`, owner), 204);
    expect((await roles(roomId, admin))[owner.id]).toBeUndefined();
  });
});

describe("handing over ownership concurrently", () => {
  it("three handovers at once leave exactly one owner, five times over", async () => {
    const [owner, a, b, c] = await Promise.all([signUp("ho_owner"), signUp("ho_a"), signUp("ho_b"), signUp("ho_c")]);
    for (let round = 0; round < 5; round++) {
      const roomId = await createRoom(owner);
      await join(roomId, a, b, c);
      const answers = await Promise.all(
        [a, b, c].map((to) => call("PUT", `/rooms/${roomId}/members/${to.id}/role`, owner, { role: "owner" })),
      );
      const now = await roles(roomId, owner);
      const owners = Object.entries(now).filter(([, role]) => role === "owner");
      expect(owners, `round ${round}: ${JSON.stringify(now)}`).toHaveLength(1);
      expect(now[owner.id]).toBe("admin");
      // One wins; the others are refused (the caller is no longer the owner), however the fix words it.
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses[0]).toBe(204);
      for (const status of statuses.slice(1)) expect([403, 409]).toContain(status);
    }
  });
});

// ---- Kick and ban ----

describe("kicking", () => {
  it("removes the member and tells both the room and the kicked actor; they may rejoin a public room", async () => {
    const [owner, moderator, member] = await Promise.all([signUp("k_owner"), signUp("k_mod"), signUp("k_member")]);
    const roomId = await createRoom(owner);
    await join(roomId, moderator, member);
    await setRole(roomId, owner, moderator, "moderator");
    const start = (await t.testDatabase.db.select({ p: max(events.position) }).from(events))[0]?.p ?? 0;

    await ok(await call("POST", `/rooms/${roomId}/members/${member.id}/kick`, moderator, { reason: "cool off" }), 204);
    expect(Object.keys(await roles(roomId, owner)).sort()).toEqual([owner.id, moderator.id].sort());
    await expectProblem(await call("GET", `/rooms/${roomId}/members`, member), 403, "not_a_member");

    const left = (
      await t.testDatabase.db.select().from(events).where(eq(events.type, "member.left")).orderBy(events.position)
    ).filter((e) => e.position > start);
    const data = { roomId, actorId: member.id, reason: "kicked", by: moderator.id };
    expect(left.map((e) => ({ roomId: e.roomId, actorId: e.actorId, data: e.data }))).toEqual([
      { roomId, actorId: null, data },
      { roomId: null, actorId: member.id, data },
    ]);

    await join(roomId, member);
    expect((await roles(roomId, owner))[member.id]).toBe("member");
  });

  it("answers member_not_found for someone who is not in the room", async () => {
    const [owner, outsider] = await Promise.all([signUp("k_owner"), signUp("k_outsider")]);
    const roomId = await createRoom(owner);
    const before = await roomState(roomId);
    await expectProblem(
      await call("POST", `/rooms/${roomId}/members/${outsider.id}/kick`, owner, {}),
      404,
      "member_not_found",
    );
    expect(await roomState(roomId)).toEqual(before);
  });
});

describe("acting on an equal or higher role", () => {
  let cast: Record<"owner" | "admin" | "admin2" | "moderator" | "moderator2", Client>;
  let roomId: string;

  beforeAll(async () => {
    const [owner, admin, admin2, moderator, moderator2] = await Promise.all([
      signUp("rk_owner"),
      signUp("rk_admin"),
      signUp("rk_admin"),
      signUp("rk_mod"),
      signUp("rk_mod"),
    ]);
    cast = { owner, admin, admin2, moderator, moderator2 };
    roomId = await createRoom(owner);
    await join(roomId, admin, admin2, moderator, moderator2);
    for (const a of [admin, admin2]) await setRole(roomId, owner, a, "admin");
    for (const m of [moderator, moderator2]) await setRole(roomId, owner, m, "moderator");
  });

  const label = {
    owner: "the owner",
    admin: "an admin",
    admin2: "another admin",
    moderator: "a moderator",
    moderator2: "another moderator",
  };
  const cases: [keyof typeof cast, keyof typeof cast][] = [
    ["moderator", "moderator2"],
    ["moderator", "admin"],
    ["moderator", "owner"],
    ["admin", "admin2"],
    ["admin", "owner"],
    ["admin", "admin"],
    ["owner", "owner"],
  ];
  for (const [by, target] of cases) {
    for (const action of ["kick", "ban"] as const) {
      const whom = by === target ? "themselves" : label[target];
      it(`${label[by]} may not ${action} ${whom}: 403 forbidden`, async () => {
        const before = await roomState(roomId);
        const targetId = cast[target].id;
        const res =
          action === "kick"
            ? await call("POST", `/rooms/${roomId}/members/${targetId}/kick`, cast[by], { reason: "x" })
            : await call("PUT", `/rooms/${roomId}/bans/${targetId}`, cast[by], { reason: "x" });
        await expectProblem(res, 403, "forbidden");
        expect(await roomState(roomId)).toEqual(before);
      });
    }
  }
});

describe("banning", () => {
  it("removes the member; they can neither rejoin nor redeem an invite, and the refused redemption uses nothing", async () => {
    const [owner, moderator, member] = await Promise.all([signUp("b_owner"), signUp("b_mod"), signUp("b_member")]);
    const roomId = await createRoom(owner);
    await join(roomId, moderator, member);
    await setRole(roomId, owner, moderator, "moderator");
    const invite = await ok<{ id: string; code: string }>(
      await call("POST", `/rooms/${roomId}/invites`, owner, { maxUses: 1 }),
      201,
    );

    await ok(await call("PUT", `/rooms/${roomId}/bans/${member.id}`, moderator, { reason: "spam links" }), 204);
    expect((await roles(roomId, owner))[member.id]).toBeUndefined();
    const { bans } = await ok<{ bans: { actor: Profile; reason: string; bannedBy: Profile; createdAt: string }[] }>(
      await call("GET", `/rooms/${roomId}/bans`, moderator),
    );
    expect(bans).toEqual([
      {
        actor: expect.objectContaining({ id: member.id, handle: `${member.username}@chat.example` }),
        reason: "spam links",
        bannedBy: expect.objectContaining({ id: moderator.id }),
        createdAt: expect.any(String),
      },
    ]);
    const left = await t.testDatabase.db
      .select()
      .from(events)
      .where(and(eq(events.type, "member.left"), eq(events.actorId, member.id), isNull(events.roomId)));
    expect(left.map((e) => e.data)).toEqual([{ roomId, actorId: member.id, reason: "banned", by: moderator.id }]);

    const before = await roomState(roomId);
    await expectProblem(await call("POST", `/rooms/${roomId}/join`, member), 403, "banned");
    await expectProblem(await call("POST", `/invites/${invite.code}/accept`, member), 403, "banned");
    expect(await roomState(roomId)).toEqual(before);
    const listed = await ok<{ invites: { id: string; uses: number }[] }>(
      await call("GET", `/rooms/${roomId}/invites`, owner),
    );
    expect(listed.invites).toEqual([expect.objectContaining({ id: invite.id, uses: 0 })]);
    // The banned user sees the public room from outside.
    expect(await ok<{ role: null }>(await call("GET", `/rooms/${roomId}`, member))).toMatchObject({ role: null });

    // Lifted: the ban is gone and joining works again; the one-time invite is still usable by another.
    await ok(await call("DELETE", `/rooms/${roomId}/bans/${member.id}`, moderator), 204);
    expect((await ok<{ bans: unknown[] }>(await call("GET", `/rooms/${roomId}/bans`, owner))).bans).toEqual([]);
    await join(roomId, member);
    expect((await roles(roomId, owner))[member.id]).toBe("member");
    const latecomer = await signUp("b_late");
    await ok(await call("POST", `/invites/${invite.code}/accept`, latecomer));
    expect((await roles(roomId, owner))[latecomer.id]).toBe("member");
  });

  it("bans someone who is not a member yet: they cannot join", async () => {
    const [owner, stranger] = await Promise.all([signUp("b_owner"), signUp("b_stranger")]);
    const roomId = await createRoom(owner);
    await ok(await call("PUT", `/rooms/${roomId}/bans/${stranger.id}`, owner, {}), 204);
    await expectProblem(await call("POST", `/rooms/${roomId}/join`, stranger), 403, "banned");
    expect((await roles(roomId, owner))[stranger.id]).toBeUndefined();
    const { bans } = await ok<{ bans: { actor: Profile; reason: string }[] }>(
      await call("GET", `/rooms/${roomId}/bans`, owner),
    );
    expect(bans.map((b) => [b.actor.id, b.reason])).toEqual([[stranger.id, ""]]);
  });

  it("a banned user of a private room cannot redeem an invite either", async () => {
    const [owner, member] = await Promise.all([signUp("b_owner"), signUp("b_member")]);
    const roomId = await createRoom(owner, "private");
    const invite = await ok<{ code: string }>(await call("POST", `/rooms/${roomId}/invites`, owner, {}), 201);
    await ok(await call("POST", `/invites/${invite.code}/accept`, member));
    await ok(await call("PUT", `/rooms/${roomId}/bans/${member.id}`, owner, { reason: "out" }), 204);
    const before = await roomState(roomId);
    await expectProblem(await call("POST", `/invites/${invite.code}/accept`, member), 403, "banned");
    await expectProblem(await call("GET", `/rooms/${roomId}`, member), 404, "room_not_found");
    expect(await roomState(roomId)).toEqual(before);
  });

  it("refuses banning oneself, and unbanning someone who is not banned (member_not_found)", async () => {
    const [owner, member] = await Promise.all([signUp("b_owner"), signUp("b_member")]);
    const roomId = await createRoom(owner);
    await join(roomId, member);
    const before = await roomState(roomId);
    await expectProblem(await call("PUT", `/rooms/${roomId}/bans/${owner.id}`, owner, {}), 403, "forbidden");
    await expectProblem(await call("DELETE", `/rooms/${roomId}/bans/${member.id}`, owner), 404, "member_not_found");
    expect(await roomState(roomId)).toEqual(before);
  });

  it("refuses a plain member unbanning (403 forbidden), and the ban stays", async () => {
    const [owner, member, banned] = await Promise.all([signUp("b_owner"), signUp("b_member"), signUp("b_banned")]);
    const roomId = await createRoom(owner);
    await join(roomId, member);
    await ok(await call("PUT", `/rooms/${roomId}/bans/${banned.id}`, owner, {}), 204);
    const before = await roomState(roomId);
    await expectProblem(await call("DELETE", `/rooms/${roomId}/bans/${banned.id}`, member), 403, "forbidden");
    expect(await roomState(roomId)).toEqual(before);
  });

  it("answers 404 for banning an id that names no actor, not a server error", async () => {
    const owner = await signUp("b_owner");
    const roomId = await createRoom(owner);
    const before = await roomState(roomId);
    const res = await call("PUT", `/rooms/${roomId}/bans/${uuidv7()}`, owner, { reason: "ghost" });
    const text = await peek(res);
    expect(res.status, text).toBe(404);
    expect(["member_not_found", "user_not_found"]).toContain((JSON.parse(text) as { code: string }).code);
    expect(await roomState(roomId)).toEqual(before);
  });
});

// ---- The moderation log ----

describe("the moderation log", () => {
  it("lists invite, role, kick, ban and unban entries newest first, with actor, target and reason", async () => {
    const [owner, moderator, kicked, banned, member, outsider] = await Promise.all([
      signUp("log_owner"),
      signUp("log_mod"),
      signUp("log_kicked"),
      signUp("log_banned"),
      signUp("log_member"),
      signUp("log_outsider"),
    ]);
    const roomId = await createRoom(owner);
    await join(roomId, moderator, kicked, banned, member);

    const invite = await ok<{ id: string }>(await call("POST", `/rooms/${roomId}/invites`, owner, {}), 201);
    await setRole(roomId, owner, moderator, "moderator");
    await ok(await call("POST", `/rooms/${roomId}/members/${kicked.id}/kick`, moderator, { reason: "flooding" }), 204);
    await ok(await call("PUT", `/rooms/${roomId}/bans/${banned.id}`, moderator, { reason: "abuse" }), 204);
    await ok(await call("DELETE", `/rooms/${roomId}/bans/${banned.id}`, owner), 204);

    const { entries } = await ok<{ entries: LogEntry[] }>(
      await call("GET", `/rooms/${roomId}/moderation-log`, moderator),
    );
    const brief = entries.map((e) => ({
      action: e.action,
      actor: e.actor?.id,
      target: e.target?.id ?? null,
      reason: e.reason,
    }));
    expect(brief).toEqual([
      { action: "member.unbanned", actor: owner.id, target: banned.id, reason: null },
      { action: "member.banned", actor: moderator.id, target: banned.id, reason: "abuse" },
      { action: "member.kicked", actor: moderator.id, target: kicked.id, reason: "flooding" },
      { action: "member.role", actor: owner.id, target: moderator.id, reason: null },
      { action: "invite.created", actor: owner.id, target: null, reason: null },
    ]);
    expect(entries[3]?.data).toEqual({ role: "moderator" });
    expect(entries[4]?.data).toEqual({ inviteId: invite.id });
    expect(entries[0]?.actor?.handle).toBe(`${owner.username}@chat.example`);
    expect(entries[2]?.target?.handle).toBe(`${kicked.username}@chat.example`);
    const times = entries.map((e) => Date.parse(e.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const limited = await ok<{ entries: LogEntry[] }>(
      await call("GET", `/rooms/${roomId}/moderation-log?limit=2`, owner),
    );
    expect(limited.entries.map((e) => e.action)).toEqual(["member.unbanned", "member.banned"]);
    await expectProblem(await call("GET", `/rooms/${roomId}/moderation-log?limit=0`, owner), 422, "validation_failed");

    await expectProblem(await call("GET", `/rooms/${roomId}/moderation-log`, member), 403, "forbidden");
    await expectProblem(await call("GET", `/rooms/${roomId}/moderation-log`, outsider), 403, "not_a_member");
  });
});
