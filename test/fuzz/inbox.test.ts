/**
 * Fuzzes the ActivityPub inboxes (`/inbox`, `/users/<name>/inbox`, `/rooms/<id>/inbox`):
 * activity-shaped JSON with hostile fields, signed by a peer on loopback so that it passes
 * the signature check and reaches the listeners; and unsigned, mis-signed and garbage bodies.
 *
 * The property: an answer within the timeout, never a 5xx; a refusal is a coded problem that
 * changed nothing; an accepted delivery (202: Fedify queues it) is handled without an error
 * (no listener failure logged, no retry left in the queue) and nothing crashes.
 */
import { randomUUID } from "node:crypto";
import { signRequest } from "@fedify/fedify";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.ts";
import { Peer, type PeerActor } from "../helpers/peer.ts";
import {
  anyBytes,
  anyString,
  dangerousKeys,
  encodeSegment,
  headerValue,
  jsonText,
  nested,
  shortString,
} from "./arbitraries.ts";
import {
  type Answer,
  api,
  expectNoCrash,
  expectUnchanged,
  type FuzzServer,
  type FuzzUser,
  formatLog,
  fuzzParameters,
  observe,
  preview,
  problemOf,
  propertyTimeoutMs,
  send,
  signUp,
  startFuzzServer,
} from "./support.ts";

const AS = "https://www.w3.org/ns/activitystreams";
const PUBLIC = `${AS}#Public`;
/**
 * Fedify's own queue and the delivery streams, which change with any delivery, and the count
 * of refused deliveries, which a refusal adds to by design.
 */
const federationTables = [
  "fedify_queue",
  "federation_outbox",
  "federation_cursor",
  "delivery_streams",
  "inbox_refusals",
];

let server: FuzzServer;
let peer: Peer;
let mallory: PeerActor;
/** An actor whose keys sign for the actors made per input (making keys takes too long for each). */
let template: PeerActor;
let host: FuzzUser;
/** The IRIs activities may name, by symbol (resolved when an input is sent). */
const iris: Record<string, string> = {};

beforeAll(async () => {
  [server, peer] = await Promise.all([startFuzzServer({ QUEUE_WORKERS: "1" }), Peer.start()]);
  host = await signUp(server, "host");
  const room = await api<{ id: string; url: string }>(
    server,
    host,
    "POST",
    "/api/v1/rooms",
    { name: "Inbox", visibility: "public" },
    201,
  );
  const hidden = await api<{ id: string; url: string }>(
    server,
    host,
    "POST",
    "/api/v1/rooms",
    { name: "Hidden", visibility: "private" },
    201,
  );
  const message = await api<{ id: string }>(
    server,
    host,
    "PUT",
    `/api/v1/rooms/${room.id}/messages/m1`,
    { content: "hello" },
    201,
  );
  const invite = await api<{ code: string }>(server, host, "POST", `/api/v1/rooms/${hidden.id}/invites`, {}, 201);
  [mallory, template] = await Promise.all([peer.actor("mallory"), peer.actor("template")]);
  Object.assign(iris, {
    room: room.url,
    hiddenRoom: hidden.url,
    user: `${server.url}/users/${host.username}`,
    message: `${server.url}/messages/${message.id}`,
    invite: `${server.url}/invite/${invite.code}`,
    instance: `${server.url}/actor`,
    missingRoom: `${server.url}/rooms/${randomUUID()}`,
    missingUser: `${server.url}/users/nobody_here`,
    self: mallory.id,
    peerThing: `${peer.url}/things/1`,
    public: PUBLIC,
    urn: "urn:uuid:00000000-0000-0000-0000-000000000000",
    javascript: "javascript:alert(1)",
    data: "data:text/plain,hi",
    relative: "/users/x",
    garbage: "not an iri",
    empty: "",
  });
  // mallory joins the public room for real: later Creates, Likes and Updates reach the domain.
  const join = { "@context": AS, id: `${mallory.id}/join/1`, type: "Join", actor: mallory.id, object: room.url };
  expect((await peer.send(mallory, `${server.url}/inbox`, join)).status).toBe(202);
  await drained();
  // Keys are made on first use (a room's when its actor is first served): made now, they are
  // not counted against the first delivery that happens to need them.
  for (const actor of [room.url, hidden.url, iris.user, iris.instance]) {
    const answer = await send(server.url, "GET", new URL(actor as string).pathname, {
      headers: { accept: "application/activity+json" },
    });
    expect(answer.status, `${actor}: ${answer.text}`).toBe(200);
  }
}, 60_000);

