import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, showServerOutput, startFederated } from "../helpers/federated.ts";
import { type ActorType, type Peer, type PeerActor, rehost } from "../helpers/peer.ts";
import type { ServerProcess } from "../helpers/server.ts";
import {
  eventually,
  type MessageBody,
  memberHandles,
  ok,
  register,
  roomMessages,
  type User,
} from "../helpers/stream.ts";

// Every program of the interoperability corpus that sends something a chat room could receive,
// through the real inbox of a real server process: one fixture of our own per activity and
// object shape each program sends (test/fixtures/interop/README.md says which document each
// stands for), moved to a loopback peer under a fresh path, addressed to a public room as the
// program would address it, signed, delivered, and judged through the HTTP API.

const fixtures = fileURLToPath(new URL("../fixtures/interop/", import.meta.url));
type Json = Record<string, unknown>;
const load = (file: string): Json => JSON.parse(readFileSync(join(fixtures, file), "utf8")) as Json;
const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
/** The receiving room as the fixtures name it (`rehost` moves it to the peer; then to the room). */
const fixtureRoom = "https://chat.example/rooms/lobby";

/** What the room must show after a delivery (the contract of issue 15). */
type Outcome =
  /** A message in the room's history. */
  | "message"
  /** A reaction on a message seeded beforehand. */
  | "reaction"
  /** A reaction (the embedded one, sent first) taken back. */
  | "unreact"
  /** An edit of a message seeded beforehand. */
  | "edit"
  /** A message seeded beforehand, deleted. */
  | "delete"
  /** The actor a member of the room. */
  | "member"
  /** The actor (made a member first) gone from the room. */
  | "leave"
  /** 422 problem documents: an activity type, or an object type, the server does not take. */
  | "unsupported_activity"
  | "unsupported_object"
  /** A document that cannot be valid: a 4xx. */
  | "invalid"
  /**
   * Taken (202) and then left aside on purpose, nothing stored: a Group's `Announce` into a
   * room it is not (only a room's own server announces into it).
   */
  | "ignored"
  /** Outside the contract (an activity the server takes but that means nothing here): no 5xx. */
  | "tolerated";

interface Case {
  /** `<program>/<name>.json` under test/fixtures/interop/. */
  file: string;
  expect: Outcome;
  /** The `@context` the program sends, for fixtures whose source document had none. */
  context?: unknown;
  /**
   * The fixture names no room (it is shared with tests that address it themselves): the room
   * is added to the `cc` of the activity and of its object, where these programs name a group.
   */
  address?: boolean;
  /** Text the message (or the edit) must contain; for refusals, text that must not appear. */
  text?: string;
  /** The object's `name`, shown as a heading before `text`. */
  title?: string;
  /** The message links to the original object (its `url`, or its id). */
  link?: boolean;
  /** A Question's options, listed in the message. */
  options?: string[];
  /** The emoji a reaction must have (a pattern: another server's custom emoji is keyed with the peer's host). */
  emoji?: string | RegExp;
  /** Other fixtures (objects) the program serves at their ids. */
  serve?: string[];
}

const lemmyContext = ["https://join-lemmy.org/context.json", "https://www.w3.org/ns/activitystreams"];
const asContext = "https://www.w3.org/ns/activitystreams";

