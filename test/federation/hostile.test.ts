import type postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { gapWaitMs } from "../../federation/inbox-mirror.ts";
import { AS, type HostileWorld, type Json, PUBLIC, type RoomBody, startHostileWorld } from "../helpers/hostile.ts";
import { Peer, type PeerActor, prove } from "../helpers/peer.ts";
import type { ServerProcess } from "../helpers/server.ts";
import { call, eventually, type User } from "../helpers/stream.ts";

// A hostile peer on loopback against a real server process (issue 5, "Checks"). Every attempt
// must be refused: nothing stored, nothing relayed to the room's other member servers.

describe("a hostile peer", () => {
  let world: HostileWorld;
  let server: ServerProcess;
  let sql: postgres.Sql;
  let honest: Peer;
  let evil: Peer;
  let bob: User;
  let room: RoomBody;
  let mirror: RoomBody;
  let felix: PeerActor;
  let club: PeerActor;
  let mallory: PeerActor;
  let seq = 0;

  beforeAll(async () => {
    world = await startHostileWorld("hostile");
    ({ server, sql, honest, evil, bob, room, mirror, felix, club, mallory } = world);
  }, 60_000);

  afterAll(async () => {
    await world?.close();
  });

  beforeEach(() => {
    onTestFailed(() => console.error(world?.server.output().slice(-6000)));
  });

  const roomInbox = () => world.roomInbox;
  const sharedInbox = () => world.sharedInbox;
  const next = () => world.next();
  const history = (user?: User, id?: string) => world.history(user, id);
  const createNote = (author: PeerActor, text: string, extra?: Json) => world.createNote(author, text, extra);
  const marker = () => world.marker();
  const nowhere = (text: string) => world.nowhere(text);

  it("refuses a Create signed by one actor that claims another", async () => {
    const { create } = createNote(felix, "impersonated felix");
    const res = await evil.send(mallory, roomInbox(), create);
    expect(res.status, res.body).toBe(401);
    // The same from mallory's own server, naming felix's server as the actor's.
    const { create: local } = createNote(felix, "impersonated felix again");
    expect((await honest.send(mallory, roomInbox(), local, { keyId: mallory.keyId })).status).toBe(401);
    await nowhere("impersonated felix");
  });

  it("refuses a key document whose owner lies", async () => {
    // mallory's key says its owner is felix, on another server.
    const liar = await evil.actor("liar", {
      mutate: (json) => {
        (json.publicKey as Json).owner = felix.id;
      },
    });
    const { create } = createNote(felix, "owner lies");
    const res = await evil.send(liar, roomInbox(), create);
    expect(res.status, res.body).toBe(401);
    // The same with an RFC 9421 signature (`keyid` in `Signature-Input`).
    const { create: again } = createNote(felix, "owner lies again");
    const rfc = await evil.send(liar, roomInbox(), again, { spec: "rfc9421" });
    expect(rfc.status, rfc.body).toBe(401);
    await nowhere("owner lies");
  });

  it("ignores an Update or Delete of a message from another origin", async () => {
    const { create, note } = createNote(felix, "felix's words");
    expect((await honest.send(felix, roomInbox(), create)).status).toBe(202);
    const original = await eventually("felix's message", async () =>
      (await history()).find((m) => m.content === "felix's words"),
    );
    const malloryNote = { ...note, attributedTo: mallory.id, content: "<p>rewritten by mallory</p>" };
    const attempts: Json[] = [
      // mallory names herself the author of felix's note.
      { "@context": AS, id: `${mallory.id}#u${next()}`, type: "Update", actor: mallory.id, object: malloryNote },
      // ...or leaves felix as the author.
      {
        "@context": AS,
        id: `${mallory.id}#u${next()}`,
        type: "Update",
        actor: mallory.id,
        object: { ...note, content: "<p>rewritten by mallory</p>" },
      },
      { "@context": AS, id: `${mallory.id}#d${next()}`, type: "Delete", actor: mallory.id, object: note.id },
      {
        "@context": AS,
        id: `${mallory.id}#d${next()}`,
        type: "Delete",
        actor: mallory.id,
        object: { id: note.id, type: "Tombstone" },
      },
    ];
    for (const activity of attempts) {
      const res = await evil.send(mallory, roomInbox(), activity);
      expect(res.status, res.body).toBe(202);
    }
    await nowhere("rewritten by mallory");
    const after = (await history()).find((m) => m.id === original.id);
    expect(after).toMatchObject({ content: "felix's words", editedAt: null, deletedAt: null });
  });

  it("ignores an Announce into a room by a server that does not host it", async () => {
    const fakeGroup = await evil.actor("lobby", { type: "Group" });
    // Relaying an author's activity into our room is only our room's business.
    const { create } = createNote(felix, "announced by a stranger", { audience: room.url });
    const intoHosted = {
      "@context": AS,
      id: `${fakeGroup.id}/history/${next()}`,
      type: "Announce",
      actor: fakeGroup.id,
      to: [room.url],
      object: await prove(felix, create),
    };
    expect((await evil.send(fakeGroup, roomInbox(), intoHosted)).status).toBe(202);
    // Into club's mirror: a Group on another server...
    const { create: inner } = createNote(felix, "announced into club by a stranger", {
      context: club.id,
      to: [club.id],
    });
    const intoMirror = {
      "@context": AS,
      id: `${fakeGroup.id}/history/${next()}`,
      type: "Announce",
      actor: fakeGroup.id,
      audience: club.id,
      to: [club.id],
      object: await prove(felix, inner),
    };
    expect((await evil.send(fakeGroup, sharedInbox(), intoMirror)).status).toBe(202);
    // ...or claiming to be club, signed with its own key.
    const posing = { ...intoMirror, id: `${club.id}/history/${++seq + 100}`, actor: club.id };
    expect((await evil.send(fakeGroup, sharedInbox(), posing)).status).toBe(401);
    await nowhere("by a stranger");
  });

  it("applies a relayed activity with a valid proof and drops one with a forged proof", async () => {
    const relay = async (create: Json, text: string) => {
      const announce = {
        "@context": AS,
        id: `${club.id}/history/${++seq}`,
        type: "Announce",
        actor: club.id,
        to: [`${club.id}/followers`],
        object: create,
      };
      expect((await honest.send(club, sharedInbox(), announce)).status).toBe(202);
      return text;
    };
    const { create: good } = createNote(felix, "relayed honestly", { context: club.id, to: [club.id] });
    good.to = [club.id];
    await relay(await prove(felix, good), "relayed honestly");
    await eventually("the relayed message in club's mirror", async () =>
      (await history(bob, mirror.id)).find((m) => m.content === "relayed honestly"),
    );

    // The proof was made over other words (and the note is not served at its origin).
    const { create: forged } = createNote(felix, "before forging", { context: club.id, to: [club.id] });
    forged.to = [club.id];
    const signed = await prove(felix, forged);
    (signed.object as Json).content = "<p>forged relay</p>";
    await relay(signed, "forged relay");
    // A proof by mallory's key for felix's activity.
    const { create: alien } = createNote(felix, "forged relay by mallory's key", { context: club.id, to: [club.id] });
    alien.to = [club.id];
    const byMallory = await prove({ ...mallory, proofKeyId: mallory.proofKeyId }, alien);
    await relay(byMallory, "forged relay");
    // A proof by a key whose document says felix controls it, on mallory's server.
    const liar = await evil.actor("controller-liar", {
      mutate: (json) => {
        for (const key of [json.assertionMethod].flat() as Json[]) key.controller = felix.id;
      },
    });
    const { create: lying } = createNote(felix, "forged relay by a lying controller", {
      context: club.id,
      to: [club.id],
    });
    lying.to = [club.id];
    await relay(await prove(liar, lying), "forged relay");
    // The honest relay after them is the marker here.
    const { create: after } = createNote(felix, "relayed after the forgeries", { context: club.id, to: [club.id] });
    after.to = [club.id];
    await relay(await prove(felix, after), "after");
    await eventually("the marker in club's mirror", async () =>
      (await history(bob, mirror.id)).find((m) => m.content === "relayed after the forgeries"),
    );
    await nowhere("forged relay");
  });

  it("waits a moment for relayed messages that overtook each other, and fetches only what stays missing", async () => {
    const outbox = new URL(`${club.id}/outbox`).pathname;
    const relayAt = async (n: number, text: string) => {
      const { create } = createNote(felix, text, { context: club.id, to: [club.id] });
      create.to = [club.id];
      const announce = {
        "@context": AS,
        id: `${club.id}/history/${n}`,
        type: "Announce",
        actor: club.id,
        to: [`${club.id}/followers`],
        object: await prove(felix, create),
      };
      expect((await honest.send(club, sharedInbox(), announce)).status).toBe(202);
    };
    const inMirror = (text: string) =>
      eventually(text, async () => (await history(bob, mirror.id)).find((m) => m.content === text));
    const pause = () => new Promise((resolve) => setTimeout(resolve, gapWaitMs + 1000));
    // Gaps the tests before left (forged relays are dropped) are filled first.
    await pause();
    const base = Math.max(0, ...(await history(bob, mirror.id)).map((m) => m.seq));
    const fetchedBefore = honest.hitsOn(outbox);
    await relayAt(base + 2, "second, overtaking");
    await relayAt(base + 1, "first, overtaken");
    expect((await inMirror("first, overtaken")).seq).toBe(base + 1);
    expect((await inMirror("second, overtaking")).seq).toBe(base + 2);
    await pause();
    expect(honest.hitsOn(outbox)).toBe(fetchedBefore);
    // The third never comes: after the wait, the room's history is asked for it.
    await relayAt(base + 4, "fourth, after a lost third");
    await inMirror("fourth, after a lost third");
    await eventually("a backfill from the room's history", async () =>
      honest.hitsOn(outbox) > fetchedBefore ? true : undefined,
    );
    seq = Math.max(seq, base + 4);
  });

  it("learns no custom emoji from a reaction by someone not in the room", async () => {
    const target = await marker();
    /** An `EmojiReact` (Pleroma's type, Mastodon's emoji tag) with a custom emoji served by the actor's server. */
    const react = (actor: PeerActor, origin: string, name: string) => ({
      "@context": [
        AS,
        { toot: "http://joinmastodon.org/ns#", Emoji: "toot:Emoji", EmojiReact: "http://litepub.social/ns#EmojiReact" },
      ],
      id: `${actor.id}#reactions/${next()}`,
      type: "EmojiReact",
      actor: actor.id,
      object: target.url,
      content: `:${name}:`,
      tag: [{ type: "Emoji", name: `:${name}:`, icon: { type: "Image", url: `${origin}/emoji/${name}.png` } }],
    });
    const learned = async () => (await sql`select count(*)::int as count from custom_emoji`)[0]?.count;
    const before = await learned();
    expect((await evil.send(mallory, roomInbox(), react(mallory, evil.url, "evilcat"))).status).toBe(202);
    await marker();
    expect(await learned()).toBe(before);
    expect((await history()).find((m) => m.id === target.id)?.reactions).toEqual([]);
    // The same from a member is learned and applied: the refusal above was the membership's.
    expect((await honest.send(felix, roomInbox(), react(felix, honest.url, "goodcat"))).status).toBe(202);
    await eventually("felix's reaction", async () =>
      (await history()).find((m) => m.id === target.id)?.reactions.length ? true : undefined,
    );
    expect(await learned()).toBe(before + 1);
  });

  it("applies a relayed reaction that was taken before the message it is about", async () => {
    const base = Math.max(0, ...(await history(bob, mirror.id)).map((m) => m.seq));
    const { create, note } = createNote(felix, "liked before it landed", { context: club.id, to: [club.id] });
    create.to = [club.id];
    const like = { "@context": AS, id: `${felix.id}#likes/${next()}`, type: "Like", actor: felix.id, object: note.id };
    const relay = async (id: string, activity: Json) => {
      const announce = {
        "@context": AS,
        id,
        type: "Announce",
        actor: club.id,
        to: [`${club.id}/followers`],
        object: await prove(felix, activity),
      };
      expect((await honest.send(club, sharedInbox(), announce)).status).toBe(202);
    };
    // The room relayed them in order; the reaction is taken first.
    await relay(`${club.id}/events/like-${next()}`, like);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await relay(`${club.id}/history/${base + 1}`, create);
    const liked = await eventually("the reaction on the message", async () => {
      const found = (await history(bob, mirror.id)).find((m) => m.content === "liked before it landed");
      return found?.reactions.length ? found : undefined;
    });
    expect(liked.reactions).toEqual([expect.objectContaining({ count: 1 })]);
    seq = Math.max(seq, base + 1);
  });

  it("refuses a Join whose Undo was handled first, so a cancelled join admits nobody", async () => {
    const quinn = await honest.actor("quinn");
    const join = { "@context": AS, id: `${quinn.id}#join-${next()}`, type: "Join", actor: quinn.id, object: room.url };
    const undo = { "@context": AS, id: `${join.id}-undo`, type: "Undo", actor: quinn.id, object: join };
    // The inbox's workers may take the two in either order; here the Undo is done first.
    expect((await honest.send(quinn, roomInbox(), undo)).status).toBe(202);
    await marker();
    expect((await honest.send(quinn, roomInbox(), join)).status).toBe(202);
    const answer = await honest.receive(
      "the answer to quinn's join",
      (a) => (a.type === "Accept" || a.type === "Reject") && JSON.stringify(a.object).includes(join.id),
    );
    expect(answer.type).toBe("Reject");
    const rows = await sql`select 1 from room_members m join actors a on a.id = m.actor_id where a.iri = ${quinn.id}`;
    expect(rows).toHaveLength(0);
  });

  it("applies a replayed activity once", async () => {
    const { create, note } = createNote(felix, "said once");
    for (let i = 0; i < 3; i++) expect((await honest.send(felix, roomInbox(), create)).status).toBe(202);
    // The same activity id again, now carrying another note.
    const replay = { ...create, object: { ...note, id: `${note.id}-again`, content: "<p>said twice</p>" } };
    expect((await honest.send(felix, roomInbox(), replay)).status).toBe(202);
    await marker();
    const said = (await history()).filter((m) => m.content === "said once");
    expect(said).toHaveLength(1);
    await nowhere("said twice");
  });

  it("answers a 5 MB activity with 413 and stores nothing", async () => {
    const { create } = createNote(felix, `huge ${"x".repeat(5 * 1024 * 1024)}`);
    const res = await honest.send(felix, roomInbox(), create);
    expect(res.status).toBe(413);
    await nowhere("huge x");
  });

  it("does not follow an inReplyTo chain 10,000 deep", async () => {
    const depth = 10_000;
    const chain = (i: number) => `${evil.url}/chain/${i}`;
    for (let i = 1; i <= depth; i++) {
      evil.serve(`/chain/${i}`, {
        "@context": AS,
        id: chain(i),
        type: "Note",
        attributedTo: mallory.id,
        to: [room.url],
        content: `<p>link ${i}</p>`,
        inReplyTo: chain(i + 1),
      });
    }
    const { create } = createNote(mallory, "end of a long chain", { inReplyTo: chain(1) });
    const res = await evil.send(mallory, roomInbox(), create);
    expect(res.status).toBe(202);

    // The same chain inline: one document, nested 10,000 deep (under the body limit).
    // (Written out by hand: JSON.stringify itself runs out of stack that deep.)
    const { create: inline } = createNote(mallory, "inline chain", { inReplyTo: "NESTED" });
    let nested = JSON.stringify({ id: chain(depth + 1), type: "Note" });
    for (let i = depth; i >= 1; i--) nested = `{"id":"${chain(i)}","type":"Note","inReplyTo":${nested}}`;
    const body = JSON.stringify(inline).replace('"NESTED"', nested);
    expect(body.length).toBeLessThan(1024 * 1024);
    const deep = await evil.send(mallory, roomInbox(), null, { body });
    expect(deep.status, deep.body).toBe(400);

    await marker();
    const fetched = evil.hits.filter((h) => h.path.startsWith("/chain/")).length;
    expect(fetched).toBeLessThanOrEqual(10);
    expect((await call(server, null, "GET", "/healthz")).status).toBe(200);
    // The reply itself is an ordinary message of a public room.
    const stored = (await history()).find((m) => m.content === "end of a long chain");
    expect(stored).toBeDefined();
    expect((await history()).map((m) => m.content).join("\n")).not.toContain("link ");
  });

  it("refuses with 403 every activity that names a blocked server, and stores nothing", async () => {
    const blocked = await Peer.start();
    try {
      const spammer = await blocked.actor("spammer");
      await sql`insert into blocked_servers (host, reason) values (${blocked.host}, 'spam')`;
      const attempts: [string, Peer, PeerActor, Json][] = [
        ["its own actor", blocked, spammer, createNote(spammer, "blocked spam 1").create],
        [
          "felix, mentioning it",
          honest,
          felix,
          createNote(felix, "blocked spam 2", { tag: [{ type: "Mention", href: spammer.id }] }).create,
        ],
        [
          "felix, replying to it",
          honest,
          felix,
          createNote(felix, "blocked spam 3", { inReplyTo: `${blocked.url}/notes/1` }).create,
        ],
        [
          "felix, addressing it",
          honest,
          felix,
          { ...createNote(felix, "blocked spam 4").create, cc: [PUBLIC, spammer.id] },
        ],
        [
          "a follow",
          blocked,
          spammer,
          { "@context": AS, id: `${spammer.id}#follow-${next()}`, type: "Follow", actor: spammer.id, object: room.url },
        ],
      ];
      for (const [what, peer, signer, activity] of attempts) {
        const res = await peer.send(signer, roomInbox(), activity);
        expect(res.status, `${what}: ${res.body}`).toBe(403);
        expect(res.json?.code, what).toBe("server_blocked");
      }
      // Signed by a key on the blocked server, for an actor elsewhere.
      const res = await honest.send(spammer, roomInbox(), createNote(felix, "blocked spam 5").create);
      expect(res.status).toBe(403);
      const rfc = await honest.send(spammer, roomInbox(), createNote(felix, "blocked spam 6").create, {
        spec: "rfc9421",
      });
      expect(rfc.status, rfc.body).toBe(403);
      await nowhere("blocked spam");
      expect(blocked.received()).toEqual([]);
      const rows = await sql`select count(*)::int as count from actors where iri like ${`${blocked.url}%`}`;
      expect(rows[0]?.count).toBe(0);
    } finally {
      await blocked.close();
    }
  });
});
