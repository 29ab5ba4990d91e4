import { count, eq, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invites, roomMembers } from "../../src/db/schema.ts";
import { createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { apiClient, type Client, expectProblem, rows } from "./support.ts";

let t: TestInstance;

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
});
afterAll(async () => {
  await t?.dispose();
});

// ---- Helpers ----

const { signUp, call, ok } = apiClient(() => t);

/** An invite as the API shows it. */
interface InviteBody {
  id: string;
  roomId: string;
  code?: string;
  url?: string;
  createdAt: string;
  expiresAt: string | null;
  maxUses: number | null;
  uses: number;
  revoked: boolean;
}

/** A created invite: the code is always there. */
type NewInvite = InviteBody & { code: string; url: string };

interface Preview {
  room: { id: string; name: string; topic: string; visibility: string; role: string | null; permissions: string[] };
  members: number;
  usable: boolean;
}

const day = 24 * 60 * 60;

async function createRoom(
  owner: Client,
  visibility: "public" | "private" = "private",
  name = "Invited",
): Promise<string> {
  return (await ok<{ id: string }>(await call("POST", "/rooms", owner, { name, visibility }), 201)).id;
}

async function createInvite(roomId: string, by: Client, body: Record<string, unknown> = {}): Promise<NewInvite> {
  return await ok<NewInvite>(await call("POST", `/rooms/${roomId}/invites`, by, body), 201);
}

const accept = (code: string, who: Client, address?: string) =>
  call("POST", `/invites/${code}/accept`, who, undefined, address);
const preview = (code: string, who: Client, address?: string) =>
  call("GET", `/invites/${code}`, who, undefined, address);

async function memberIds(roomId: string): Promise<string[]> {
  const members = await t.testDatabase.db
    .select({ actorId: roomMembers.actorId })
    .from(roomMembers)
    .where(eq(roomMembers.roomId, roomId));
  return members.map((m) => m.actorId).sort();
}

async function inviteRow(id: string) {
  const [row] = await t.testDatabase.db.select().from(invites).where(eq(invites.id, id));
  return row;
}

async function countInvites(roomId: string): Promise<number> {
  const [row] = await t.testDatabase.db.select({ n: count() }).from(invites).where(eq(invites.roomId, roomId));
  return Number(row?.n);
}

async function listInvites(roomId: string, who: Client): Promise<InviteBody[]> {
  return (await ok<{ invites: InviteBody[] }>(await call("GET", `/rooms/${roomId}/invites`, who))).invites;
}

/** Every code this file has been given, to prove the database holds none of them. */
const issuedCodes = new Set<string>();

// ---- Creating ----

describe("creating an invite", () => {
  let owner: Client;
  let roomId: string;

  beforeAll(async () => {
    owner = await signUp("inv_owner");
    roomId = await createRoom(owner);
  });

  it("answers 201 with a 128-bit code, its URL, and a 7-day expiry by default", async () => {
    const invite = await createInvite(roomId, owner);
    issuedCodes.add(invite.code);
    expect(invite.code).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(invite.url).toBe(`https://chat.example/invite/${invite.code}`);
    expect(invite).toMatchObject({ roomId, maxUses: null, uses: 0, revoked: false });
    expect(invite.id).toMatch(/^[0-9a-f-]{36}$/);
    const expires = Date.parse(invite.expiresAt ?? "");
    expect(Math.abs(expires - (Date.now() + 7 * day * 1000))).toBeLessThan(60_000);
  });

  it("gives a different code every time", async () => {
    const codes = await Promise.all(Array.from({ length: 10 }, async () => (await createInvite(roomId, owner)).code));
    for (const code of codes) issuedCodes.add(code);
    expect(new Set(codes).size).toBe(10);
  });

  it("accepts up to 30 days, never expiring (null) and one-time (maxUses 1)", async () => {
    const month = await createInvite(roomId, owner, { expiresIn: 30 * day });
    expect(Math.abs(Date.parse(month.expiresAt ?? "") - (Date.now() + 30 * day * 1000))).toBeLessThan(60_000);
    const never = await createInvite(roomId, owner, { expiresIn: null });
    expect(never.expiresAt).toBeNull();
    const once = await createInvite(roomId, owner, { maxUses: 1, expiresIn: 3600 });
    expect(once).toMatchObject({ maxUses: 1, uses: 0 });
    for (const i of [month, never, once]) issuedCodes.add(i.code);
  });

  it.each([
    ["30 days and one second", { expiresIn: 30 * day + 1 }, "expiresIn"],
    ["less than a minute", { expiresIn: 59 }, "expiresIn"],
    ["a fractional expiry", { expiresIn: 3600.5 }, "expiresIn"],
    ["an expiry as a string", { expiresIn: "3600" }, "expiresIn"],
    ["zero uses", { maxUses: 0 }, "maxUses"],
    ["negative uses", { maxUses: -1 }, "maxUses"],
  ])("refuses %s with 422 and creates nothing", async (_, body, field) => {
    const before = await countInvites(roomId);
    const problem = await expectProblem(
      await call("POST", `/rooms/${roomId}/invites`, owner, body),
      422,
      "validation_failed",
    );
    expect(problem.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: field })]));
    expect(await countInvites(roomId)).toBe(before);
  });
});

