import { getDocumentLoader, verifyRequest } from "@fedify/fedify";
import type { CryptographicKey } from "@fedify/vocab";
import type { Context } from "hono";
import { AppError } from "../src/errors.ts";
import type { Env } from "../src/http/app.ts";
import { addressKey, clientAddress } from "../src/http/client-address.ts";
import { isStorableText, jsonNodes } from "../src/json.ts";
import { logger } from "../src/log.ts";
import { type RefusalCode, recordRefusal } from "../src/servers.ts";
import { contextLoader } from "./contexts.ts";
import { blockedHostIn, hostOf, sameOrigin } from "./remote.ts";

const log = logger("federation", "inbox");

const jsonType = /^application\/(activity\+json|ld\+json|json)\s*(;|$)/i;

/**
 * What an activity may hold, checked on the parsed JSON before any JSON-LD processing, whose
 * cost grows with every node (12,000 `Hashtag`s, 890 KB, took seconds of CPU). Real activities
 * stay far below: Mastodon attaches at most 4 files, Misskey 16; a post's tags and recipients
 * number tens. Documented in FEDERATION.md.
 */
export const inboxLimits = {
  /** Levels of nesting (real activities stay under 15). */
  depth: 64,
  /** Values of every kind in the whole document. */
  nodes: 5_000,
  /** Items of one `tag` array. */
  tag: 100,
  /** Items of one `attachment` array. */
  attachment: 20,
  /** Items of one addressing array (`to`, `cc`, `bto`, `bcc`, `audience`). */
  recipients: 200,
  /** Items of any other array. */
  array: 200,
} as const;

const recipientKeys = new Set(["to", "cc", "bto", "bcc", "audience"]);

function arrayLimit(key: string | number | null): number {
  if (key === "tag") return inboxLimits.tag;
  if (key === "attachment") return inboxLimits.attachment;
  if (typeof key === "string" && recipientKeys.has(key)) return inboxLimits.recipients;
  return inboxLimits.array;
}

/**
 * Why a parsed activity is over the limits (or holds text that cannot be stored), or undefined
 * when it is within them. Walks the document iteratively and stops at the first excess.
 */
export function overLimits(json: unknown): string | undefined {
  let nodes = 0;
  for (const node of jsonNodes(json)) {
    if (++nodes > inboxLimits.nodes) return `The activity holds more than ${inboxLimits.nodes} values.`;
    if (node.depth > inboxLimits.depth) return `The activity is nested more than ${inboxLimits.depth} levels deep.`;
    // Fedify queues the activity as received, in a jsonb column that can hold neither.
    const badText = (text: unknown) => typeof text === "string" && !isStorableText(text);
    if (badText(node.value) || badText(node.key)) {
      return "The activity holds text with a NUL character or an unpaired surrogate.";
    }
    if (Array.isArray(node.value) && node.value.length > arrayLimit(node.key)) {
      const name = typeof node.key === "string" ? `"${node.key.slice(0, 40)}"` : "an array";
      return `The activity's ${name} has more than ${arrayLimit(node.key)} items.`;
    }
  }
  return undefined;
}

/**
 * Refuses draft-cavage signatures that Fedify would fail on with an exception (a 500) rather
 * than a refusal: a `Date` that is missing or not a date, a signature that is not base64.
 * (RFC 9421 signatures, with `Signature-Input`, carry their time in `created`.)
 * @throws {AppError} `unauthenticated`.
 */
function checkSignatureHeaders(c: Context<Env>): void {
  const signature = c.req.header("signature");
  if (signature == null || c.req.header("signature-input") != null) return;
  const date = c.req.header("date");
  if (date == null || Number.isNaN(Date.parse(date))) {
    throw new AppError("unauthenticated", "A signed request needs a Date header that is a date.");
  }
  const value = /(?:^|,)\s*signature="([^"]*)"/i.exec(signature)?.[1];
  if (value != null && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new AppError("unauthenticated", "The signature is not base64.");
  }
}

/**
 * The activities the inbox handles (federation/inbox.ts). Fedify answers 202 to any other and
 * drops it; they are refused here instead, so that the sender learns it.
 */