const cases: Case[] = [
  // Mastodon
  { file: "mastodon/create-note-sensitive.json", expect: "message", text: "Otters hold hands while sleeping" },
  { file: "mastodon/create-note-contentmap-only.json", expect: "message", text: "Bonjour depuis la montagne" },
  {
    file: "mastodon/create-question-poll.json",
    address: true,
    expect: "message",
    text: "Which keyboard layout do you type on",
    link: true,
    options: ["QWERTY", "Colemak", "Dvorak"],
  },
  { file: "mastodon/update-note.json", expect: "edit", text: "Corrected: the ferry leaves at nine" },
  { file: "mastodon/like-compact.json", expect: "reaction" },
  { file: "mastodon/undo-like-compact.json", expect: "unreact" },
  { file: "mastodon/delete-tombstone-signed.json", expect: "delete" },
  { file: "mastodon/follow-compact.json", expect: "member" },
  { file: "mastodon/undo-follow.json", expect: "leave" },
  { file: "mastodon/announce-status.json", expect: "tolerated" },
  { file: "mastodon/block.json", expect: "tolerated" },
  { file: "mastodon/flag.json", expect: "tolerated" },
  { file: "mastodon/move.json", expect: "unsupported_activity" },
  { file: "mastodon/update-person.json", expect: "tolerated" },
  // Pleroma / Akkoma
  { file: "pleroma/create-note.json", expect: "message", text: "Pancakes are a valid dinner" },
  { file: "pleroma/create-chat-message-litepub.json", expect: "message", text: "Anyone up for chess later" },
  {
    file: "pleroma/create-question.json",
    expect: "message",
    text: "Best season for hiking",
    link: true,
    options: ["Spring", "Autumn"],
  },
  { file: "pleroma/emoji-react-litepub.json", expect: "reaction", emoji: "🎉" },
  { file: "pleroma/akkoma-emoji-react-custom.json", expect: "reaction", emoji: /^:blobcatheart@127\.0\.0\.1:\d+:$/ },
  { file: "pleroma/delete.json", expect: "delete" },
  { file: "pleroma/follow.json", expect: "member" },
  // Lemmy (its test documents carry no @context: Lemmy 0.19 sends this one)
  {
    file: "lemmy/create-page-link-post.json",
    address: true,
    context: lemmyContext,
    expect: "message",
    title: "Overwintering dahlias in pots",
    text: "Lifted mine last week",
    link: true,
  },
  { file: "lemmy/create-note.json", context: lemmyContext, expect: "message", text: "Count me in for the compost" },
  { file: "lemmy/create-chat-message.json", expect: "message", text: "Private hello from Lemmy" },
  {
    file: "lemmy/announce-create-note.json",
    context: lemmyContext,
    expect: "ignored",
    text: "Relayed by the bicycles community",
  },
  { file: "lemmy/update-page.json", context: lemmyContext, expect: "edit", text: "Opening hours changed for winter" },
  { file: "lemmy/delete-page.json", context: lemmyContext, expect: "delete" },
  { file: "lemmy/like-note.json", context: lemmyContext, expect: "reaction" },
  { file: "lemmy/undo-like-note.json", context: lemmyContext, expect: "unreact" },
  { file: "lemmy/dislike-post.json", address: true, context: lemmyContext, expect: "unsupported_activity" },
  { file: "lemmy/follow.json", context: lemmyContext, expect: "member" },
  { file: "lemmy/undo-follow.json", context: lemmyContext, expect: "leave" },
  { file: "lemmy/report-page.json", context: lemmyContext, expect: "tolerated" },
  { file: "lemmy/lock-page.json", context: lemmyContext, expect: "unsupported_activity" },
  { file: "lemmy/warn.json", context: lemmyContext, expect: "unsupported_activity" },
  { file: "lemmy/resolve-report.json", context: lemmyContext, expect: "unsupported_activity" },
  { file: "lemmy/block-user.json", context: lemmyContext, expect: "tolerated" },
  { file: "lemmy/update-community.json", context: lemmyContext, expect: "tolerated" },
  // Mbin
  {
    file: "mbin/create-page-entry.json",
    expect: "message",
    title: "Knitting patterns for beginners",
    link: true,
  },
  { file: "mbin/create-note-comment.json", expect: "message", text: "Garter stitch is forgiving" },
  { file: "mbin/announce-create-entry.json", expect: "ignored", text: "Bring what you will not use" },
  { file: "mbin/update-page-entry.json", expect: "edit", text: "Now with a pattern for mittens" },
  { file: "mbin/delete-tombstone.json", expect: "delete" },
  { file: "mbin/like.json", expect: "reaction" },
  { file: "mbin/undo-like.json", expect: "unreact" },
  { file: "mbin/follow-magazine.json", expect: "member" },
  { file: "mbin/undo-follow.json", expect: "leave" },
  { file: "mbin/flag.json", expect: "tolerated" },
  { file: "mbin/lock.json", expect: "unsupported_activity" },
  { file: "mbin/announce-like.json", expect: "tolerated" },
  // GoToSocial
  { file: "gotosocial/create-note.json", expect: "message", text: "Sourdough starter is alive" },
  {
    file: "gotosocial/create-iri-only.json",
    expect: "message",
    text: "Fetched by its address",
    serve: ["gotosocial/note-tag-object.json"],
  },
  { file: "gotosocial/delete-no-id.json", expect: "delete" },
  { file: "gotosocial/announce-self-boost.json", expect: "tolerated" },
  { file: "gotosocial/flag.json", expect: "tolerated" },
  { file: "gotosocial/move.json", expect: "unsupported_activity" },
  { file: "gotosocial/accept-like-request.json", expect: "tolerated" },
  // GNU social
  { file: "gnusocial/create-note.json", expect: "message", text: "Replying from GNU social" },
  {
    file: "gnusocial/create-page.json",
    expect: "message",
    title: "Notes on federation",
    text: "A page with a title",
    link: true,
  },
  { file: "gnusocial/like-note.json", expect: "reaction" },
  // Hubzilla
  {
    file: "hubzilla/create-note-named.json",
    expect: "message",
    title: "Snow on the allotment",
    text: "Nothing to dig today",
  },
  { file: "hubzilla/create-image.json", expect: "message", title: "harbour-at-dusk.jpg", link: true },
  { file: "hubzilla/follow-embedded-actor.json", expect: "member" },
  // lotide
  {
    file: "lotide/create-page.json",
    expect: "message",
    title: "A link worth reading",
    text: "A link worth reading",
    link: true,
  },
  { file: "lotide/create-note-reply.json", expect: "message", text: "Comment from lotide" },
  { file: "lotide/delete-note.json", expect: "delete" },
  { file: "lotide/follow.json", expect: "member" },
  // Mobilizon
  {
    file: "mobilizon/create-event.json",
    expect: "message",
    title: "Repair cafe",
    text: "Bring a broken toaster",
    link: true,
  },
  {
    file: "mobilizon/create-event-group.json",
    expect: "message",
    title: "Group picnic",
    text: "Blankets provided",
    link: true,
  },
  { file: "mobilizon/join.json", expect: "member" },
  { file: "mobilizon/leave.json", expect: "leave" },
  { file: "mobilizon/invite.json", expect: "tolerated" },
  // PeerTube
  {
    file: "peertube/create-video.json",
    expect: "message",
    title: "Building a bird box",
    text: "Ten minutes of sawing",
    link: true,
  },
  { file: "peertube/create-comment.json", expect: "message", text: "Great video about bird boxes" },
  { file: "peertube/announce-video.json", expect: "invalid" },
  { file: "peertube/announce-video.json", context: asContext, expect: "tolerated" },
  // Plume
  {
    file: "plume/create-article.json",
    expect: "message",
    title: "Writing in the open",
    text: "Drafts are public here",
    link: true,
  },
  // Prismo (its test document has no @context at the top: refused as it is)
  { file: "prismo/create-article.json", expect: "invalid", text: "Link aggregators and federation" },
  {
    file: "prismo/create-article.json",
    context: asContext,
    expect: "message",
    title: "Link aggregators and federation",
    text: "Votes travel between servers",
    link: true,
  },
  // Roadhouse (Streams)
  { file: "roadhouse/create-note.json", expect: "message", text: "Comments work again" },
  // WordPress
  {
    file: "wordpress/create-article.json",
    expect: "message",
    title: "Plugins we trust",
    text: "Three plugins for a small blog",
    link: true,
  },
  { file: "wordpress/create-note.json", expect: "message", text: "Hello from a WordPress comment" },
  { file: "wordpress/announce-update-article.json", expect: "tolerated" },
  // BookWyrm
  // Its RsaSignature2017 makes Fedify normalise the document to check it, and JSON-LD refuses
  // the attachment's `"id": null` there (400): a known refusal, in FEDERATION.md.
  { file: "bookwyrm/create-review-article.json", expect: "invalid", text: "Slow but rewarding" },
  { file: "bookwyrm/create-generated-note.json", expect: "unsupported_object", text: "started reading" },
  { file: "bookwyrm/create-comment.json", expect: "unsupported_object", text: "Halfway through and hooked" },
  { file: "bookwyrm/create-quotation.json", expect: "unsupported_object", text: "The sea keeps no diary" },
  // Discourse
  {
    file: "discourse/create-note-topic.json",
    expect: "message",
    title: "Monthly meetup notes",
    text: "We talked about moderation tools",
  },
  // Funkwhale
  {
    file: "funkwhale/create-audio.json",
    expect: "message",
    title: "Field recording: rain on tin",
    text: "Eight minutes of rain",
    link: true,
  },
  // Gancio (its test document has no @context)
  { file: "gancio/create-event-place.json", address: true, expect: "invalid", text: "Repair café" },
  {
    file: "gancio/create-event-place.json",
    address: true,
    context: asContext,
    expect: "message",
    title: "Repair café",
    text: "Elm Street",
    link: true,
  },
  // Owncast
  { file: "owncast/create-note-live.json", expect: "message", text: "Live now: painting a fox" },
];

