import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestInstance, type TestInstance } from "../helpers/instance.ts";
import { apiClient, expectProblem } from "./support.ts";

let t: TestInstance;

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
});
afterAll(async () => {
  await t?.dispose();
});

const { signUp, call, ok } = apiClient(() => t);

interface Change {
  position: number;
  kind: string;
  at: string;
  actor: { id: string; handle: string; displayName: string } | null;
  name?: string;
}

const changes = async (roomId: string, who: Awaited<ReturnType<typeof signUp>>, query = "") =>
  (await ok<{ changes: Change[] }>(await call("GET", `/rooms/${roomId}/membership-changes${query}`, who))).changes;

describe("a room's membership changes", () => {
  it("lists joins, leaves, removals and renames in order, with who, and survives a reload", async () => {
    const [owner, joiner, kicked, outsider] = [
      await signUp("mc_owner"),
      await signUp("mc_joiner"),
      await signUp("mc_kicked"),
      await signUp("mc_outsider"),
    ];
    const { id: roomId } = await ok<{ id: string }>(
      await call("POST", "/rooms", owner, { name: "Doorway", visibility: "public" }),
      201,
    );
    await ok(await call("POST", `/rooms/${roomId}/join`, joiner));
    await ok(await call("POST", `/rooms/${roomId}/join`, kicked));
    await ok(await call("PATCH", `/rooms/${roomId}`, owner, { name: "Hallway" }));
    // A topic change is no rename: it is not listed.
    await ok(await call("PATCH", `/rooms/${roomId}`, owner, { topic: "Come in" }));
    await ok(await call("POST", `/rooms/${roomId}/leave`, joiner), 204);
    await ok(await call("POST", `/rooms/${roomId}/members/${kicked.id}/kick`, owner, {}), 204);

    const list = await changes(roomId, owner);
    expect(list.map((c) => [c.kind, c.actor?.id ?? c.name])).toEqual([
      ["joined", owner.id],
      ["joined", joiner.id],
      ["joined", kicked.id],
      ["renamed", "Hallway"],
      ["left", joiner.id],
      ["kicked", kicked.id],
    ]);
    expect(list[1]?.actor?.handle).toMatch(/^mc_joiner/);
    const positions = list.map((c) => c.position);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(Date.parse(list[0]?.at ?? "")).toBeLessThanOrEqual(Date.parse(list.at(-1)?.at ?? ""));

    // A range by time: nothing after now, everything since the first.
    expect(
      await changes(roomId, owner, `?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`),
    ).toEqual([]);
    expect(await changes(roomId, owner, `?since=${encodeURIComponent(list[0]?.at ?? "")}`)).toHaveLength(6);

    // Members only; an unknown room is not found; a bad time is refused.
    await expectProblem(await call("GET", `/rooms/${roomId}/membership-changes`, outsider), 403, "not_a_member");
    await expectProblem(await call("GET", `/rooms/${roomId}/membership-changes`, kicked), 403, "not_a_member");
    await expectProblem(
      await call("GET", "/rooms/0190a0a0-0000-7000-8000-000000000000/membership-changes", owner),
      404,
      "room_not_found",
    );
    await expectProblem(
      await call("GET", `/rooms/${roomId}/membership-changes?since=yesterday`, owner),
      422,
      "validation_failed",
    );
  });
});
