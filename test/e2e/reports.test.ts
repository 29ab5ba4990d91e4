import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, showServerOutput, startFederated } from "../helpers/federated.ts";
import { eventually, ok, register, roomMessages, send, type User } from "../helpers/stream.ts";

// Two servers on loopback, each with its own database: a report about someone of the other
// server is forwarded there as a `Flag` (issue 19, item 1), both ways, and lands in the queue
// of the moderators of the room there, without the reporter's name.

interface RoomBody {
  id: string;
  url: string;
  membership: string;
}
interface ReportBody {
  id: string;
  kind: string;
  comment: string;
  reporter: { id: string } | null;
  origin: string | null;
  target: { handle: string } | null;
  room: { id: string } | null;
  messages: { url: string; content: string }[];
  forwardedAt: string | null;
  actions: { action: string }[];
}

describe("reports across two servers", { timeout: 300_000 }, () => {
  let a: Federated;
  let b: Federated;
  showServerOutput(() => a?.server);
  showServerOutput(() => b?.server);

  beforeAll(async () => {
    // Two servers start at once: on a shared, loaded machine that takes more than a minute.
    [a, b] = await Promise.all([
      startFederated("fedchat-reports-a-", {}, undefined, 180_000),
      startFederated("fedchat-reports-b-", {}, undefined, 180_000),
    ]);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  const host = (f: Federated) => new URL(f.server.url).host;
  const queueOf = async (on: Federated, who: User) =>
    (await ok<{ reports: ReportBody[] }>(200, on.server, who.token, "GET", "/api/v1/reports")).reports;

  /** A room on `home` owned by `owner`, with `local` and `remote` (of `away`) in it. */
  async function roomWith(home: Federated, away: Federated, owner: User, local: User, remote: User) {
    const room = await ok<RoomBody>(201, home.server, owner.token, "POST", "/api/v1/rooms", {
      name: "Square",
      visibility: "public",
    });
    await ok(200, home.server, local.token, "POST", `/api/v1/rooms/${room.id}/join`);
    const asked = await ok<RoomBody>(202, away.server, remote.token, "POST", "/api/v1/rooms/join", {
      target: room.url,
    });
    const mirror = await eventually(`${remote.username} to be in the room`, async () => {
      const { rooms } = await ok<{ rooms: RoomBody[] }>(200, away.server, remote.token, "GET", "/api/v1/rooms");
      return rooms.find((r) => r.id === asked.id && r.membership === "joined");
    });
    return { room, mirror };
  }

  /**
   * `offender` (on `home`) writes in a room there; `reporter` (on `away`) reports it with
   * `forward`; the room's owner on `home` must find the report in their queue.
   */
  async function forwardedBothWays(home: Federated, away: Federated, names: [string, string, string]) {
    const [owner, offender, reporter] = await Promise.all([
      register(home.server, names[0]),
      register(home.server, names[1]),
      register(away.server, names[2]),
    ]);
    const { room, mirror } = await roomWith(home, away, owner, offender, reporter);
    const sent = await send(home.server, offender, room.id, "rude-1", `${names[2]} is a clown`);
    const seen = await eventually("the message on the reporter's server", async () => {
      const list = await roomMessages<{ id: string; url: string; content: string }>(away.server, reporter, mirror.id);
      return list.find((m) => m.id != null && m.url === `${home.server.url}/messages/${sent.id}`);
    });
    const filed = await ok<ReportBody>(201, away.server, reporter.token, "POST", "/api/v1/reports", {
      kind: "message",
      category: "harassment",
      comment: "insults",
      roomId: mirror.id,
      messageIds: [seen.id],
      forward: true,
    });
    expect(filed.reporter).not.toBeNull();
    expect(filed.forwardedAt).not.toBeNull();
    expect(filed.actions.map((x) => x.action)).toEqual(["forward"]);

    const arrived = await eventually("the Flag in the home server's queue", async () =>
      (await queueOf(home, owner)).find((r) => r.origin === host(away)),
    );
    expect(arrived).toMatchObject({
      kind: "message",
      comment: "insults",
      reporter: null,
      target: { handle: expect.stringMatching(new RegExp(`^${names[1]}@`)) },
      room: { id: room.id },
      messages: [{ url: seen.url, content: `${names[2]} is a clown` }],
    });
    expect(JSON.stringify(arrived)).not.toContain(names[2] + "@");
    // The one reported does not see it; the queue holds it once.
    expect((await queueOf(home, offender)).map((r) => r.id)).not.toContain(arrived.id);
    expect((await queueOf(home, owner)).filter((r) => r.origin === host(away))).toHaveLength(1);
    // The owner acts on it as on any report of the room.
    const acted = await ok<ReportBody>(200, home.server, owner.token, "POST", `/api/v1/reports/${arrived.id}/actions`, {
      action: "delete_messages",
    });
    expect(acted.actions.map((x) => x.action)).toEqual(["delete_messages"]);
  }

  it("forwards a report from B about a message of A's as a Flag into A's queue", async () => {
    await forwardedBothWays(a, b, ["olga", "alice", "bob"]);
  });

  it("forwards a report from A about a message of B's as a Flag into B's queue", async () => {
    await forwardedBothWays(b, a, ["bea", "carl", "dora"]);
  });
});