/** What the API shows of a message, as far as these cases look. */
interface Shown extends MessageBody {
  content: string;
  author: { handle: string } | null;
  reactions: { emoji: string; count: number }[];
  editedAt: string | null;
  deletedAt: string | null;
}

/** Applies `f` to every object in a JSON document (not inside `@context`), depth first. */
function visit(value: unknown, f: (node: Json) => void): void {
  if (Array.isArray(value)) for (const item of value) visit(item, f);
  else if (value != null && typeof value === "object") {
    f(value as Json);
    for (const [key, child] of Object.entries(value)) if (key !== "@context") visit(child, f);
  }
}

/** The IRI of a reference (an IRI, an embedded object, or the first of an array of them). */
function idOf(ref: unknown): string | undefined {
  if (typeof ref === "string") return ref;
  if (Array.isArray(ref)) return idOf(ref[0]);
  if (ref != null && typeof ref === "object") return idOf((ref as Json).id);
  return undefined;
}

const actorTypes = new Set<string>(["Person", "Group", "Application", "Organization", "Service"]);
const activityTypes = new Set([
  "Create",
  "Update",
  "Delete",
  "Like",
  "EmojiReact",
  "Dislike",
  "Announce",
  "Follow",
  "Undo",
  "Join",
  "Leave",
]);