afterAll(async () => {
  await peer?.close();
  await server?.close();
});

/**
 * Waits until the queue has handled every inbox activity and the delivery streams have made
 * every delivery that is due.
 * An inbox activity put off to later is a retry (a listener failed): that fails at once. A
 * delivery put off to later (to an inbox that a hostile actor document named, say) is the
 * consequence of an accepted input, not a failure; it is dropped, so that its later attempts
 * (and a member dropped for good) do not land in another input's snapshot.
 */
async function drained(ms = 8000): Promise<void> {
  const db = server.instance.database.db;
  const deadline = Date.now() + ms;
  for (;;) {
    await db.execute(
      sql`delete from fedify_queue where message->>'type' <> 'inbox' and deliver_at > now() + interval '200 milliseconds'`,
    );
    const [row] = await queryRows<{ n: number; retries: number }>(
      db,
      sql`select count(*)::int as n,
                 count(*) filter (where message->>'type' = 'inbox' and deliver_at > now() + interval '200 milliseconds')::int as retries
          from fedify_queue`,
    );
    // Streams to inboxes that fail are given up on, as queued deliveries are above.
    await db.execute(sql`update delivery_streams set position = queued, failures = 0 where failures > 0`);
    const [streams] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from delivery_streams where queued > position`,
    );
    if (Number(row?.n) === 0 && Number(streams?.n) === 0) return;
    if (Number(row?.retries) > 0 || Date.now() > deadline) {
      const rows = await queryRows<{ message: unknown; deliver_at: unknown }>(
        db,
        sql`select message, deliver_at from fedify_queue limit 3`,
      );
      const why =
        Number(row?.retries) > 0
          ? "an inbox activity is waiting to be retried"
          : `the queue still holds ${row?.n} messages after ${ms} ms`;
      throw new Error(`${why}: ${JSON.stringify(rows).slice(0, 1500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A generated activity: JSON whose strings "§name" become IRIs, "§fresh" a new IRI on the peer. */
type Shape = unknown;

const iriSymbols = [
  "room",
  "hiddenRoom",
  "user",
  "message",
  "invite",
  "instance",
  "missingRoom",
  "missingUser",
  "self",
  "peerThing",
  "public",
  "urn",
  "javascript",
  "data",
  "relative",
  "garbage",
  "empty",
] as const;
const iri = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...iriSymbols).map((s) => `§${s}`) },
  { weight: 1, arbitrary: shortString },
);
const activityTypes = [
  "Follow",
  "Join",
  "Leave",
  "Undo",
  "Create",
  "Update",
  "Delete",
  "Like",
  "EmojiReact",
  "Announce",
  "Add",
  "Remove",
  "Block",
  "Accept",
  "Reject",
  "Invite",
  "Move",
  "Flag",
  "Question",
  "Frobnicate",
] as const;
const objectTypes = [
  "Note",
  "ChatMessage",
  "Article",
  "Tombstone",
  "Person",
  "Group",
  "Image",
  "Mention",
  "Emoji",
] as const;
const text = fc.oneof(anyString, fc.constantFrom("<p>hi</p>", "<script>x</script>", "👍", ":blob:", ""));
const addressing = fc.oneof(iri, fc.array(iri, { maxLength: 3 }));

/** Fields an object may carry, hostile values included. */
function objectFields(inner: fc.Arbitrary<Shape>): fc.Arbitrary<[string, Shape][]> {
  const field = fc.oneof(
    fc.tuple(fc.constant("id"), fc.oneof(fc.constant("§fresh"), iri)),
    fc.tuple(fc.constant("attributedTo"), fc.oneof(fc.constant("§self"), iri)),
    fc.tuple(fc.constantFrom("to", "cc", "audience", "context"), addressing),
    fc.tuple(
      fc.constantFrom("content", "name", "summary", "contentMap", "mediaType"),
      fc.oneof(text, fc.dictionary(shortString, text, { maxKeys: 2 })),
    ),
    fc.tuple(
      fc.constantFrom("published", "updated"),
      fc.oneof(fc.constantFrom("2024-01-01T00:00:00Z", "yesterday", "9999-99-99", ""), text, inner),
    ),
    fc.tuple(fc.constantFrom("inReplyTo", "url", "quoteUrl", "instrument", "target", "result"), fc.oneof(iri, inner)),
    fc.tuple(
      fc.constant("tag"),
      fc.array(fc.record({ type: fc.constantFrom("Mention", "Emoji", "Hashtag", "Link"), href: iri, name: text }), {
        maxLength: 3,
      }),
    ),
    fc.tuple(
      fc.constant("attachment"),
      fc.array(
        fc.record({ type: fc.constantFrom("Document", "Image", "Link"), url: iri, mediaType: text, name: text }),
        { maxLength: 2 },
      ),
    ),
    fc.tuple(fc.constantFrom(...dangerousKeys), inner),
  );
  return fc.array(field, { maxLength: 6 });
}

/** An activity-shaped value: mostly valid-looking, with hostile fields. */
const activityShape: fc.Arbitrary<Shape> = fc.letrec<{ activity: Shape; object: Shape; value: Shape }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    iri,
    text,
    fc.integer(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 3 }),
    tie("object"),
  ),
  object: fc
    .tuple(fc.constantFrom(...objectTypes), objectFields(tie("value")))
    .map(([type, fields]) =>
      Object.fromEntries([["type", type], ["id", "§fresh"], ["attributedTo", "§self"], ["to", ["§room"]], ...fields]),
    ),
  activity: fc
    .tuple(
      fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...activityTypes) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
      ),
      fc.oneof(iri, tie("object"), tie("activity")),
      objectFields(tie("value")),
    )
    .map(([type, object, fields]) =>
      Object.fromEntries([
        ["@context", AS],
        ["id", "§fresh"],
        ["type", type],
        ["actor", "§self"],
        ["object", object],
        ["to", ["§room"]],
        ...fields,
      ]),
    ),
})).activity;