// ---- Previewing and accepting ----

describe("previewing and accepting", () => {
  it("shows a private room's name to a non-member without letting them in", async () => {
    const owner = await signUp("pv_owner");
    const guest = await signUp("pv_guest");
    const roomId = await createRoom(owner, "private", "Book club");
    await ok(await call("PATCH", `/rooms/${roomId}`, owner, { topic: "Chapter 3" }));
    const invite = await createInvite(roomId, owner);
    issuedCodes.add(invite.code);

    const seen = await ok<Preview>(await preview(invite.code, guest));
    expect(seen).toMatchObject({
      room: { id: roomId, name: "Book club", topic: "Chapter 3", visibility: "private", role: null, permissions: [] },
      members: 1,
      usable: true,
    });
    await expectProblem(await call("GET", `/rooms/${roomId}`, guest), 404, "room_not_found");
    expect(await memberIds(roomId)).toEqual([owner.id]);
    expect((await inviteRow(invite.id))?.uses).toBe(0);
  });

  it("accepting joins the room and counts a use; accepting again as a member uses nothing", async () => {
    const owner = await signUp("acc_owner");
    const guest = await signUp("acc_guest");
    const roomId = await createRoom(owner);
    const invite = await createInvite(roomId, owner, { maxUses: 2 });
    issuedCodes.add(invite.code);

    const room = await ok<{ id: string; role: string; name: string }>(await accept(invite.code, guest));
    expect(room).toMatchObject({ id: roomId, role: "member", name: "Invited" });
    expect(await memberIds(roomId)).toEqual([owner.id, guest.id].sort());
    expect((await listInvites(roomId, owner)).find((i) => i.id === invite.id)?.uses).toBe(1);

    expect(await ok<{ role: string }>(await accept(invite.code, guest))).toMatchObject({ role: "member" });
    expect((await inviteRow(invite.id))?.uses).toBe(1);
    // The owner accepting their own invite uses nothing either.
    await ok(await accept(invite.code, owner));
    expect((await inviteRow(invite.id))?.uses).toBe(1);
    const { entries } = await ok<{ entries: { action: string; actor: { id: string } }[] }>(
      await call("GET", `/rooms/${roomId}/moderation-log`, owner),
    );
    expect(entries.filter((e) => e.action === "invite.redeemed").map((e) => e.actor.id)).toEqual([guest.id]);
  });

  it("concurrent accepts by the same user (a repeated click) count one use", async () => {
    const owner = await signUp("dbl_owner");
    const guest = await signUp("dbl_guest");
    const second = await signUp("dbl_second");
    const roomId = await createRoom(owner);
    const invite = await createInvite(roomId, owner, { maxUses: 2 });
    issuedCodes.add(invite.code);

    const answers = await Promise.all(Array.from({ length: 4 }, () => accept(invite.code, guest)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await inviteRow(invite.id))?.uses).toBe(1);
    // The second use is still there for someone else.
    await ok(await accept(invite.code, second));
    expect(await memberIds(roomId)).toEqual([owner.id, guest.id, second.id].sort());
  });

  it("answers 404 invite_not_found for an unknown code", async () => {
    const guest = await signUp("unk_guest");
    const unknown = "A".repeat(22);
    await expectProblem(await preview(unknown, guest), 404, "invite_not_found");
    await expectProblem(await accept(unknown, guest), 404, "invite_not_found");
  });

  it.each([
    ["too short", "abc123"],
    ["too long", "a".repeat(65)],
    ["with a space", encodeURIComponent("abcdefghij klmnopqrstu")],
    ["with dots", "abcdefghij.klmnopqrstu"],
    ["with percent-encoded slashes", encodeURIComponent("abcdefghij/../klmnopq")],
  ])("answers 422 for a malformed code (%s)", async (_, code) => {
    const guest = await signUp("bad_guest");
    for (const res of [await preview(code, guest), await accept(code, guest)]) {
      const problem = await expectProblem(res, 422, "validation_failed");
      expect(problem.details).toEqual([expect.objectContaining({ path: "code", in: "path parameters" })]);
    }
  });

  it("needs a logged-in caller", async () => {
    const owner = await signUp("anon_owner");
    const invite = await createInvite(await createRoom(owner), owner);
    issuedCodes.add(invite.code);
    await expectProblem(await t.request(`/api/v1/invites/${invite.code}`), 401, "unauthenticated");
    await expectProblem(
      await t.request(`/api/v1/invites/${invite.code}/accept`, { method: "POST" }),
      401,
      "unauthenticated",
    );
    expect((await inviteRow(invite.id))?.uses).toBe(0);
  });
});