const handledActivities = new Set([
  "Accept",
  "Add",
  "Announce",
  "Block",
  "Create",
  "Delete",
  "EmojiReact",
  "Flag",
  "Follow",
  "Invite",
  "Join",
  "Leave",
  "Like",
  "Reject",
  "Remove",
  "TentativeAccept",
  "TentativeReject",
  "Undo",
  "Update",
  // Ours, not queued: federation/ephemeral.ts and presence.ts take them before Fedify.
  "Typing",
  "ReadUpTo",
  "Presence",
]);

/**
 * The objects a `Create` or `Update` may carry: what becomes a message (by name here, by class
 * in `isMessageObject` of federation/objects.ts: keep the two alike), and the actors an
 * `Update` refreshes. FEDERATION.md has the table.
 */
const messageObjectTypes = [
  "Note",
  "ChatMessage",
  "Page",
  "Article",
  "Question",
  "Event",
  "Video",
  "Audio",
  "Image",
] as const;
const updatableObjects = new Set<string>([
  ...messageObjectTypes,
  "Person",
  "Group",
  "Service",
  "Application",
  "Organization",
]);

/** A type's name without its namespace: `as:Note`, `…/activitystreams#Note` and `Note` alike. */
function typeNames(value: unknown): string[] {
  const names = (Array.isArray(value) ? value : [value]).filter((t): t is string => typeof t === "string");
  return names.map((name) => name.slice(Math.max(name.lastIndexOf("#"), name.lastIndexOf(":")) + 1));
}

/**
 * What is wrong with an activity's type, if anything: an activity no listener handles, or a
 * `Create`/`Update` of an object that is not handled.
 */
function unsupportedType(activity: {
  type?: unknown;
  object?: unknown;
}): { code: RefusalCode; type: string; message: string } | undefined {
  const types = typeNames(activity.type);
  const handled = types.find((t) => handledActivities.has(t));
  if (handled == null) {
    const type = types[0] ?? "(none)";
    return { code: "unsupported_activity", type, message: `${type} activities are not handled here.` };
  }
  if (handled !== "Create" && handled !== "Update") return undefined;
  const allowed = handled === "Create" ? new Set<string>(messageObjectTypes) : updatableObjects;
  // An object given by its IRI is read later; its type is checked then.
  for (const object of Array.isArray(activity.object) ? activity.object : [activity.object]) {
    if (object == null || typeof object !== "object") continue;
    const objectTypes = typeNames((object as { type?: unknown }).type);
    if (!objectTypes.some((t) => allowed.has(t))) {
      const type = objectTypes[0] ?? "(none)";
      return { code: "unsupported_object", type, message: `A ${handled} of a ${type} is not handled here.` };
    }
  }
  return undefined;
}

/**
 * The key that signed an inbox POST (HTTP Signatures, either scheme), checked by Fedify's
 * verifier, for what is answered before Fedify sees the delivery; null when unsigned or not
 * valid.
 */
export async function verifiedKey(c: Context<Env>, bytes: Uint8Array<ArrayBuffer>): Promise<CryptographicKey | null> {
  const request = new Request(c.req.raw.url, { method: "POST", headers: c.req.raw.headers, body: bytes });
  return await verifyRequest(request, {
    documentLoader: getDocumentLoader({ allowPrivateAddress: c.var.deps.config.allowPrivateAddress }),
    contextLoader,
  }).catch(() => null);
}

/**
 * Refuses an activity the server does not handle with a coded problem rather than a silent
 * 202; logged, and counted per server (src/servers.ts) once the signature shows which server
 * sent it (an unverified one counts as `(unsigned)`, so nobody can inflate another's count).
 * @throws {AppError} `unsupported_activity` or `unsupported_object`.
 */
async function checkTypes(
  c: Context<Env>,
  activity: { type?: unknown; object?: unknown },
  bytes: Uint8Array<ArrayBuffer>,
): Promise<void> {
  const refusal = unsupportedType(activity);
  if (refusal == null) return;
  const deps = c.var.deps;
  const key = await verifiedKey(c, bytes);
  const host = key?.id ? hostOf(key.id.href) : "(unsigned)";
  log.info("Refused a delivery from {host}: {code} {type}", { host, code: refusal.code, type: refusal.type });
  await recordRefusal(deps, host, refusal.code, refusal.type);
  throw new AppError(refusal.code, refusal.message);
}