/** The inbox an input is delivered to. */
const inboxTarget = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("shared", "shared", "shared", "room", "room", "user", "hiddenRoom") },
  { weight: 1, arbitrary: fc.constantFrom("missingRoom", "missingUser") },
  { weight: 1, arbitrary: shortString.map((s) => `raw:${encodeSegment(s)}`) },
);

function inboxUrl(target: string): string {
  if (target.startsWith("raw:")) return `${server.url}/users/${target.slice(4)}/inbox`;
  if (target === "shared") return `${server.url}/inbox`;
  return `${iris[target]}/inbox`;
}

/** Replaces the symbols of a shape with this run's IRIs: "§fresh" gets a new one each time it is met. */
function resolve(shape: Shape): unknown {
  if (typeof shape === "string" && shape.startsWith("§")) {
    const name = shape.slice(1);
    return name === "fresh" ? `${mallory.id}/objects/${randomUUID()}` : (iris[name] ?? shape);
  }
  if (Array.isArray(shape)) return shape.map(resolve);
  if (shape != null && typeof shape === "object") {
    return Object.fromEntries(Object.entries(shape).map(([key, value]) => [key, resolve(value)]));
  }
  return shape;
}

/** Delivers bytes to an inbox, signed by `signer` over exactly those bytes (or over others, to mis-sign). */
async function deliver(
  url: string,
  body: Uint8Array,
  options: {
    signer?: PeerActor;
    contentType?: string;
    spec?: "rfc9421" | "draft-cavage-http-signatures-12";
    signedBody?: Uint8Array;
    headers?: Record<string, string>;
  },
): Promise<Answer> {
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? "application/activity+json",
    accept: "application/activity+json",
    ...options.headers,
  };
  if (options.signer) {
    const request = await signRequest(
      new Request(url, { method: "POST", headers, body: new Uint8Array(options.signedBody ?? body) }),
      options.signer.rsa.privateKey,
      new URL(options.signer.keyId),
      { spec: options.spec },
    );
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
  }
  const { pathname, search } = new URL(url);
  return await send(server.url, "POST", `${pathname}${search}`, { headers, body });
}

/**
 * Delivers one input and checks the property. A refusal must be a coded problem that changed
 * nothing; an acceptance must be handled (queue drained) without a listener failing.
 */
async function exercise(label: string, deliverIt: () => Promise<Answer>, mustRefuse: boolean): Promise<void> {
  try {
    await check(label, deliverIt, mustRefuse);
  } catch (error) {
    // A delivery that failed is retried by the queue later: gone now, so that it is not blamed
    // on the next input (shrinking replays many).
    await server.instance.database.db.execute(sql`delete from fedify_queue`);
    throw error;
  }
}