// ---- Unusable invites ----

describe("invites that can no longer be used", () => {
  let owner: Client;
  let roomId: string;
  let live: NewInvite;
  let revoked: NewInvite;
  let expired: NewInvite;
  let usedUp: NewInvite;
  let firstGuest: Client;

  beforeAll(async () => {
    owner = await signUp("dead_owner");
    firstGuest = await signUp("dead_first");
    roomId = await createRoom(owner);
    live = await createInvite(roomId, owner, { maxUses: 5 });
    revoked = await createInvite(roomId, owner);
    expired = await createInvite(roomId, owner, { expiresIn: 3600 });
    usedUp = await createInvite(roomId, owner, { maxUses: 1 });
    for (const i of [live, revoked, expired, usedUp]) issuedCodes.add(i.code);

    await ok(await call("DELETE", `/rooms/${roomId}/invites/${revoked.id}`, owner), 204);
    await t.testDatabase.db
      .update(invites)
      .set({ expiresAt: sql`now() - interval '1 minute'` })
      .where(eq(invites.id, expired.id));
    await ok(await accept(usedUp.code, firstGuest));
  });

  it("the list shows usable invites only, without their codes", async () => {
    const listed = await listInvites(roomId, owner);
    expect(listed.map((i) => i.id)).toEqual([live.id]);
    expect(listed[0]).toMatchObject({ roomId, maxUses: 5, uses: 0, revoked: false });
    expect(listed[0]).not.toHaveProperty("code");
    expect(listed[0]).not.toHaveProperty("url");
  });

  for (const which of ["revoked", "expired", "usedUp"] as const) {
    it(`a ${which === "usedUp" ? "used-up" : which} invite: accept is 410 invite_expired, nothing changes, and the preview shows nothing of the private room`, async () => {
      const invite = { revoked, expired, usedUp }[which];
      const guest = await signUp("dead_guest");
      const before = { members: await memberIds(roomId), row: await inviteRow(invite.id) };
      await expectProblem(await accept(invite.code, guest), 410, "invite_expired");
      expect({ members: await memberIds(roomId), row: await inviteRow(invite.id) }).toEqual(before);
      // A dead code is no key to a private room: not its name, topic or member count.
      const res = await preview(invite.code, guest);
      const text = await res.clone().text();
      await expectProblem(res, 410, "invite_expired");
      expect(text).not.toContain(roomId);
      expect(text).not.toContain("Invited");
      // Its members still see where their old link led.
      expect(await ok<Preview>(await preview(invite.code, owner))).toMatchObject({
        usable: false,
        room: { id: roomId },
      });
    });
  }

  it("a dead invite to a public room still previews it, marked unusable (the room is public anyway)", async () => {
    const open = await createRoom(owner, "public", "Open doors");
    const gone = await createInvite(open, owner);
    issuedCodes.add(gone.code);
    await ok(await call("DELETE", `/rooms/${open}/invites/${gone.id}`, owner), 204);
    const guest = await signUp("dead_guest");
    expect(await ok<Preview>(await preview(gone.code, guest))).toMatchObject({ usable: false, room: { id: open } });
  });

  it("the live invite still works", async () => {
    const guest = await signUp("dead_guest");
    await ok(await accept(live.code, guest));
    expect(await memberIds(roomId)).toContain(guest.id);
  });

  it("revoking twice, an unknown invite, or another room's invite is invite_not_found", async () => {
    await expectProblem(await call("DELETE", `/rooms/${roomId}/invites/${revoked.id}`, owner), 404, "invite_not_found");
    await expectProblem(await call("DELETE", `/rooms/${roomId}/invites/${uuidv7()}`, owner), 404, "invite_not_found");
    const otherRoom = await createRoom(owner);
    await expectProblem(await call("DELETE", `/rooms/${otherRoom}/invites/${live.id}`, owner), 404, "invite_not_found");
    expect((await inviteRow(live.id))?.revokedAt).toBeNull();
  });

  it("a member may not revoke (403 forbidden)", async () => {
    await expectProblem(await call("DELETE", `/rooms/${roomId}/invites/${live.id}`, firstGuest), 403, "forbidden");
    expect((await inviteRow(live.id))?.revokedAt).toBeNull();
  });
});

