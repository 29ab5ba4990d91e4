import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, showServerOutput, startFederated } from "../helpers/federated.ts";
import type { PeerActor } from "../helpers/peer.ts";
import { call, eventually, memberHandles, ok, register, type User } from "../helpers/stream.ts";

// A local user withdraws the join of a remote room before its server answered (issue 17,
// item 7): the room's server gets `Undo{Join}`, and its late `Accept` and `Add` make nobody a
// member. First the room's server is played by the peer (a real HTTP server that signs as a
// Group), so the answer comes exactly when the test says; then it is a second real server.

type Json = Record<string, unknown>;
interface RoomBody {
  id: string;
  membership: string;
}

describe("cancelling a pending join of a remote room", { timeout: 120_000 }, () => {
  let federated: Federated;
  let host: Federated;
  let alice: User;
  let bob: User;
  let carol: User;
  let club: PeerActor;
  showServerOutput(() => federated?.server);
  showServerOutput(() => host?.server);

  beforeAll(async () => {
    [federated, host] = await Promise.all([
      startFederated("fedchat-cancel-join-"),
      startFederated("fedchat-cancel-join-host-"),
    ]);
    [alice, bob, carol] = await Promise.all([
      register(federated.server, "alice"),
      register(federated.server, "bob"),
      register(federated.server, "carol"),
    ]);
    club = await federated.peer.actor("club", { type: "Group" });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([federated?.close(), host?.close()]);
  });

  const roomsOf = async (user: User) =>
    (await ok<{ rooms: RoomBody[] }>(200, federated.server, user.token, "GET", "/api/v1/rooms")).rooms;

  /** Asks to join the club as `user`; answers with the mirror and the `Join` the peer got. */
  async function ask(user: User): Promise<{ room: RoomBody; join: Json }> {
    const room = await ok<RoomBody>(202, federated.server, user.token, "POST", "/api/v1/rooms/join", {
      target: club.id,
    });
    expect(room.membership).toBe("pending");
    const join = await federated.peer.receive(
      `${user.username}'s Join`,
      (a) => a.type === "Join" && a.object === club.id && String(a.actor).endsWith(`/users/${user.username}`),
    );
    return { room, join };
  }

  /** The club accepts a join, as a Group does: `Accept{Join}` to the joiner, `Add` to the members. */
  async function accept(join: Json, n: number) {
    const inbox = `${federated.server.url}/inbox`;
    const context = "https://www.w3.org/ns/activitystreams";
    const accepted = {
      "@context": context,
      id: `${club.id}#accept-${n}`,
      type: "Accept",
      actor: club.id,
      object: join,
    };
    expect((await federated.peer.send(club, inbox, accepted)).status).toBe(202);
    const add = {
      "@context": context,
      id: `${club.id}#add-${n}`,
      type: "Add",
      actor: club.id,
      object: join.actor,
      target: `${club.id}/members`,
    };
    expect((await federated.peer.send(club, inbox, add)).status).toBe(202);
  }

  it("sends Undo{Join} and ignores the late Accept and Add", async () => {
    const { room, join } = await ask(alice);
    expect((await roomsOf(alice)).find((r) => r.id === room.id)?.membership).toBe("pending");

    const cancel = await call(federated.server, alice.token, "POST", `/api/v1/rooms/${room.id}/leave`);
    expect(cancel.status).toBe(204);
    expect((await roomsOf(alice)).some((r) => r.id === room.id)).toBe(false);
    const undo = await federated.peer.receive("alice's Undo{Join}", (a) => a.type === "Undo");
    expect(undo).toMatchObject({ actor: join.actor, object: { type: "Join", id: join.id, object: club.id } });

    // The club had already admitted alice when the Undo came: its answer arrives late.
    await accept(join, 1);
    // Bob's join, answered after alice's: once he is in, her answers were handled too.
    const second = await ask(bob);
    await accept(second.join, 2);
    await eventually("bob to be in the club", async () =>
      (await roomsOf(bob)).find((r) => r.id === second.room.id && r.membership === "joined"),
    );
    expect((await roomsOf(alice)).some((r) => r.id === room.id)).toBe(false);
    const seen = await ok<RoomBody>(200, federated.server, alice.token, "GET", `/api/v1/rooms/${room.id}`);
    expect(seen.membership).toBe("none");
  });

  it("refuses to cancel a join that is not pending", async () => {
    const { room } = await ask(alice);
    // Carol never asked: she has nothing to withdraw.
    expect((await call(federated.server, carol.token, "POST", `/api/v1/rooms/${room.id}/leave`)).status).toBe(403);
    expect((await roomsOf(alice)).find((r) => r.id === room.id)?.membership).toBe("pending");
  });

  it("leaves nobody in, on either server, when the room's server is a real one", async () => {
    const [owner, dave, erin] = await Promise.all([
      register(host.server, "olga"),
      register(federated.server, "dave"),
      register(federated.server, "erin"),
    ]);
    const lounge = await ok<RoomBody & { handle: string }>(201, host.server, owner.token, "POST", "/api/v1/rooms", {
      name: "Lounge",
      visibility: "public",
    });
    // Dave asks and withdraws at once: the room's server may admit him before the Undo comes.
    const asked = await ok<RoomBody>(202, federated.server, dave.token, "POST", "/api/v1/rooms/join", {
      target: lounge.handle,
    });
    expect((await call(federated.server, dave.token, "POST", `/api/v1/rooms/${asked.id}/leave`)).status).toBe(204);
    // Erin's join goes after his (one ordering key per room): once she is in, his were handled.
    await ok(202, federated.server, erin.token, "POST", "/api/v1/rooms/join", { target: lounge.handle });
    await eventually("erin to be in the lounge", async () =>
      (await roomsOf(erin)).find((r) => r.id === asked.id && r.membership === "joined"),
    );
    const daveThere = `dave@${new URL(federated.server.url).host}`;
    await eventually("dave to be out of the lounge on its server", async () =>
      (await memberHandles(host.server, owner, lounge.id)).includes(daveThere) ? undefined : true,
    );
    expect((await roomsOf(dave)).some((r) => r.id === asked.id)).toBe(false);
    const inMirror = await memberHandles(federated.server, erin, asked.id);
    expect(inMirror.some((h) => h.startsWith("erin"))).toBe(true);
    expect(inMirror.some((h) => h.startsWith("dave"))).toBe(false);
  });
});
