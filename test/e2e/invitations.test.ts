import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, showServerOutput, startFederated } from "../helpers/federated.ts";
import {
  call,
  eventually,
  nextEvents,
  ok,
  openStream,
  register,
  type StreamSocket,
  type User,
} from "../helpers/stream.ts";

// Two servers on loopback, each with its own database (issue 18, item 4): Alice here invites
// Bob there to a game; Bob sees the card, accepts, and both see "accepted".

interface RoomBody {
  id: string;
  url: string;
  membership: string;
}
interface Invitation {
  kind: string;
  title: string;
  link: string | null;
  everyone: boolean;
  invitees: { url: string }[];
  responses: { actor: { url: string }; answer: string }[];
}
interface MessageBody {
  id: string;
  url: string;
  content: string;
  invitation?: Invitation;
}
type Member = { actor: { id: string; url: string } };

describe("invitations across two servers", { timeout: 600_000 }, () => {
  let a: Federated;
  let b: Federated;
  let alice: User;
  let bob: User;
  let carol: User;
  let socket: StreamSocket | undefined;
  showServerOutput(() => a?.server);
  showServerOutput(() => b?.server);

  beforeAll(async () => {
    // One after the other: on a loaded machine two cold starts at once can take past a minute.
    a = await startFederated("fedchat-invitations-a-");
    b = await startFederated("fedchat-invitations-b-");
    [alice, bob, carol] = await Promise.all([
      register(a.server, "alice"),
      register(b.server, "bob"),
      register(b.server, "carol"),
    ]);
  }, 600_000);

  afterAll(async () => {
    socket?.ws.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  async function join(user: User, target: string): Promise<RoomBody> {
    const asked = await ok<RoomBody>(202, b.server, user.token, "POST", "/api/v1/rooms/join", { target });
    return await eventually(`${user.username} to be in the room`, async () => {
      const { rooms } = await ok<{ rooms: RoomBody[] }>(200, b.server, user.token, "GET", "/api/v1/rooms");
      return rooms.find((r) => r.id === asked.id && r.membership === "joined");
    });
  }
  const messageOn = (on: Federated, user: User, roomId: string, url: string) =>
    eventually(`the message ${url} on ${on.server.url}`, async () => {
      const { messages } = await ok<{ messages: MessageBody[] }>(
        200,
        on.server,
        user.token,
        "GET",
        `/api/v1/rooms/${roomId}/messages?limit=100`,
      );
      return messages.find((m) => m.url === url);
    });
  const answersOn = (on: Federated, user: User, roomId: string, url: string, expected: [string, string][]) =>
    eventually(
      `the answers on ${on.server.url} to be ${JSON.stringify(expected)}`,
      async () => {
        const message = await messageOn(on, user, roomId, url);
        const now = (message.invitation?.responses ?? []).map((r) => [r.actor.url, r.answer]);
        return JSON.stringify(now) === JSON.stringify(expected) ? message : undefined;
      },
      // Long: under load a delivery that timed out waits out its backoff before the next try.
      120_000,
    );

  let room: RoomBody;
  let mirror: RoomBody;
  let card: MessageBody;

  it("shows Alice's invitation on B as a card for Bob, and as a readable Note to anyone", async () => {
    room = await ok<RoomBody>(201, a.server, alice.token, "POST", "/api/v1/rooms", {
      name: "Game night",
      visibility: "public",
    });
    mirror = await join(bob, room.url);
    await join(carol, room.url);
    const { members } = await ok<{ members: Member[] }>(
      200,
      a.server,
      alice.token,
      "GET",
      `/api/v1/rooms/${room.id}/members`,
    );
    const bobOnA = members.find((m) => m.actor.url === `${b.server.url}/users/bob`)?.actor.id;
    expect(bobOnA).toBeDefined();
    socket = await openStream(b.server, bob, "bob@B");
    card = await ok<MessageBody>(201, a.server, alice.token, "PUT", `/api/v1/rooms/${room.id}/invitations/chess-1`, {
      kind: "game",
      title: "Chess",
      link: "https://lichess.org/abcdef",
      to: [bobOnA],
    });
    const [created] = await nextEvents(
      socket,
      1,
      45_000,
      (f) => f.type === "message.created" && (f.data as { message?: { url?: string } }).message?.url === card.url,
    );
    expect(created?.data).toMatchObject({
      message: { invitation: { kind: "game", title: "Chess", invitees: [{ url: `${b.server.url}/users/bob` }] } },
    });
    const onB = await messageOn(b, bob, mirror.id, card.url);
    expect(onB.content).toContain("invites @bob@");
    expect(onB.invitation).toMatchObject({ title: "Chess", link: "https://lichess.org/abcdef", everyone: false });

    // What a server that knows no cards reads: the note's text, with the Invite beside it.
    const note = (await (await fetch(card.url, { headers: { accept: "application/activity+json" } })).json()) as Record<
      string,
      unknown
    >;
    expect(String(note.content)).toContain("Chess");
    expect(String(note.content)).toContain("https://lichess.org/abcdef");
    expect(note.attachment).toMatchObject({
      type: "Invite",
      id: `${card.url}#invitation`,
      object: { type: "Event", name: "Chess", summary: "game", url: "https://lichess.org/abcdef" },
      target: `${b.server.url}/users/bob`,
    });
  });

  it("lets Bob accept from B, and both servers show it", async () => {
    const onB = await messageOn(b, bob, mirror.id, card.url);
    // Carol is in the room but not invited: B refuses her itself, and nothing travels.
    expect(
      (
        await call(b.server, carol.token, "PUT", `/api/v1/rooms/${mirror.id}/messages/${onB.id}/invitation/answer`, {
          answer: "accepted",
        })
      ).body,
    ).toMatchObject({ code: "not_invited" });
    const answered = await ok<{ pending: boolean }>(
      202,
      b.server,
      bob.token,
      "PUT",
      `/api/v1/rooms/${mirror.id}/messages/${onB.id}/invitation/answer`,
      { answer: "accepted" },
    );
    expect(answered.pending).toBe(true);
    const bobUrl = `${b.server.url}/users/bob`;
    await answersOn(a, alice, room.id, card.url, [[bobUrl, "accepted"]]);
    await answersOn(b, bob, mirror.id, card.url, [[bobUrl, "accepted"]]);
    const [live] = await nextEvents(socket as StreamSocket, 1, 45_000, (f) => f.type === "invitation.updated");
    expect(live).toMatchObject({ roomId: mirror.id, data: { answer: "accepted", actor: { url: bobUrl } } });
  });

  it("carries an invitation sent from B into A's room, and Alice's answer back", async () => {
    const sent = await ok<MessageBody & { pending?: boolean }>(
      202,
      b.server,
      carol.token,
      "PUT",
      `/api/v1/rooms/${mirror.id}/invitations/call-1`,
      { kind: "call", title: "Voice chat", to: "everyone" },
    );
    expect(sent.invitation).toMatchObject({ everyone: true, kind: "call" });
    const onA = await messageOn(a, alice, room.id, sent.url);
    expect(onA.invitation).toMatchObject({ everyone: true, kind: "call", title: "Voice chat" });
    await ok(200, a.server, alice.token, "PUT", `/api/v1/rooms/${room.id}/messages/${onA.id}/invitation/answer`, {
      answer: "declined",
    });
    const aliceUrl = `${a.server.url}/users/alice`;
    await answersOn(b, carol, mirror.id, sent.url, [[aliceUrl, "declined"]]);
  });

  it("holds a hostile server's invitation to the rules, and ignores answers from the uninvited", async () => {
    const AS = "https://www.w3.org/ns/activitystreams";
    const mallory = await a.peer.actor("mallory", { type: "Person" });
    const inbox = `${room.url}/inbox`;
    const note = (n: number, invite: Record<string, unknown>) => {
      const id = `${mallory.id}/notes/${n}`;
      return {
        "@context": AS,
        id: `${id}/activity`,
        type: "Create",
        actor: mallory.id,
        to: [`${AS}#Public`, room.url],
        object: {
          id,
          type: "Note",
          attributedTo: mallory.id,
          content: `<p>Mallory invites everyone ${n}</p>`,
          to: [`${AS}#Public`, room.url],
          audience: room.url,
          attachment: { id: `${id}#invitation`, type: "Invite", actor: mallory.id, target: room.url, ...invite },
        },
      };
    };
    const inAYear = new Date(Date.now() + 365 * 24 * 3600_000).toISOString();
    let res = await a.peer.send(
      mallory,
      inbox,
      note(1, {
        object: { type: "Event", name: "x".repeat(500), summary: "rave", url: "javascript:alert(1)" },
        endTime: inAYear,
      }),
    );
    expect(res.status, res.body).toBe(202);
    const held = await messageOn(a, alice, room.id, `${mallory.id}/notes/1`);
    expect(held.invitation).toMatchObject({ kind: "event", link: null, everyone: true });
    expect(held.invitation?.title).toHaveLength(200);
    const expires = Date.parse((held.invitation as unknown as { expiresAt: string }).expiresAt) - Date.now();
    expect(expires).toBeLessThanOrEqual(7 * 24 * 3600_000);

    // An Invite that is not the note's own (another id, or by someone else) makes no card.
    res = await a.peer.send(
      mallory,
      inbox,
      note(2, { id: `${mallory.id}/notes/1#invitation`, object: { type: "Event", name: "Forged" } }),
    );
    expect(res.status, res.body).toBe(202);
    expect((await messageOn(a, alice, room.id, `${mallory.id}/notes/2`)).invitation).toBeUndefined();

    // Mallory is in the room now, but Alice's chess invitation is Bob's alone.
    res = await a.peer.send(mallory, inbox, {
      "@context": AS,
      id: `${mallory.id}#accept-chess`,
      type: "Accept",
      actor: mallory.id,
      object: `${card.url}#invitation`,
      to: room.url,
    });
    expect(res.status, res.body).toBe(202);
    // Bob changes his mind meanwhile: once his answer is in, Mallory's (sent before) is not.
    const onB = await messageOn(b, bob, mirror.id, card.url);
    await ok(202, b.server, bob.token, "PUT", `/api/v1/rooms/${mirror.id}/messages/${onB.id}/invitation/answer`, {
      answer: "declined",
    });
    const bobUrl = `${b.server.url}/users/bob`;
    await answersOn(a, alice, room.id, card.url, [[bobUrl, "declined"]]);
  });
});