// ---- Storage ----

describe("storage", () => {
  it("keeps no invite code in plain text", async () => {
    const owner = await signUp("store_owner");
    const roomId = await createRoom(owner);
    for (let i = 0; i < 5; i++) issuedCodes.add((await createInvite(roomId, owner)).code);
    const stored = await rows<Record<string, unknown>>(t, sql`select * from invites`);
    expect(stored.length).toBeGreaterThanOrEqual(issuedCodes.size);
    for (const row of stored) {
      const text = JSON.stringify(row);
      for (const code of issuedCodes) expect(text).not.toContain(code);
    }
  });
});

// ---- Races ----

describe("redeeming a one-time invite concurrently", () => {
  it("lets exactly one of two users in, five times over", async () => {
    const owner = await signUp("race_owner");
    const roomId = await createRoom(owner);
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([signUp("race_a"), signUp("race_b")]);
      const invite = await createInvite(roomId, owner, { maxUses: 1 });
      const answers = await Promise.all([accept(invite.code, a), accept(invite.code, b)]);
      expect(answers.map((r) => r.status).sort(), `round ${round}`).toEqual([200, 410]);
      const loser = answers.find((r) => r.status === 410);
      if (loser) await expectProblem(loser, 410, "invite_expired");
      const members = await memberIds(roomId);
      expect(
        members.filter((id) => id === a.id || id === b.id),
        `round ${round}`,
      ).toHaveLength(1);
      expect((await inviteRow(invite.id))?.uses).toBe(1);
    }
  });
});

// ---- Rate limit ----

describe("the rate limit on using invites (default factor)", () => {
  let limited: TestInstance;

  beforeAll(async () => {
    limited = await createTestInstance();
  });
  afterAll(async () => {
    await limited?.dispose();
  });

  it("refuses the 31st preview or accept from one address within 5 minutes with 429 and Retry-After", async () => {
    const as = (who: Client, method: string, path: string, address: string, body?: unknown) =>
      limited.request(
        `/api/v1${path}`,
        body === undefined ? { method, headers: who.headers } : json(method, body, who.headers),
        address,
      );
    const [owner, guest, late] = [
      await signUp("rl_owner", limited),
      await signUp("rl_guest", limited),
      await signUp("rl_late", limited),
    ];
    const room = await ok<{ id: string }>(
      await as(owner, "POST", "/rooms", "192.0.2.1", { name: "Limited", visibility: "private" }),
      201,
    );
    const invite = await ok<NewInvite>(await as(owner, "POST", `/rooms/${room.id}/invites`, "192.0.2.1", {}), 201);

    const address = "198.51.100.20";
    for (let i = 0; i < 20; i++) await ok(await as(guest, "GET", `/invites/${invite.code}`, address));
    for (let i = 0; i < 10; i++) await ok(await as(guest, "POST", `/invites/${invite.code}/accept`, address));

    for (const [method, path] of [
      ["POST", `/invites/${invite.code}/accept`],
      ["GET", `/invites/${invite.code}`],
    ] as const) {
      const res = await as(late, method, path, address);
      await expectProblem(res, 429, "rate_limited");
      const retryAfter = res.headers.get("retry-after") ?? "";
      expect(retryAfter).toMatch(/^\d+$/);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(300);
    }
    const members = async () =>
      (
        await limited.testDatabase.db
          .select({ actorId: roomMembers.actorId })
          .from(roomMembers)
          .where(eq(roomMembers.roomId, room.id))
      ).map((m) => m.actorId);
    expect(await members()).not.toContain(late.id);
    const [row] = await limited.testDatabase.db.select().from(invites).where(eq(invites.id, invite.id));
    expect(row?.uses).toBe(1);

    // Another address has its own allowance.
    await ok(await as(late, "POST", `/invites/${invite.code}/accept`, "198.51.100.21"));
    expect(await members()).toContain(late.id);
  });
});
