import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { type Federated, startFederated } from "../helpers/federated.ts";
import { type Peer, type PeerActor, rehost } from "../helpers/peer.ts";
import type { ServerProcess } from "../helpers/server.ts";
import { eventually, memberHandles, ok, register, roomMessages, type User } from "../helpers/stream.ts";

// Documents shaped as other servers send them (our own fixtures in test/fixtures/interop/, each
// reproducing one program's output: see its README), moved to a test peer on loopback (their
// structure kept) and delivered, signed, through the real inbox of a real server process.
// They live in the repository so that a fresh clone runs these tests with nothing beside it.

const fixtures = fileURLToPath(new URL("../fixtures/interop/", import.meta.url));
type Json = Record<string, unknown>;
/** A fresh copy of `test/fixtures/interop/<program>/<name>.json`. */
const load = (file: string): Json => JSON.parse(readFileSync(join(fixtures, file), "utf8")) as Json;
const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
/** The Mbin fixtures' instance: `rehost` leaves `@context` alone, so its context URL is moved by hand. */
const mbinInstance = "https://mbin.example";
/** The `@context` Pleroma sends. */
const pleromaContext = (peerUrl: string) => [
  "https://www.w3.org/ns/activitystreams",
  `${peerUrl}/schemas/litepub-0.1.jsonld`,
  { "@language": "und" },
];

interface RoomBody {
  id: string;
  url: string;
  handle: string;
}
interface MessageBody {
  id: string;
  seq: number;
  url: string;
  content: string;
  author: { handle: string } | null;
  reactions: { emoji: string; count: number }[];
  editedAt: string | null;
  deletedAt: string | null;
  attachments: { id: string; name: string; mediaType: string; size?: number; url: string; previewUrl?: string }[];
}

