/**
 * The fast path of the shared inbox (issue 14, "the inbound side keeps up"): the shape a busy
 * room relays most, an `Announce` by a `Group` we mirror of its member's `Create{Note}` with
 * an `eddsa-jcs-2022` proof, is read and verified on the JSON as received, without JSON-LD
 * expansion (three expansions an activity on the full path, most of its CPU), and stored in
 * batches (federation/relay-batch.ts) instead of through Fedify's queue.
 *
 * It takes only what it can judge exactly as the full path would, and hands anything else to
 * Fedify untouched (it answers `undefined`): a document whose `@context` could make a term
 * mean something else than ActivityStreams says, a property it does not read, a key that
 * cannot be fetched, a proof that does not verify as embedded (the full path then tries the
 * activity as it serialises alone, and re-fetches). Every check of the full path holds here:
 * the inbox guard's (limits, blocked servers, key/actor/id origins) ran before; the HTTP
 * signature is verified by Fedify's own verifier, and its key must be the `Announce` actor's;
 * the `Group` must be a room we mirror; the proof's key, fetched by Fedify's `fetchKey` as its
 * proof check does, must be of the author's server and controlled by the author; the note must be the author's, on the author's server; a replayed
 * activity id is applied once (the same mark Fedify's queue keeps).
 * @module
 */
import { KeyObject } from "node:crypto";
import { type Federation, fetchKey, preloadedContexts, verifyRequest } from "@fedify/fedify";
import { Mention, Multikey, Note, Source } from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import type { Context as HonoContext } from "hono";
import { z } from "zod";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import type { Env } from "../src/http/app.ts";
import { logger } from "../src/log.ts";
import type { RelayedMessage } from "../src/messages/relayed.ts";
import { contextLoader } from "./contexts.ts";
import { awaitGap } from "./inbox-mirror.ts";
import { proofKeys, signatureKeys } from "./key-cache.ts";
import { processedActivityTtlMs } from "./kv.ts";
import { mentionedLocals } from "./notes.ts";
import { objectContent } from "./objects.ts";
import { verifyEddsaJcs } from "./proofs.ts";
import type { RelayBatcher } from "./relay-batch.ts";
import { actorIdFor, mirrorOf, sameOrigin } from "./remote.ts";

const log = logger("federation", "inbox");

const AS = "https://www.w3.org/ns/activitystreams";
const dataIntegrity = "https://w3id.org/security/data-integrity/v1";

/** Contexts a fast-path document may name, besides inline term definitions. */
const knownContexts = new Set([
  AS,
  dataIntegrity,
  "https://w3id.org/security/v1",
  "https://w3id.org/security/multikey/v1",
  "https://w3id.org/identity/v1",
  "https://gotosocial.org/ns",
]);

/** Term definitions of a context document (its top-level ones; scoped ones are not looked into). */
function definitions(context: unknown): Map<string, unknown> {
  const terms = new Map<string, unknown>();
  for (const entry of [context].flat()) {
    if (entry != null && typeof entry === "object") {
      for (const [term, definition] of Object.entries(entry)) terms.set(term, definition);
    }
  }
  return terms;
}

const preloaded = preloadedContexts as Record<string, { "@context": unknown }>;
const contextTerms = new Map([...knownContexts].map((url) => [url, definitions(preloaded[url]?.["@context"])]));

const proofTerms = new Set(["proof", "DataIntegrityProof"]);

/**
 * The terms the fast path reads, with what they must mean: ActivityStreams' definitions, and
 * the data integrity context's for the proof.
 */
const readTerms = new Map<string, unknown>([
  ...[
    "id",
    "type",
    "actor",
    "object",
    "to",
    "cc",
    "audience",
    "attributedTo",
    "content",
    "published",
    "tag",
    "href",
    "name",
    "mediaType",
    "source",
    "context",
    "url",
    "Announce",
    "Create",
    "Note",
    "Mention",
  ].map((term) => [term, contextTerms.get(AS)?.get(term)] as const),
  ...[...proofTerms].map((term) => [term, contextTerms.get(dataIntegrity)?.get(term)] as const),
]);
// A Fedify whose preloaded contexts lack one of these would make every document look unsafe.
for (const [term, definition] of readTerms) {
  if (definition === undefined) throw new Error(`No known context defines ${term}.`);
}

/**
 * Whether a document's `@context` gives every term the fast path reads the meaning it
 * expects (whichever context defines it last must define it as ActivityStreams or the data
 * integrity context does), names only contexts known here, and sets no keyword (`@vocab`,
 * `@base`, `@import`, ...) that could change how the document reads.
 * @param proved Whether the document carries a proof (whose terms must then mean it too).
 */