/** The IRI of a JSON-LD node given as a string or as an object with an `id`. */
function idOf(value: unknown): string | undefined {
  const id = typeof value === "string" ? value : (value as { id?: unknown } | null)?.id;
  return typeof id === "string" && URL.canParse(id) ? id : undefined;
}

/** The key a delivery names: `keyId` in draft-cavage `Signature`, `keyid` in RFC 9421 `Signature-Input`. */
function signatureKeyId(c: Context<Env>): string | undefined {
  // (RFC 9421 sends a `Signature` header too, without the key.)
  return /keyId="([^"]+)"/i.exec(`${c.req.header("signature") ?? ""} ${c.req.header("signature-input") ?? ""}`)?.[1];
}

/**
 * Reads an inbox POST's body, outside the work budget (a sender that trickles its body holds
 * no slot), and names the sender whose turn it waits for: the host of its signing key, else its
 * address.
 * @throws {AppError} `unsupported_media_type` for a body that is not JSON.
 */
export async function readInbox(c: Context<Env>): Promise<{ bytes: Uint8Array<ArrayBuffer>; sender: string }> {
  if (!jsonType.test(c.req.header("content-type") ?? "")) {
    throw new AppError("unsupported_media_type", "Deliver activities as application/activity+json.");
  }
  const bytes = new Uint8Array(await c.req.raw.arrayBuffer());
  const keyId = signatureKeyId(c);
  const sender =
    keyId && URL.canParse(keyId)
      ? hostOf(keyId)
      : `address ${addressKey(clientAddress(c, c.var.deps.config.trustProxy))}`;
  return { bytes, sender };
}

/**
 * Checks an inbox POST before Fedify sees it: a body that parses, within {@link inboxLimits},
 * from a server that is not blocked, whose key, actor and activity id share an origin. Every
 * malformed delivery gets the same coded problem as the rest of the API, and nothing about a
 * refused one is remembered (Fedify records an activity's id as processed once it has passed
 * its checks, so a forged id refused later would shadow the genuine one). The bytes are passed
 * on to Fedify untouched (their digest is signed).
 */
export async function checkInbox(c: Context<Env>, bytes: Uint8Array<ArrayBuffer>): Promise<Record<string, unknown>> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new AppError("malformed_json", "The activity is not valid JSON.", { cause });
  }
  if (json == null || typeof json !== "object" || Array.isArray(json)) {
    throw new AppError("bad_request", "An activity is a JSON object.");
  }
  const excess = overLimits(json);
  if (excess) throw new AppError("bad_request", excess);
  // A blocked server is refused wherever it appears: as the signer, or any IRI in the activity.
  const keyId = signatureKeyId(c);
  const blocked = await blockedHostIn(c.var.deps, [json, keyId ?? null]);
  if (blocked) throw new AppError("server_blocked", `Activities that involve ${blocked} are refused here.`);
  checkSignatureHeaders(c);
  await checkTypes(c, json as { type?: unknown; object?: unknown }, bytes);
  // A server speaks only for its own actors: Fedify believes a key document's `owner`, so a key
  // served by one server that names another server's actor as its owner must not sign for it.
  const activity = json as { id?: unknown; actor?: unknown };
  const actor = idOf(activity.actor);
  if (keyId && actor && URL.canParse(keyId) && !sameOrigin(keyId, actor)) {
    throw new AppError("unauthenticated", "The activity is signed by a key of another server than its actor's.");
  }
  // Nor may it name activities of another server: refused here, before anything is reserved.
  const id = idOf(activity.id);
  if (id && actor && !sameOrigin(id, actor)) {
    throw new AppError("forbidden", "The activity's id is on another server than its actor.");
  }
  c.req.raw = new Request(c.req.raw.url, { method: "POST", headers: c.req.raw.headers, body: bytes });
  return json as Record<string, unknown>;
}