describe("interop: other servers' documents through the real inbox", () => {
  let federated: Federated;
  let server: ServerProcess;
  let peer: Peer;
  let alice: User;
  let room: RoomBody;
  let quinn: PeerActor;
  let wren: PeerActor;
  let serial = 0;

  beforeAll(async () => {
    federated = await startFederated("fedchat-interop-", { ATTACHMENT_MAX_BYTES: String(100 * 1024) });
    ({ server, peer } = federated);
    alice = await register(server, "alice");
    room = await ok<RoomBody>(201, server, alice.token, "POST", "/api/v1/rooms", {
      name: "Lobby",
      visibility: "public",
    });
    quinn = await peer.actor("quinn");
    wren = await peer.actor("wren", { type: "Person" });
  }, 60_000);

  afterAll(async () => {
    if (process.env.FED_DUMP) writeFileSync(process.env.FED_DUMP, server?.output() ?? "");
    await federated?.close();
  });

  beforeEach(() => {
    onTestFailed(() => {
      if (process.env.FED_DUMP) writeFileSync(process.env.FED_DUMP, server?.output() ?? "");
      else console.error(server?.output().slice(-6000));
    });
  });

  const history = () => roomMessages<MessageBody>(server, alice, room.id);
  const inbox = () => `${room.url}/inbox`;
  const unique = (base: string) => `${base}-${++serial}`;

  /**
   * Mastodon's `Create{Note}` (mastodon/create-note.json), moved to the peer as `actor`'s,
   * addressed to the room and mentioning it as Mastodon does when a post names a group.
   */
  function mastodonCreate(actor: PeerActor, text: string): { create: Json; note: Json } {
    const create = rehost(load("mastodon/create-note.json"), peer.url) as Json;
    const note = create.object as Json;
    const noteId = unique(`${actor.id}/statuses/110947201556284913`);
    Object.assign(create, { id: `${noteId}/activity`, actor: actor.id });
    create.cc = [PUBLIC, room.url];
    Object.assign(note, {
      id: noteId,
      attributedTo: actor.id,
      url: noteId,
      atomUri: noteId,
      cc: [PUBLIC, room.url],
      content: `<p><span class="h-card"><a href="${room.url}" class="u-url mention">@<span>lobby</span></a></span> ${text}</p>`,
      contentMap: { en: `<p>${text}</p>` },
      tag: [{ type: "Mention", href: room.url, name: `@${room.handle}` }],
    });
    return { create, note };
  }

  /** Delivers a Mastodon post and waits until it is in the room's history. */
  async function post(
    actor: PeerActor,
    text: string,
    attachment?: Json[],
  ): Promise<{ note: Json; message: MessageBody }> {
    const { create, note } = mastodonCreate(actor, text);
    if (attachment) note.attachment = attachment;
    const res = await peer.send(actor, inbox(), create);
    expect(res.status, res.body).toBe(202);
    const message = await eventually(`"${text}" in the room`, async () =>
      (await history()).find((m) => m.content.includes(text)),
    );
    return { note, message };
  }

  it("stores a Mastodon Create{Note} that mentions a public room in it", async () => {
    const { message } = await post(quinn, "thinkpads are fine");
    expect(message.author?.handle).toBe(`quinn@${peer.host}`);
    expect(message.content).not.toContain("<p>");
    const { members } = await ok<{ members: { actor: { handle: string } }[] }>(
      200,
      server,
      alice.token,
      "GET",
      `/api/v1/rooms/${room.id}/members`,
    );
    expect(members.map((m) => m.actor.handle)).toContain(`quinn@${peer.host}`);
  });

  it("accepts a Mastodon Follow of a public room and then sends the follower the room's Announces", async () => {
    const moss = await peer.actor("moss");
    const follow = rehost(load("mastodon/follow.json"), peer.url) as Json;
    Object.assign(follow, { id: `${moss.id}#follows/${++serial}`, actor: moss.id, object: room.url });
    // Its embedded RsaSignature2017 was made by another key for another document: HTTP
    // Signatures are what count.
    const res = await peer.send(moss, inbox(), follow);
    expect(res.status, res.body).toBe(202);
    const accept = await peer.receive("the Accept", (a) => a.type === "Accept");
    expect(accept.actor).toBe(room.url);
    const acceptedFollow = accept.object as Json | string;
    expect(typeof acceptedFollow === "string" ? acceptedFollow : acceptedFollow.id).toBe(follow.id);

    await ok(201, server, alice.token, "PUT", `/api/v1/rooms/${room.id}/messages/follow-1`, { content: "welcome!" });
    const announce = await peer.receive(
      "the room's Announce",
      (a) => a.type === "Announce" && JSON.stringify(a.object).includes("welcome!"),
    );
    expect(announce.actor).toBe(room.url);
    // Mastodon decides visibility from to/cc alone: a public room's Announce, the Create in it
    // and the Note are all addressed to everyone, with the room (and its followers) in cc.
    const create = announce.object as Json;
    const note = create.object as Json;
    // (Compacted, Fedify writes the public collection `as:Public`, which Mastodon and Misskey
    // take as the same.)
    const recipients = (value: unknown) => [value].flat().map((v) => (v === "as:Public" ? PUBLIC : v));
    for (const [what, activity] of Object.entries({ announce, create, note })) {
      expect(recipients(activity.to), what).toEqual([PUBLIC]);
      expect(recipients(activity.cc), what).toEqual([room.url, `${room.url}/followers`]);
    }
    // And so is the Note as Mastodon fetches it.
    const fetched = await fetch(String(note.id), { headers: { accept: "application/activity+json" } });
    expect(recipients(((await fetched.json()) as Json).to)).toEqual([PUBLIC]);
  });

  it("drops a member whose server answers 410 Gone for good", async () => {
    const other = await ok<RoomBody>(201, server, alice.token, "POST", "/api/v1/rooms", {
      name: "Short-lived membership",
      visibility: "public",
    });
    const leaver = await peer.actor("leaver");
    const follow = {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: `${leaver.id}#follow-gone`,
      type: "Follow",
      actor: leaver.id,
      object: other.url,
    };
    expect((await peer.send(leaver, `${other.url}/inbox`, follow)).status).toBe(202);
    await peer.receive("the Accept", (a) => a.type === "Accept" && JSON.stringify(a.object).includes("follow-gone"));
    peer.answerPosts("/inbox", 410);
    try {
      await ok(201, server, alice.token, "PUT", `/api/v1/rooms/${other.id}/messages/gone-1`, {
        content: "anyone there?",
      });
      await eventually("the gone member to be dropped", async () =>
        (await memberHandles(server, alice, other.id)).includes(`leaver@${peer.host}`) ? undefined : true,
      );
    } finally {
      peer.answerPosts("/inbox", 202);
    }
  });

  /**
   * `actor` reacts to a new message with a fixture's reaction, in Pleroma's context unless the
   * fixture brings its own; `change` edits it before it is sent.
   */
  async function reactWith(
    fixture: string,
    emoji: string,
    actor = wren,
    change: (react: Json) => void = (react) => {
      react["@context"] = pleromaContext(peer.url);
    },
  ) {
    const { message } = await post(actor, `react with ${emoji} ${++serial}`);
    const react = rehost(load(fixture), peer.url) as Json;
    Object.assign(react, { id: `${actor.id}#reactions/${++serial}`, actor: actor.id, object: message.url });
    change(react);
    const res = await peer.send(actor, inbox(), react);
    expect(res.status, res.body).toBe(202);
    const reacted = await eventually(`the ${emoji} reaction`, async () =>
      (await history()).find((m) => m.id === message.id && m.reactions.length > 0),
    );
    expect(reacted.reactions).toEqual([expect.objectContaining({ emoji, count: 1 })]);
    return reacted.reactions[0] as MessageBody["reactions"][number] & { url?: string };
  }

  /** Serves a PNG at the peer's path of a fixture's emoji image; answers the bytes. */
  async function serveEmoji(path: string, color: string): Promise<Uint8Array> {
    const bytes = new Uint8Array(
      await sharp({ create: { width: 24, height: 24, channels: 4, background: color } })
        .png()
        .toBuffer(),
    );
    peer.serve(path, bytes, { contentType: "image/png" });
    return bytes;
  }

  /** The reaction's image, as our server serves it (never the other server's URL). */
  async function expectProxied(reaction: { url?: string }, bytes: Uint8Array) {
    expect(reaction.url).toMatch(new RegExp(`^${server.url}/media/remote-emoji/[0-9a-f-]{36}\\?v=`));
    const res = await fetch(reaction.url as string);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  }

  const peerHost = () => new URL(peer.url).host;

  it("applies a Pleroma EmojiReact to a message in the room", async () => {
    await reactWith("pleroma/emoji-react.json", "👌");
  });

  it("applies an Akkoma EmojiReact with a custom emoji whose tag has a null id, shown through our server", async () => {
    const bytes = await serveEmoji("/emoji/blobcat/blobcatheart.png", "#e04080");
    const reaction = await reactWith("pleroma/akkoma-emoji-react-custom.json", `:blobcatheart@${peerHost()}:`);
    await expectProxied(reaction, bytes);
  });

  it("applies a Misskey custom emoji Like, by its content or by _misskey_reaction alone", async () => {
    const kit = await peer.actor("kit", { type: "Person" });
    const bytes = await serveEmoji("/files/7b2f1c9e-4d1a-4b7e-9a3c-5e6f7a8b9c0d.png", "#f0a020");
    const key = `:blobfox_wave@${peerHost()}:`;
    await expectProxied(await reactWith("misskey/like-custom-reaction.json", key, kit, () => {}), bytes);
    // Older Misskey: no `content`, the reaction only in `_misskey_reaction`.
    const reaction = await reactWith("misskey/like-custom-reaction.json", key, kit, (react) => {
      delete react.content;
    });
    await expectProxied(reaction, bytes);
  });

  it("keeps a custom emoji reaction whose image is not an http(s) URL as text, with no image", async () => {
    const reaction = await reactWith(
      "misskey/like-custom-reaction.json",
      `:blobfox_evil@${peerHost()}:`,
      wren,
      (react) => {
        react.content = ":blobfox_evil:";
        react._misskey_reaction = ":blobfox_evil:";
        const [tag] = react.tag as Json[];
        Object.assign(tag as Json, { name: ":blobfox_evil:", icon: { type: "Image", url: "file:///etc/passwd" } });
      },
    );
    expect(reaction.url).toBeUndefined();
  });

  it("reads every context from memory: an unknown one is empty, none is fetched", async () => {
    const { create } = mastodonCreate(quinn, "with a context nobody serves");
    create["@context"] = [...(create["@context"] as unknown[]), `${peer.url}/no-such-context`];
    expect((await peer.send(quinn, inbox(), create)).status).toBe(202);
    await eventually("the message with an unknown context", async () =>
      (await history()).find((m) => m.content.includes("with a context nobody serves")),
    );
    // Neither that one nor the per-instance contexts of Pleroma and Mbin named by other tests.
    for (const path of ["/no-such-context", "/schemas/litepub-0.1.jsonld", "/contexts"]) {
      expect(peer.hitsOn(path), path).toBe(0);
    }
  });

  it("fetches no tag given as a bare IRI, on a Person or a Note", async () => {
    const paths = ["/tags/person-1", "/tags/person-2", "/tags/note-1", "/tags/note-2"];
    for (const path of paths) {
      const name = `:${path.split("/").at(-1)?.replace("-", "_")}:`;
      const icon = { type: "Image", mediaType: "image/png", url: `${peer.url}/emoji/${name.slice(1, -1)}.png` };
      peer.serve(path, {
        "@context": [
          "https://www.w3.org/ns/activitystreams",
          { toot: "http://joinmastodon.org/ns#", Emoji: "toot:Emoji" },
        ],
        id: `${peer.url}${path}`,
        type: "Emoji",
        name,
        icon,
      });
    }
    const tagger = await peer.actor("tagger", {
      mutate: (person) => {
        person.tag = paths.slice(0, 2).map((path) => `${peer.url}${path}`);
      },
    });
    const { create, note } = mastodonCreate(tagger, "tags by reference");
    note.tag = [...(note.tag as Json[]), ...paths.slice(2).map((path) => `${peer.url}${path}`)];
    expect((await peer.send(tagger, inbox(), create)).status).toBe(202);
    await eventually("the message with tags by reference", async () =>
      (await history()).find((m) => m.content.includes("tags by reference")),
    );
    for (const path of paths) expect(peer.hitsOn(path), path).toBe(0);
  });

  it("stores a Pleroma ChatMessage addressed to the room, sanitised", async () => {
    const sable = await peer.actor("sable");
    const create = rehost(load("pleroma/create-chat-message.json"), peer.url) as Json;
    const object = create.object as Json;
    const n = ++serial;
    // The fixture has no `@context` (see the invalid documents below); Pleroma sends its own.
    Object.assign(create, {
      "@context": pleromaContext(peer.url),
      id: `${peer.url}/objects/${n}-1`,
      actor: sable.id,
      to: [room.url],
    });
    Object.assign(object, { id: `${peer.url}/objects/${n}-2`, attributedTo: sable.id, to: [room.url] });
    const res = await peer.send(sable, inbox(), create);
    expect(res.status, res.body).toBe(202);
    const message = await eventually("the chat message", async () =>
      (await history()).find((m) => m.content.includes("Bet you thought this was a bot.")),
    );
    expect(message.author?.handle).toBe(`sable@${peer.host}`);
    expect(JSON.stringify(message)).not.toContain("<script>");
  });

  it("applies a Mastodon Update of a note by its author", async () => {
    const { note, message } = await post(quinn, "first draft");
    const update = rehost(load("mastodon/update-person.json"), peer.url) as Json;
    Object.assign(update, {
      id: `${quinn.id}#updates/${++serial}`,
      actor: quinn.id,
      object: {
        ...note,
        content: "<p>second draft</p>",
        contentMap: { en: "<p>second draft</p>" },
        updated: new Date().toISOString(),
      },
    });
    const res = await peer.send(quinn, inbox(), update);
    expect(res.status, res.body).toBe(202);
    const edited = await eventually("the edit", async () =>
      (await history()).find((m) => m.id === message.id && m.content.includes("second draft") && m.editedAt),
    );
    expect(edited.seq).toBe(message.seq);
  });

  it("applies a Mastodon Undo{Like}", async () => {
    const { message } = await post(quinn, "like and unlike");
    const like = rehost(load("mastodon/like.json"), peer.url) as Json;
    const likeId = `${quinn.id}#likes/${++serial}`;
    Object.assign(like, { id: likeId, actor: quinn.id, object: message.url });
    expect((await peer.send(quinn, inbox(), like)).status).toBe(202);
    await eventually("the like", async () =>
      (await history()).find((m) => m.id === message.id && m.reactions.some((r) => r.count === 1)),
    );
    const undo = rehost(load("mastodon/undo-like.json"), peer.url) as Json;
    Object.assign(undo, {
      id: `${likeId}/undo`,
      actor: quinn.id,
      object: { ...(undo.object as Json), id: likeId, actor: quinn.id, object: message.url },
    });
    expect((await peer.send(quinn, inbox(), undo)).status).toBe(202);
    await eventually("the like to be undone", async () =>
      (await history()).find((m) => m.id === message.id && m.reactions.length === 0),
    );
  });

  it("applies a Mastodon Delete with a Tombstone", async () => {
    const { note, message } = await post(quinn, "delete me");
    peer.gone(note.id as string);
    const del = rehost(load("mastodon/delete-tombstone.json"), peer.url) as Json;
    Object.assign(del, {
      id: `${note.id}#delete`,
      actor: quinn.id,
      object: { id: note.id, type: "Tombstone", atomUri: note.id },
    });
    const res = await peer.send(quinn, inbox(), del);
    expect(res.status, res.body).toBe(202);
    const deleted = await eventually("the delete", async () =>
      (await history()).find((m) => m.id === message.id && m.deletedAt),
    );
    expect(deleted.content).toBe("");
  });

  it("ignores Lemmy and Mbin Announces from a Group it does not follow: 202, nothing stored", async () => {
    const community = await peer.actor("gardening", { type: "Group", path: "/c/gardening" });
    const magazine = await peer.actor("knitting", { type: "Group", path: "/m/knitting" });
    const lemmyUser = await peer.actor("fern", { path: "/u/fern" });
    const mbinUser = await peer.actor("purl", { path: "/u/purl" });

    // Lemmy: Announce{Create{Page}}, here naming our room as the community.
    const lemmy = rehost(load("lemmy/announce-create-page.json"), peer.url) as Json;
    const lemmyCreate = lemmy.object as Json;
    const page = lemmyCreate.object as Json;
    Object.assign(page, {
      id: `${peer.url}/post/${++serial}`,
      to: [room.url, PUBLIC],
      audience: room.url,
      content: "lemmy relayed",
    });
    Object.assign(lemmyCreate, { id: `${peer.url}/activities/create/${serial}`, cc: [room.url] });
    // Lemmy sends its context (the fixture has none).
    lemmy["@context"] = ["https://join-lemmy.org/context.json", "https://www.w3.org/ns/activitystreams"];
    lemmy.id = `${peer.url}/activities/announce/${serial}`;
    expect((await peer.send(community, inbox(), lemmy)).status).toBe(202);

    // Mbin: Announce{Create{Note}} (its ids scrubbed in the snapshot: given fresh ones).
    const mbin = rehost(load("mbin/announce-create-note.json"), peer.url) as Json;
    const mbinCreate = mbin.object as Json;
    const mbinNote = mbinCreate.object as Json;
    const n = ++serial;
    Object.assign(mbinNote, {
      id: `${peer.url}/m/knitting/p/${n}`,
      url: `${peer.url}/m/knitting/p/${n}`,
      published: new Date().toISOString(),
      to: [room.url, PUBLIC],
      audience: room.url,
      content: "<p>mbin relayed</p>",
    });
    Object.assign(mbinCreate, { id: `${peer.url}/f/object/${n}#create`, published: new Date().toISOString() });
    Object.assign(mbin, { id: `${peer.url}/f/object/${n}#announce`, published: new Date().toISOString() });
    // Mbin names its own context document (`https://<instance>/contexts`), which is never fetched.
    mbin["@context"] = (mbin["@context"] as string[]).map((c) => c.replace(mbinInstance, peer.url));
    expect((await peer.send(magazine, `${server.url}/inbox`, mbin)).status).toBe(202);

    // A later post from the same peer is the marker: once it is in, the Announces were handled.
    await post(lemmyUser, "marker after the announces");
    void mbinUser;
    const contents = (await history()).map((m) => m.content).join("\n");
    expect(contents).not.toContain("lemmy relayed");
    expect(contents).not.toContain("mbin relayed");
    expect(contents).not.toContain("Seed swap on Saturday");
  });

  it("applies an Mbin Announce{Create{Note}} from a magazine a local user is in, re-fetching the note", async () => {
    const magazine = await peer.actor("books", { type: "Group", path: "/m/books" });
    const author = await peer.actor("reader", { path: "/u/reader" });
    const asked = await ok<{ id: string }>(202, server, alice.token, "POST", "/api/v1/rooms/join", {
      target: magazine.id,
    });
    const request = await peer.receive(
      "alice's join",
      (a) => (a.type === "Join" || a.type === "Follow") && a.object === magazine.id,
    );
    const accept = rehost(load("mbin/accept-follow-magazine.json"), peer.url) as Json;
    Object.assign(accept, { id: `${magazine.id}#accept/${++serial}`, actor: magazine.id, object: request });
    accept["@context"] = (accept["@context"] as string[]).map((c) => c.replace(mbinInstance, peer.url));
    expect((await peer.send(magazine, `${server.url}/inbox`, accept)).status).toBe(202);
    const magazineRoom = await eventually("alice to be in the magazine", async () => {
      const { rooms } = await ok<{ rooms: { id: string; membership: string }[] }>(
        200,
        server,
        alice.token,
        "GET",
        "/api/v1/rooms",
      );
      return rooms.find((r) => r.id === asked.id && r.membership === "joined");
    });

    // Mbin relays the author's activity without a proof: the note counts as its origin serves it.
    const mbin = rehost(load("mbin/announce-create-note.json"), peer.url) as Json;
    mbin["@context"] = (mbin["@context"] as string[]).map((c) => c.replace(mbinInstance, peer.url));
    const create = mbin.object as Json;
    const note = create.object as Json;
    const n = ++serial;
    const now = new Date().toISOString();
    Object.assign(note, {
      id: `${peer.url}/m/books/p/${n}`,
      url: `${peer.url}/m/books/p/${n}`,
      attributedTo: author.id,
      published: now,
      to: [magazine.id, PUBLIC],
      audience: magazine.id,
      content: "<p>relayed by a magazine</p>",
      contentMap: { en: "<p>relayed by a magazine</p>" },
      source: { content: "relayed by a magazine", mediaType: "text/markdown" },
    });
    Object.assign(create, { id: `${peer.url}/f/object/${n}#create`, actor: author.id, published: now });
    Object.assign(mbin, { id: `${peer.url}/f/object/${n}#announce`, actor: magazine.id, published: now });
    peer.serve(`/m/books/p/${n}`, { "@context": mbin["@context"], ...note });
    expect((await peer.send(magazine, `${server.url}/inbox`, mbin)).status).toBe(202);
    const relayed = await eventually("the relayed note in the magazine's mirror", async () => {
      const { messages } = await ok<{ messages: MessageBody[] }>(
        200,
        server,
        alice.token,
        "GET",
        `/api/v1/rooms/${magazineRoom.id}/messages?limit=100`,
      );
      return messages.find((m) => m.content.includes("relayed by a magazine"));
    });
    expect(relayed.author?.handle).toBe(`reader@${peer.host}`);
    expect(peer.hitsOn(`/m/books/p/${n}`)).toBeGreaterThan(0);
  });

  it("keeps a Mastodon Note's attachments and fetches each file once, when a member first opens it", async () => {
    const [document] = (rehost(load("mastodon/note-with-attachment.json"), peer.url) as Json).attachment as Json[];
    const path = new URL((document as Json).url as string).pathname;
    const jpeg = new Uint8Array(
      await sharp({ create: { width: 40, height: 30, channels: 3, background: "#c05020" } })
        .jpeg()
        .toBuffer(),
    );
    peer.serve(path, jpeg, { contentType: "image/jpeg" });
    const { message } = await post(quinn, "a picture", [document as Json]);
    expect(message.attachments).toHaveLength(1);
    const [file] = message.attachments as [MessageBody["attachments"][number]];
    // Mastodon's `name` is the alt text, null here: the URL names the file.
    expect(file).toMatchObject({ name: "9f3ab1c07e52d468.jpg", mediaType: "image/jpeg" });
    expect(file.size).toBeUndefined();
    expect(new URL(file.url).origin).toBe(server.url);
    const fetches = () => peer.hits.filter((h) => h.path === path).length;
    expect(fetches()).toBe(0);

    const [preview, original] = await Promise.all([fetch(file.previewUrl as string), fetch(file.url)]);
    expect(preview.status).toBe(200);
    expect(preview.headers.get("content-type")).toBe("image/webp");
    expect(original.status).toBe(200);
    expect(original.headers.get("x-content-type-options")).toBe("nosniff");
    expect(new Uint8Array(await original.arrayBuffer())).toEqual(jpeg);
    expect((await fetch(file.url)).status).toBe(200);
    expect(fetches()).toBe(1);
    const [kept] = (await history()).find((m) => m.id === message.id)?.attachments ?? [];
    expect(kept?.size).toBe(jpeg.length);
  });

  it("refuses remote files that lie about their type or are too large, for good, and keeps the message", async () => {
    peer.serve("/media/page.jpg", "<!doctype html><script>alert(1)</script>", { contentType: "image/jpeg" });
    peer.serve("/media/huge.bin", new Uint8Array(200 * 1024), { contentType: "application/octet-stream" });
    const attachment = [
      { type: "Document", mediaType: "image/jpeg", name: "holiday", url: `${peer.url}/media/page.jpg` },
      { type: "Document", mediaType: "application/zip", url: `${peer.url}/media/huge.bin` },
      // Not embedded (would need a fetch), and not http(s): both skipped.
      `${peer.url}/media/attachment-object`,
      { type: "Document", mediaType: "text/plain", url: "file:///etc/passwd" },
    ];
    const { message } = await post(quinn, "suspicious files", attachment as Json[]);
    expect(message.attachments.map((a) => a.name)).toEqual(["holiday", "huge.bin"]);
    const [page, huge] = message.attachments as [
      MessageBody["attachments"][number],
      MessageBody["attachments"][number],
    ];
    const problem = async (url: string) => {
      const res = await fetch(url);
      return { status: res.status, body: (await res.json()) as { code: string; details?: { reason: string } } };
    };
    expect(await problem(page.url)).toMatchObject({
      status: 502,
      body: { code: "remote_media_refused", details: { reason: "media_type_mismatch" } },
    });
    expect(await problem(huge.url)).toMatchObject({
      status: 502,
      body: { code: "remote_media_refused", details: { reason: "payload_too_large" } },
    });
    const fetched = peer.hits.filter((h) => h.path.startsWith("/media/")).length;
    // Refused for good: asking again answers the same without fetching.
    expect((await problem(page.url)).body.code).toBe("remote_media_refused");
    expect((await problem(huge.url)).body.code).toBe("remote_media_refused");
    expect(peer.hits.filter((h) => h.path.startsWith("/media/")).length).toBe(fetched);
    expect(peer.hits.some((h) => h.path === "/media/attachment-object")).toBe(false);
  });

  it("answers documents that cannot be valid with a 4xx and stores nothing", async () => {
    const before = (await history()).length;
    const { create } = mastodonCreate(quinn, "never stored");
    const cases: [string, Parameters<Peer["send"]>][] = [
      ["not JSON", [quinn, inbox(), null, { body: "<html>hello</html>" }]],
      ["a JSON array", [quinn, inbox(), [create]]],
      ["no actor", [quinn, inbox(), { ...create, actor: undefined }]],
      ["unsigned", [null, inbox(), create]],
      ["the wrong content type", [quinn, inbox(), create, { contentType: "text/plain" }]],
      ["scrubbed placeholders (Mbin snapshot)", [quinn, inbox(), load("mbin/create-chat-message.json")]],
      [
        "no @context (Pleroma fixture)",
        [
          quinn,
          inbox(),
          rehost(load("pleroma/create-chat-message.json"), peer.url, { [`${peer.url}/users/sable`]: quinn.id }),
        ],
      ],
    ];
    for (const [what, args] of cases) {
      const res = await peer.send(...args);
      expect(res.status, `${what}: ${res.body}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${what}: ${res.body}`).toBeLessThan(500);
    }
    await post(quinn, "marker after the invalid ones");
    const after = await history();
    expect(after.length).toBe(before + 1);
    expect(after.map((m) => m.content).join("\n")).not.toContain("never stored");
  });
});