export function plainContext(context: unknown, proved: boolean): boolean {
  const entries = [context].flat();
  if (!entries.includes(AS)) return false;
  const effective = new Map<string, unknown>();
  for (const entry of entries) {
    let terms: Map<string, unknown> | undefined;
    if (typeof entry === "string") terms = knownContexts.has(entry) ? contextTerms.get(entry) : undefined;
    else if (entry != null && typeof entry === "object" && !Array.isArray(entry)) terms = definitions(entry);
    if (terms == null) return false;
    for (const [term, definition] of terms) {
      if (typeof entry !== "string" && term.startsWith("@")) return false;
      effective.set(term, definition);
    }
  }
  for (const [term, expected] of readTerms) {
    if (!proved && proofTerms.has(term)) continue;
    const got = effective.get(term);
    if (got === undefined && expected === undefined) continue;
    if (JSON.stringify(got) !== JSON.stringify(expected)) return false;
  }
  return true;
}

const iri = z.string().refine((s) => /^https?:\/\//i.test(s) && URL.canParse(s), "an http(s) IRI");
const iris = z.union([iri, z.array(iri).max(200)]);
const instant = z.string().max(64);

const mentionSchema = z.strictObject({ type: z.literal("Mention"), href: iri, name: z.string().max(500).optional() });

const noteSchema = z.strictObject({
  id: iri,
  type: z.literal("Note"),
  attributedTo: iri,
  content: z.string(),
  published: instant.optional(),
  to: iris.optional(),
  cc: iris.optional(),
  audience: iris.optional(),
  context: iri.optional(),
  tag: z.union([mentionSchema, z.array(mentionSchema).max(50)]).optional(),
  source: z.strictObject({ content: z.string(), mediaType: z.enum(["text/markdown", "text/plain"]) }).optional(),
  url: iri.optional(),
  mediaType: z.literal("text/html").optional(),
  sensitive: z.boolean().optional(),
});

const proofSchema = z.strictObject({
  "@context": z.unknown().optional(),
  type: z.literal("DataIntegrityProof"),
  cryptosuite: z.literal("eddsa-jcs-2022"),
  verificationMethod: iri,
  proofPurpose: z.literal("assertionMethod"),
  proofValue: z.string().max(200),
  created: instant,
});

const createSchema = z.strictObject({
  "@context": z.unknown().optional(),
  id: iri,
  type: z.literal("Create"),
  actor: iri,
  object: noteSchema,
  to: iris.optional(),
  cc: iris.optional(),
  audience: iris.optional(),
  published: instant.optional(),
  proof: proofSchema,
});

const announceSchema = z.strictObject({
  "@context": z.unknown(),
  id: iri,
  type: z.literal("Announce"),
  actor: iri,
  object: createSchema,
  to: iris.optional(),
  cc: iris.optional(),
  audience: iris.optional(),
  published: instant.optional(),
});

type RelayedAnnounce = z.infer<typeof announceSchema>;

/** An instant as Fedify reads it back (`Temporal.Instant`), or undefined when it is not one. */
function readInstant(value: string): Temporal.Instant | undefined {
  try {
    return Temporal.Instant.from(value);
  } catch {
    return undefined;
  }
}

/** Mirrors by `Group` IRI, for a few seconds: a busy room's every delivery names the same one. */
const mirrors = new Map<string, { room: Room | undefined; until: number }>();
async function cachedMirror(deps: Deps, group: string): Promise<Room | undefined> {
  const hit = mirrors.get(group);
  if (hit && hit.until > Date.now()) return hit.room;
  const room = await mirrorOf(deps, new URL(group));
  if (mirrors.size >= 1000) mirrors.clear();
  mirrors.set(group, { room, until: Date.now() + 5_000 });
  return room;
}

/** Stored authors by IRI, for a minute (actorIdFor refreshes them daily). */
const authors = new Map<string, { id: string; until: number }>();

const publicKeys = new WeakMap<Multikey, KeyObject>();
function keyObjectOf(key: Multikey): KeyObject | undefined {
  let object = publicKeys.get(key);
  if (object == null && key.publicKey?.algorithm.name === "Ed25519") {
    object = KeyObject.from(key.publicKey);
    publicKeys.set(key, object);
  }
  return object;
}

/** The number a relayed `Create` has: our rooms announce it at `<group>/history/<seq>`. */
function announcedSeq(id: string, group: string): number | undefined {
  const prefix = `${group}/history/`;
  if (!id.startsWith(prefix)) return undefined;
  const seq = Number(id.slice(prefix.length));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
}

/**
 * Takes a delivery to the shared inbox by the fast path when it can: answers what is left to
 * do, outside the inbox's work budget (waiting for the batch to commit), or undefined when the
 * full path must take it.
 */
export async function relayFast(
  c: HonoContext<Env>,
  federation: Federation<Deps>,
  batcher: RelayBatcher,
  json: Record<string, unknown>,
  bytes: Uint8Array<ArrayBuffer>,
  sender: string,
): Promise<(() => Promise<Response>) | undefined> {
  if (c.req.path !== "/inbox" || json.type !== "Announce") return undefined;
  const parsed = announceSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const announce = parsed.data;
  const create = announce.object;
  const note = create.object;
  const document = (create["@context"] === undefined ? { "@context": announce["@context"], ...create } : create) as {
    "@context": unknown;
  } & RelayedAnnounce["object"];
  if (!plainContext(announce["@context"], false) || !plainContext(document["@context"], true)) return undefined;
  const proof = create.proof;
  if (proof["@context"] !== undefined && JSON.stringify(proof["@context"]) !== JSON.stringify(document["@context"])) {
    return undefined;
  }
  // The full path's checks on what the Group relays (inbox-mirror.ts): the author's own note.
  const seq = announcedSeq(announce.id, announce.actor);
  if (seq == null || !sameOrigin(create.id, create.actor) || !sameOrigin(proof.verificationMethod, create.actor)) {
    return undefined;
  }
  if (!sameOrigin(note.id, create.actor) || note.attributedTo !== create.actor) return undefined;
  // A thread reply is looked up among stored messages: the one-at-a-time path does that.
  if (note.context !== undefined && note.context !== announce.actor) return undefined;
  const created = readInstant(proof.created);
  const published = note.published === undefined ? undefined : readInstant(note.published);
  if (created == null || (note.published !== undefined && published == null)) return undefined;
  for (const value of [announce.published, create.published]) {
    if (value !== undefined && readInstant(value) == null) return undefined;
  }

  const deps = c.var.deps;
  const mirror = await cachedMirror(deps, announce.actor);
  if (mirror == null || mirror.deletedAt) return undefined;
  const ctx = federation.createContext(c.req.raw, deps);
  const loaders = { documentLoader: ctx.documentLoader, contextLoader };
  // The HTTP signature first, so that only the Group makes us fetch its members' keys: by
  // Fedify's verifier (its key fetched once, then from memory), and the key must be the
  // Group's. The request is copied: the full path may still need the body.
  const request = new Request(c.req.raw.url, { method: "POST", headers: c.req.raw.headers, body: bytes });
  const signer = await verifyRequest(request, { ...loaders, keyCache: signatureKeys }).catch(() => null);
  if (signer?.ownerId?.href !== announce.actor) return undefined;
  // The author's key, fetched and checked by Fedify as its proof check does (then from memory).
  const proofKey = await fetchKey(new URL(proof.verificationMethod), Multikey, { ...loaders, keyCache: proofKeys })
    .then((fetched) => fetched.key)
    .catch(() => null);
  if (!(proofKey instanceof Multikey) || proofKey.controllerId?.href !== create.actor) return undefined;
  const publicKey = keyObjectOf(proofKey);
  if (publicKey == null) return undefined;
  if (!verifyEddsaJcs(document, proof, created.toString(), publicKey)) return undefined;

  let authorId = authors.get(create.actor);
  if (authorId == null || authorId.until < Date.now()) {
    const id = await actorIdFor(ctx, new URL(create.actor));
    if (id == null) return undefined;
    if (authors.size >= 10_000) authors.clear();
    authorId = { id, until: Date.now() + 60_000 };
    authors.set(create.actor, authorId);
  }
  const object = new Note({
    id: new URL(note.id),
    attribution: new URL(note.attributedTo),
    content: note.content,
    ...(note.source ? { source: new Source({ content: note.source.content, mediaType: note.source.mediaType }) } : {}),
    tags: [note.tag ?? []].flat().map((tag) => new Mention({ href: new URL(tag.href), name: tag.name ?? null })),
  });
  const content = await objectContent(object);
  if (content == null) return undefined;
  const item: RelayedMessage = {
    note: {
      iri: note.id,
      authorId: authorId.id,
      content: content.content,
      html: content.html,
      published: published ? new Date(published.epochMilliseconds) : null,
      mentioned: note.tag ? await mentionedLocals(deps, object) : [],
      attachments: [],
    },
    seq,
    processedKey: ["_fedify", "activityIdempotence", ctx.origin, announce.id],
    processedTtlMs: processedActivityTtlMs,
  };
  return async () => {
    const outcome = await batcher.store(sender, mirror.id, item);
    deps.metrics.inboxFastPath.inc({ outcome });
    if (outcome === "room_gone") log.info("Dropped an Announce into {room}: it is gone.", { room: mirror.id });
    return c.body(null, 202);
  };
}

/**
 * After a batch: numbers past the next one may still come (deliveries in flight overtake each
 * other) or were missed; what has not come in a moment is fetched from the room's history, as
 * the full path does.
 */
export function gapWatcher(federation: Federation<Deps>, deps: Deps) {
  return (roomId: string, items: readonly RelayedMessage[], batch: { lastSeqBefore: number | null }) => {
    if (batch.lastSeqBefore == null) return;
    const seqs = items.map((item) => item.seq).sort((a, b) => a - b);
    let last = batch.lastSeqBefore;
    for (const seq of seqs) {
      if (seq > last + 1) {
        awaitGap(federation.createContext(new URL(deps.config.origin), deps), roomId, last, seq);
      }
      last = Math.max(last, seq);
    }
  };
}