async function check(label: string, deliverIt: () => Promise<Answer>, mustRefuse: boolean): Promise<void> {
  const before = await server.snapshot(federationTables);
  const logMark = server.logs.length;
  const seen = await observe(server, async () => {
    const answer = await deliverIt();
    let stuck: unknown;
    if (answer.status < 400) await drained().catch((error) => (stuck = error));
    return { answer, stuck };
  });
  const { answer } = seen;
  // Ours only: Fedify logs at error level what remote servers get wrong (an activity type no
  // listener takes, a document that 404s, an inbox of nobody). Our inbox error handler's
  // warning means a listener threw; for a refused delivery it also hears of activities that
  // do not parse, which is the sender's fault and reported to the sender.
  const failures = server.logs
    .slice(logMark)
    .filter(
      (r) =>
        r.category[0] === "fedchat" &&
        (r.level === "error" ||
          r.level === "fatal" ||
          (answer.status < 400 && r.category.join(".") === "fedchat.inbox" && r.level === "warning")),
    );
  const context = () =>
    `${label}\n  -> ${answer.status} ${answer.headers["content-type"] ?? ""} ${preview(answer.text, 400)}` +
    failures.map((r) => `\n  log: ${formatLog(r)}`).join("");
  if (answer.status >= 500) throw new Error(`a ${answer.status} answer to ${context()}`);
  expectNoCrash(label, { crashes: seen.crashes, errors: [] });
  if (failures.length > 0) throw new Error(`the server logged a failure for ${context()}`);
  if (seen.stuck) throw new Error(`${(seen.stuck as Error).message}\n  for ${context()}`);
  if (answer.status >= 400 || mustRefuse) {
    try {
      problemOf(answer);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n  for ${context()}`);
    }
    expectUnchanged(`${context()}\n  which`, before, await server.snapshot(federationTables));
  }
}

/** Values a remote document may hold where text is expected. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: anyString },
  { weight: 1, arbitrary: fc.constantFrom("a\u0000b", "\ud800", "\u202eevil", "\u200b", "x".repeat(100_000), "", " ") },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.constant([]), fc.constant({})) },
  { weight: 1, arbitrary: fc.array(anyString, { maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.record({ "@value": anyString, "@language": fc.constantFrom("en", "", "\u0000", "zz-ZZ-x") }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constantFrom("Image", "Link", "Document"), url: iri, mediaType: anyString }),
  },
);

/** Fields of a remote actor's document, with hostile values. */
const actorOverrides = fc.dictionary(
  fc.constantFrom(
    "name",
    "summary",
    "preferredUsername",
    "icon",
    "image",
    "url",
    "endpoints",
    "attachment",
    "tag",
    "alsoKnownAs",
    "published",
    "manuallyApprovesFollowers",
    "type",
  ),
  hostileValue,
  { maxKeys: 4 },
);

/** Fields of a remote note's document, with hostile values. */
const noteOverrides = fc.dictionary(
  fc.constantFrom(
    "content",
    "contentMap",
    "name",
    "summary",
    "source",
    "tag",
    "attachment",
    "inReplyTo",
    "published",
    "updated",
    "url",
    "mediaType",
    "sensitive",
    "type",
  ),
  hostileValue,
  { maxKeys: 4 },
);

/**
 * Serves a new actor on the peer (signing with the template's keys) whose document carries
 * `overrides`, and a note by it carrying `noteFields`; returns the signer and the note's IRI.
 */
function hostileDocuments(overrides: Record<string, unknown>, noteFields: Record<string, unknown>) {
  const n = randomUUID();
  const id = `${peer.url}/users/h${n}`;
  const document = JSON.parse(JSON.stringify(template.document).replaceAll(template.id, id)) as Record<string, unknown>;
  Object.assign(document, resolve(overrides) as Record<string, unknown>);
  peer.serve(new URL(id).pathname, document);
  const note = {
    "@context": AS,
    id: `${peer.url}/notes/${n}`,
    type: "Note",
    attributedTo: id,
    to: [iris.room],
    content: "hello",
    ...(resolve(noteFields) as Record<string, unknown>),
  };
  peer.serve(new URL(note.id).pathname, note);
  const signer: PeerActor = {
    ...template,
    id,
    inbox: `${id}/inbox`,
    keyId: `${id}#main-key`,
    proofKeyId: `${id}#ed25519-key`,
    document,
  };
  return { signer, note };
}

describe("the inboxes", () => {
  it(
    "handle hostile activities signed by a real peer without a failure, or refuse them with a coded problem",
    async () => {
      const input = fc.record({
        target: inboxTarget,
        activity: activityShape,
        spec: fc.constantFrom("draft-cavage-http-signatures-12" as const, "rfc9421" as const),
        contentType: fc.constantFrom(
          "application/activity+json",
          'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
          "application/json",
        ),
      });
      await fc.assert(
        fc.asyncProperty(input, async ({ target, activity, spec, contentType }) => {
          const url = inboxUrl(target);
          const body = JSON.stringify(resolve(activity));
          await exercise(
            `POST ${url} signed (${spec}) [${contentType}] ${preview(body, 600)}`,
            () => deliver(url, Buffer.from(body), { signer: mallory, spec, contentType }),
            false,
          );
        }),
        fuzzParameters(80),
      );
    },
    propertyTimeoutMs,
  );

  it(
    "refuse unsigned, mis-signed and garbage deliveries with a coded problem and no change",
    async () => {
      const input = fc.record({
        target: inboxTarget,
        body: fc.oneof(
          activityShape.map((a) => Buffer.from(JSON.stringify(resolve(a)))),
          jsonText.map((t) => Buffer.from(t)),
          anyBytes,
          fc
            .integer({ min: 60, max: 5000 })
            .map((depth) => Buffer.from(`{"type":"Create","object":${nested(depth, "array")}}`)),
        ),
        how: fc.constantFrom("unsigned", "other-body", "garbage-signature", "wrong-type"),
        garbage: headerValue,
      });
      await fc.assert(
        fc.asyncProperty(input, async ({ target, body, how, garbage }) => {
          const url = inboxUrl(target);
          const bytes = new Uint8Array(body);
          const label = `POST ${url} ${how} ${preview(bytes, 400)}`;
          await exercise(
            label,
            () => {
              if (how === "other-body")
                return deliver(url, bytes, { signer: mallory, signedBody: Buffer.from('{"type":"Like"}') });
              if (how === "wrong-type") {
                const type = /^application\/(activity\+json|ld\+json|json)\s*(;|$)/i.test(garbage)
                  ? "text/plain"
                  : garbage;
                return deliver(url, bytes, { signer: mallory, contentType: type });
              }
              if (how === "garbage-signature") {
                return deliver(url, bytes, {
                  headers: {
                    signature: `keyId="${mallory.keyId}",algorithm="rsa-sha256",headers="(request-target) host date",signature="${Buffer.from(garbage).toString("base64")}"`,
                    date: new Date().toUTCString(),
                  },
                });
              }
              return deliver(url, bytes, {});
            },
            true,
          );
        }),
        fuzzParameters(80),
      );
    },
    propertyTimeoutMs,
  );

  it(
    "handle hostile actor and note documents fetched from the peer without a listener failing",
    async () => {
      const input = fc.record({
        actor: actorOverrides,
        note: noteOverrides,
        kind: fc.constantFrom("create-by-iri", "create-embedded", "follow-user", "join-room"),
      });
      await fc.assert(
        fc.asyncProperty(input, async ({ actor, note: noteFields, kind }) => {
          const { signer, note } = hostileDocuments(actor, noteFields);
          const activity: Record<string, unknown> = {
            "@context": AS,
            id: `${note.id}/activity`,
            actor: signer.id,
            to: [iris.room],
          };
          if (kind === "create-by-iri" || kind === "create-embedded") {
            Object.assign(activity, { type: "Create", object: kind === "create-by-iri" ? note.id : note });
          } else if (kind === "follow-user") {
            Object.assign(activity, { type: "Follow", object: iris.user });
          } else {
            Object.assign(activity, { type: "Join", object: iris.room });
          }
          const url = `${server.url}/inbox`;
          const body = JSON.stringify(activity);
          await exercise(
            `POST ${url} ${kind} by an actor with ${preview(JSON.stringify(actor), 300)} and a note with ${preview(JSON.stringify(noteFields), 300)}`,
            () => deliver(url, Buffer.from(body), { signer }),
            false,
          );
        }),
        fuzzParameters(30),
      );
    },
    propertyTimeoutMs,
  );
});

// Inputs the fuzzing found, each as a plain test.
describe("inbox input found by fuzzing", () => {
  /** A signed Create of a note by mallory into the public room, with `extra` in the note. */
  function createWith(extra: Record<string, unknown>): string {
    const note = {
      id: `${mallory.id}/notes/${randomUUID()}`,
      type: "Note",
      attributedTo: mallory.id,
      to: [iris.room],
      content: "hi",
      ...extra,
    };
    return JSON.stringify({
      "@context": AS,
      id: `${note.id}/create`,
      type: "Create",
      actor: mallory.id,
      to: [iris.room],
      object: note,
    });
  }

  it("refuses a signed activity holding a lone surrogate with a coded problem, not a 500", async () => {
    // Fedify queues the activity as received; the queue's jsonb column cannot hold "\ud800",
    // so the insert failed and the delivery got a 500 (its sender retries it for days).
    const url = `${server.url}/inbox`;
    const body = createWith({ content: "\ud800" });
    await exercise(`POST ${url} ${preview(body)}`, () => deliver(url, Buffer.from(body), { signer: mallory }), true);
  });

  it("refuses a signed activity holding a NUL character with a coded problem, not a 500", async () => {
    const url = `${iris.room}/inbox`;
    const body = createWith({ content: "a\u0000b" });
    await exercise(`POST ${url} ${preview(body)}`, () => deliver(url, Buffer.from(body), { signer: mallory }), true);
  });

  /** Delivers a Create by a fresh actor (its document carrying `actor`) of a note (carrying `note`), by IRI or embedded. */
  async function createFrom(actor: Record<string, unknown>, note: Record<string, unknown>, byIri: boolean) {
    const documents = hostileDocuments(actor, note);
    const activity = {
      "@context": AS,
      id: `${documents.note.id}/activity`,
      type: "Create",
      actor: documents.signer.id,
      to: [iris.room],
      object: byIri ? documents.note.id : documents.note,
    };
    const url = `${server.url}/inbox`;
    const body = JSON.stringify(activity);
    await exercise(
      `POST ${url} ${preview(body)}`,
      () => deliver(url, Buffer.from(body), { signer: documents.signer }),
      false,
    );
  }

  it("takes a message from an actor whose name holds a NUL without a listener failing", async () => {
    // rememberActor stored the name as given: PostgreSQL refused the NUL, the listener threw,
    // and every activity of that actor failed and was retried, for days.
    await createFrom({ name: "a\u0000b" }, {}, false);
  });

  it("takes a note fetched by its IRI whose content holds a NUL without a listener failing", async () => {
    // The embedded note is refused at the door (see above); fetched, the NUL reached the
    // messages insert, which failed, and the delivery was retried.
    await createFrom({}, { content: "a\u0000b" }, true);
  });

  it("answers a delivery signed by an actor whose published date is not a date without a 500", async () => {
    // Verifying the signature parses the signer's document; Temporal's RangeError ("invalid
    // RFC 9557 string: Z") escaped Fedify and our middleware, and the sender got a 500.
    await createFrom({ published: "" }, {}, false);
    await createFrom({ published: "yesterday" }, {}, false);
  });

  it("refuses an unsigned activity whose date is not a string with a coded problem, not a 500", async () => {
    // Fedify's vocabulary parser throws a TypeError (`v.@value.substring is not a function`)
    // on published, updated, startTime or duration given as a number, object, array or
    // boolean, in the activity or its object; only JSON-LD errors became a 400, so anyone
    // could get a 500 without signing anything.
    const url = `${server.url}/inbox`;
    for (const [where, value] of [
      ["object", 123],
      ["activity", {}],
      ["object", [1]],
      ["activity", true],
    ] as const) {
      const note: Record<string, unknown> = {
        type: "Note",
        id: `${mallory.id}/notes/${randomUUID()}`,
        attributedTo: mallory.id,
      };
      const activity: Record<string, unknown> = {
        "@context": AS,
        id: `${note.id}/create`,
        type: "Create",
        actor: mallory.id,
        object: note,
      };
      (where === "object" ? note : activity).published = value;
      const body = JSON.stringify(activity);
      await exercise(`POST ${url} unsigned ${body}`, () => deliver(url, Buffer.from(body), {}), true);
    }
  });
});