describe("interop corpus: one fixture per program and shape, through the real inbox", () => {
  let federated: Federated;
  let server: ServerProcess;
  let peer: Peer;
  let alice: User;
  let room: { id: string; url: string };
  let serial = 0;
  /** The peer's actors by IRI (a fixture's actors get fresh IRIs under its own path). */
  const actors = new Map<string, PeerActor>();

  beforeAll(async () => {
    federated = await startFederated("fedchat-corpus-");
    ({ server, peer } = federated);
    alice = await register(server, "alice");
    room = await ok<{ id: string; url: string }>(201, server, alice.token, "POST", "/api/v1/rooms", {
      name: "Corpus",
      visibility: "public",
    });
  }, 60_000);

  showServerOutput(() => server);
  afterAll(async () => {
    await federated?.close();
  });

  const history = () => roomMessages<Shown>(server, alice, room.id);
  const inbox = () => `${room.url}/inbox`;
  const handleOf = (actor: PeerActor) => `${actor.document.preferredUsername as string}@${peer.host}`;
  const members = () => memberHandles(server, alice, room.id);

  /**
   * The fixture moved to the peer under `/c<n>` (fresh ids for every case), the room's IRIs
   * made the real room's, and `@context` IRIs of our `.example` hosts moved to the peer's root
   * (a per-instance context, such as Pleroma's `/schemas/litepub-0.1.jsonld`, stays at the
   * path the program serves it at). Returns the document and the context paths on the peer.
   */
  function place(
    file: string,
    prefix: string,
    { context, address }: Pick<Case, "context" | "address"> = {},
  ): { doc: Json; contextPaths: string[] } {
    const source = load(file);
    if (context !== undefined) source["@context"] = context;
    if (address) {
      for (const node of [source, source.object]) {
        if (node == null || typeof node !== "object") continue;
        const cc = (node as Json).cc;
        (node as Json).cc = [...(Array.isArray(cc) ? cc : cc == null ? [] : [cc]), fixtureRoom];
      }
    }
    const roomPath = new URL(fixtureRoom).pathname;
    const doc = rehost(source, prefix, {
      [`${prefix}${roomPath}`]: room.url,
      [`${prefix}${roomPath}/followers`]: `${room.url}/followers`,
    }) as Json;
    const contextPaths: string[] = [];
    const moveContext = (ctx: unknown): unknown => {
      if (Array.isArray(ctx)) return ctx.map(moveContext);
      if (typeof ctx !== "string") return ctx;
      const url = URL.canParse(ctx) ? new URL(ctx) : undefined;
      if (url == null || !url.hostname.endsWith(".example")) return ctx;
      contextPaths.push(url.pathname);
      return `${peer.url}${url.pathname}`;
    };
    visit(doc, (node) => {
      if ("@context" in node) node["@context"] = moveContext(node["@context"]);
    });
    if ("@context" in doc) doc["@context"] = moveContext(doc["@context"]);
    return { doc, contextPaths };
  }

  /** A peer actor at the IRI (its path under the case's prefix), made once. */
  async function actorAt(iri: string, type: ActorType): Promise<PeerActor> {
    const known = actors.get(iri);
    if (known) return known;
    const url = new URL(iri);
    const [prefix, ...segments] = url.pathname.split("/").filter(Boolean);
    // Named after the fixture's actor, with the case's prefix: handles stay unique per case.
    const name = `${(segments.pop() ?? "").toLowerCase().replace(/[^a-z0-9_]/g, "") || "actor"}_${prefix}`;
    const actor = await peer.actor(name, { type, path: url.pathname });
    actors.set(iri, actor);
    return actor;
  }

  /**
   * Makes every actor the document names on the peer: the signer, an embedded activity's actor
   * and the authors (`attributedTo`) of the object. An `Announce` of an activity is a Group's.
   */
  async function actorsOf(doc: Json): Promise<PeerActor> {
    const own = (iri: string | undefined): iri is string => iri?.startsWith(peer.url) === true;
    const typeOf = (ref: unknown, fallback: ActorType): ActorType => {
      const embedded = Array.isArray(ref) ? ref[0] : ref;
      const type = embedded != null && typeof embedded === "object" ? (embedded as Json).type : undefined;
      return typeof type === "string" && actorTypes.has(type) ? (type as ActorType) : fallback;
    };
    const object = doc.object != null && typeof doc.object === "object" ? (doc.object as Json) : undefined;
    const relays = object != null && typeof object.type === "string" && activityTypes.has(object.type);
    const created =
      relays && object?.object != null && typeof object.object === "object" ? (object.object as Json) : object;
    if (relays && own(idOf(object?.actor)))
      await actorAt(idOf(object?.actor) as string, typeOf(object?.actor, "Person"));
    const signer = idOf(doc.actor);
    if (!own(signer)) throw new Error("the fixture has no actor on the peer");
    // An actor updating itself (Update{Group}) is of the type it says it is.
    const itself = object != null && object.id === signer ? object : undefined;
    const actor = await actorAt(
      signer,
      typeOf(doc.actor, itself ? typeOf(itself, "Person") : doc.type === "Announce" && relays ? "Group" : "Person"),
    );
    const authors = created?.attributedTo;
    for (const author of Array.isArray(authors) ? authors : [authors]) {
      if (own(idOf(author))) await actorAt(idOf(author) as string, typeOf(author, "Person"));
    }
    return actor;
  }

  /** Serves the document's embedded objects (not actors) at their ids, as their servers do. */
  function serveObjects(doc: Json) {
    visit(doc.object, (node) => {
      const id = typeof node.id === "string" ? node.id : undefined;
      if (id == null || !id.startsWith(peer.url) || id.includes("#") || actors.has(id)) return;
      if (typeof node.type === "string" && actorTypes.has(node.type)) return;
      peer.serve(new URL(id).pathname, { "@context": doc["@context"], ...node });
    });
  }

  /** A plain Create{Note} by `actor` with the given id, delivered and waited for. */
  async function seed(actor: PeerActor, id: string, n: number): Promise<Shown> {
    const text = `seed message ${n}`;
    const note = {
      id,
      type: "Note",
      attributedTo: actor.id,
      to: [PUBLIC],
      cc: [room.url],
      content: `<p>${text}</p>`,
      published: new Date().toISOString(),
    };
    peer.serve(new URL(id).pathname, { "@context": asContext, ...note });
    const create = {
      "@context": asContext,
      id: `${actor.id}/seeds/${n}`,
      type: "Create",
      actor: actor.id,
      object: note,
    };
    const res = await peer.send(actor, inbox(), create);
    expect(res.status, res.body).toBe(202);
    return await eventually(`the seed message ${n}`, async () =>
      (await history()).find((m) => m.content.includes(text)),
    );
  }

  /** The message (by id) once `ready` holds for it. */
  const messageWhen = (what: string, id: string, ready: (m: Shown) => boolean) =>
    eventually(what, async () => (await history()).find((m) => m.id === id && ready(m)));

  /** The IRI the activity is about (for an Undo: its embedded activity's object). */
  function targetOf(doc: Json): string {
    const object = doc.type === "Undo" ? (doc.object as Json).object : doc.object;
    const target = idOf(object);
    if (target == null) throw new Error("no object");
    return target;
  }

  /** The embedded activity of an Undo, standing alone (as the program sent it before). */
  function undone(doc: Json): Json {
    return { "@context": doc["@context"] ?? asContext, ...(doc.object as Json) };
  }

  async function joinFirst(actor: PeerActor, n: number) {
    const follow = {
      "@context": asContext,
      id: `${actor.id}/joins/${n}`,
      type: "Follow",
      actor: actor.id,
      object: room.url,
    };
    expect((await peer.send(actor, inbox(), follow)).status).toBe(202);
    await eventually("the actor to be a member", async () =>
      (await members()).includes(handleOf(actor)) ? true : undefined,
    );
  }

  /** The URLs a message may link the original object by: its `url` (or the links in it) and its id. */
  function linksOf(object: Json): string[] {
    const links = [idOf(object)];
    const urls = Array.isArray(object.url) ? object.url : [object.url];
    for (const url of urls) links.push(typeof url === "string" ? url : ((url as Json | null)?.href as string));
    return links.filter((l): l is string => typeof l === "string");
  }

  it("has a case for every fixture that names the room", () => {
    const named = readdirSync(fixtures, { recursive: true, encoding: "utf8" }).filter(
      (file) => file.endsWith(".json") && readFileSync(join(fixtures, file), "utf8").includes(fixtureRoom),
    );
    const covered = new Set(cases.flatMap((c) => [c.file, ...(c.serve ?? [])]));
    expect(named.filter((file) => !covered.has(file))).toEqual([]);
  });

  it.each(cases.map((c) => [`${c.file} (${c.context ? "with the program's context: " : ""}${c.expect})`, c] as const))(
    "%s",
    async (_name, c) => {
      const n = ++serial;
      const prefix = `${peer.url}/c${n}`;
      const { doc, contextPaths } = place(c.file, prefix, c);
      const signer = await actorsOf(doc);
      for (const file of c.serve ?? []) {
        const object = place(file, prefix).doc;
        peer.serve(new URL(object.id as string).pathname, object);
      }
      serveObjects(doc);

      let target: Shown | undefined;
      if (c.expect === "reaction" || c.expect === "edit" || c.expect === "delete") {
        target = await seed(signer, targetOf(doc), n);
      }
      if (c.expect === "unreact") {
        target = await seed(signer, targetOf(doc), n);
        expect((await peer.send(signer, inbox(), undone(doc))).status).toBe(202);
        await messageWhen("the reaction", target.id, (m) => m.reactions.length > 0);
      }
      if (c.expect === "leave") await joinFirst(signer, n);
      // An edit counts when it is newer than the stored version.
      if (c.expect === "edit") (doc.object as Json).updated = new Date().toISOString();
      if (c.expect === "delete") peer.gone(targetOf(doc));
      const before = await history();

      const res = await peer.send(signer, inbox(), doc);
      const detail = `${res.status} ${res.body}`;

      switch (c.expect) {
        case "message": {
          expect(res.status, detail).toBe(202);
          const text = (c.text ?? c.title) as string;
          const message = await eventually(`"${text}" in the room`, async () =>
            (await history()).find((m) => m.content.includes(text)),
          );
          const create = (doc.type === "Announce" ? doc.object : doc) as Json;
          const author = actors.get(idOf(create.actor) as string) as PeerActor;
          expect(message.author?.handle).toBe(handleOf(author));
          if (c.title) {
            expect(message.content).toContain(c.title);
            if (c.text && c.text !== c.title) {
              expect(message.content.indexOf(c.title)).toBeLessThan(message.content.indexOf(c.text));
            }
          }
          if (c.link) {
            const object = (
              typeof create.object === "string" ? load((c.serve ?? [])[0] as string) : create.object
            ) as Json;
            const links = linksOf(object);
            expect(
              links.some((l) => message.content.includes(l)),
              `${message.content} links to one of ${links}`,
            ).toBe(true);
          }
          for (const option of c.options ?? []) expect(message.content).toContain(option);
          break;
        }
        case "reaction": {
          expect(res.status, detail).toBe(202);
          const reacted = await messageWhen("the reaction", (target as Shown).id, (m) => m.reactions.length > 0);
          if (c.emoji) {
            const emoji = c.emoji instanceof RegExp ? expect.stringMatching(c.emoji) : c.emoji;
            expect(reacted.reactions).toContainEqual(expect.objectContaining({ emoji, count: 1 }));
          }
          break;
        }
        case "unreact":
          expect(res.status, detail).toBe(202);
          await messageWhen("the reaction to be undone", (target as Shown).id, (m) => m.reactions.length === 0);
          break;
        case "edit": {
          expect(res.status, detail).toBe(202);
          const text = c.text as string;
          const edited = await messageWhen(
            "the edit",
            (target as Shown).id,
            (m) => m.content.includes(text) && m.editedAt != null,
          );
          expect(edited.seq).toBe((target as Shown).seq);
          break;
        }
        case "delete":
          expect(res.status, detail).toBe(202);
          await messageWhen("the delete", (target as Shown).id, (m) => m.deletedAt != null);
          break;
        case "member":
          expect(res.status, detail).toBe(202);
          await eventually("the actor to be a member", async () =>
            (await members()).includes(handleOf(signer)) ? true : undefined,
          );
          break;
        case "leave":
          expect(res.status, detail).toBe(202);
          await eventually("the actor to leave", async () =>
            (await members()).includes(handleOf(signer)) ? undefined : true,
          );
          break;
        case "unsupported_activity":
        case "unsupported_object":
          expect(res.status, detail).toBe(422);
          expect(res.headers.get("content-type"), detail).toMatch(/^application\/problem\+json/);
          expect(res.json?.code, detail).toBe(c.expect);
          break;
        case "invalid":
          expect(res.status, detail).toBeGreaterThanOrEqual(400);
          expect(res.status, detail).toBeLessThan(500);
          break;
        case "ignored": {
          expect(res.status, detail).toBe(202);
          // The same server's next delivery is taken after it: by then it was left aside.
          await seed(signer, `${prefix}/after-ignored`, n);
          expect((await history()).map((m) => m.content).join("\n")).not.toContain(c.text);
          break;
        }
        case "tolerated":
          expect(res.status, detail).toBeLessThan(500);
          break;
      }
      if (c.expect === "unsupported_activity" || c.expect === "unsupported_object" || c.expect === "invalid") {
        // Answered before anything is queued: nothing may have been stored, nor anyone admitted.
        const after = await history();
        const added = after.filter((m) => !before.some((b) => b.id === m.id));
        expect(added.filter((m) => m.author?.handle === handleOf(signer))).toEqual([]);
        if (c.text) expect(after.map((m) => m.content).join("\n")).not.toContain(c.text);
        expect(await members()).not.toContain(handleOf(signer));
      }
      for (const path of contextPaths) expect(peer.hitsOn(path), `requests for the context ${path}`).toBe(0);
    },
    60_000,
  );
});
