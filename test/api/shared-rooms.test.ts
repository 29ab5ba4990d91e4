/** GET /api/v1/users/:handle/shared-rooms: what a user card lists as the rooms two people share. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestInstance, type TestInstance } from "../helpers/instance.ts";
import { apiClient, type Client, expectProblem } from "./support.ts";

let t: TestInstance;
const { signUp, call, ok } = apiClient(() => t);

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
});
afterAll(async () => {
  await t?.dispose();
});

async function room(owner: Client, name: string, visibility: "public" | "private" = "public"): Promise<string> {
  return (await ok<{ id: string }>(await call("POST", "/rooms", owner, { name, visibility }), 201)).id;
}

const shared = async (who: Client, handle: string) =>
  (
    await ok<{ rooms: { id: string; name: string }[] }>(
      await call("GET", `/users/${encodeURIComponent(handle)}/shared-rooms`, who),
    )
  ).rooms;

describe("the rooms two people share", () => {
  it("lists the rooms both are in by name, without conversations, deleted rooms or rooms one left", async () => {
    const ann = await signUp("ann");
    const ben = await signUp("ben");
    const zebra = await room(ann, "zebra crossing");
    const apple = await room(ann, "Apple pie", "private");
    const left = await room(ann, "Left behind");
    const gone = await room(ann, "Gone");
    await room(ann, "Only Ann's");
    await room(ben, "Only Ben's");
    for (const id of [zebra, left, gone]) await ok(await call("POST", `/rooms/${id}/join`, ben));
    // Into the private room by invitation.
    const invite = await ok<{ code: string }>(await call("POST", `/rooms/${apple}/invites`, ann, {}), 201);
    await ok(await call("POST", `/invites/${invite.code}/accept`, ben));
    await ok(await call("POST", `/rooms/${left}/leave`, ben), 204);
    await ok(await call("DELETE", `/rooms/${gone}`, ann), 204);
    await ok(await call("POST", "/dms", ann, { users: [ben.username] }));

    expect(await shared(ann, ben.username)).toEqual([
      { id: apple, name: "Apple pie" },
      { id: zebra, name: "zebra crossing" },
    ]);
    expect((await shared(ben, ann.username)).map((r) => r.id)).toEqual([apple, zebra]);
    // Nobody shares rooms with themselves.
    expect(await shared(ann, ann.username)).toEqual([]);
  });

  it("needs a session, and a user that exists; another server's user is never fetched", async () => {
    const cal = await signUp("cal");
    await expectProblem(await t.request("/api/v1/users/cal/shared-rooms"), 401, "unauthenticated");
    await expectProblem(await call("GET", "/users/nobody_here/shared-rooms", cal), 404, "user_not_found");
    await expectProblem(await call("GET", "/users/someone%40unknown.example/shared-rooms", cal), 404, "user_not_found");
  });
});
