import { type Context, signObject } from "@fedify/fedify";
import {
  Activity,
  type Object as APObject,
  ChatMessage,
  Create,
  Delete,
  EmojiReact,
  Like,
  Mention,
  Note,
  Source,
  Tombstone,
  Undo,
  Update,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { eq } from "drizzle-orm";
import { actors, type Message, messages, users } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { parseReactionKey } from "../src/messages/emoji.ts";
import { plainText, sanitizeRemoteHtml } from "../src/messages/markdown.ts";
import { maxMessageLength, messageUrl } from "../src/messages/messages.ts";
import { userIdentifier } from "./users.ts";

/** The largest HTML accepted in a remote message; larger ones are refused, not cut. */
const maxRemoteHtml = 64 * 1024;

function instant(date: Date): Temporal.Instant {
  return Temporal.Instant.fromEpochMilliseconds(date.getTime());
}

/** A local user's actor IRI from their actor id, or undefined for a remote actor. */
export async function localActorIri(
  deps: Deps,
  actorId: string,
): Promise<{ iri: URL; identifier: string } | undefined> {
  const [row] = await deps.db
    .select({ username: users.username })
    .from(actors)
    .innerJoin(users, eq(users.id, actors.userId))
    .where(eq(actors.id, actorId));
  if (row == null) return undefined;
  const identifier = userIdentifier(row.username);
  return { iri: new URL(`${deps.config.origin}/${identifier}`), identifier };
}

/** Any actor's IRI: ours from the username, a remote one as stored. */
export async function actorIri(deps: Deps, actorId: string): Promise<URL | undefined> {
  const local = await localActorIri(deps, actorId);
  if (local) return local.iri;
  const [row] = await deps.db.select({ iri: actors.iri }).from(actors).where(eq(actors.id, actorId));
  return row?.iri ? new URL(row.iri) : undefined;
}

/** A message as a `Note` addressed to its room (FEP-1b12: `to`, `audience` and `context`). */
export async function toNote(
  deps: Deps,
  message: Pick<Message, "id" | "iri" | "content" | "html" | "createdAt" | "editedAt" | "replyTo">,
  author: URL,
  room: URL,
): Promise<Note> {
  let replyTarget: URL | null = null;
  if (message.replyTo) {
    const [reply] = await deps.db.select().from(messages).where(eq(messages.id, message.replyTo));
    if (reply) replyTarget = new URL(messageUrl(deps, reply));
  }
  return new Note({
    id: new URL(messageUrl(deps, message)),
    attribution: author,
    content: message.html,
    source: new Source({ content: message.content, mediaType: "text/markdown" }),
    published: instant(message.createdAt),
    updated: message.editedAt ? instant(message.editedAt) : null,
    to: room,
    audience: room,
    contexts: [room],
    replyTarget,
  });
}

/**
 * Signs an activity of a local user with their Ed25519 key (an Object Integrity Proof,
 * `eddsa-jcs-2022`), so that servers receiving it through the room's `Announce` can check it
 * without trusting the room's server.
 */
export async function signAs<T extends Activity>(ctx: Context<Deps>, identifier: string, activity: T): Promise<T> {
  const keys = await ctx.getActorKeyPairs(identifier);
  const ed25519 = keys.find((k) => k.privateKey.algorithm.name === "Ed25519");
  if (ed25519 == null) return activity;
  const loaders = { contextLoader: ctx.contextLoader, documentLoader: ctx.documentLoader };
  // The proof names the key as the actor lists it among its assertion methods (FEP-521a).
  const keyId = ed25519.multikey.id ?? ed25519.keyId;
  const signed = await signObject(activity, ed25519.privateKey, keyId, loaders);
  // Parsed back from its JSON, the activity keeps those exact bytes wherever it is embedded
  // (an `Announce`), so the proof still verifies there.
  const json = await signed.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
  return (await Activity.fromJsonLd(json, loaders)) as T;
}

/** The ids our activities about a message get: stable, so a repeat is recognised as one. */
export const activityIds = {
  create: (note: string) => new URL(`${note}#create`),
  update: (note: string, at: Date) => new URL(`${note}#update-${at.getTime()}`),
  delete: (note: string) => new URL(`${note}#delete`),
};

/*
 * The builders below make a local user's activities unsigned: Fedify signs what it sends, and
 * what a room embeds in its `Announce` is signed with {@link signAs} first.
 */

/** A local user's `Create` of a message. */
export function createActivity(note: Note, actor: URL): Create {
  const id = note.id?.href as string;
  return new Create({ id: activityIds.create(id), actor, object: note, tos: note.toIds, audience: note.audienceId });
}

/** A local user's `Update` of a message. */
export function updateActivity(note: Note, actor: URL, at: Date): Update {
  const id = note.id?.href as string;
  return new Update({
    id: activityIds.update(id, at),
    actor,
    object: note,
    tos: note.toIds,
    audience: note.audienceId,
  });
}

/** A local user's `Delete` of a message. */
export function deleteActivity(note: string, actor: URL, room: URL): Delete {
  return new Delete({
    id: activityIds.delete(note),
    actor,
    object: new Tombstone({ id: new URL(note) }),
    to: room,
    audience: room,
  });
}

/**
 * A reaction: a unicode emoji is a `Like` with `content` (what Misskey and Pleroma read), a
 * `:shortcode:` an `EmojiReact`. Removing one is an `Undo` of the same activity.
 */
export function reactionActivity(
  actor: URL,
  note: string,
  key: string,
  on: boolean,
  room: URL,
): Like | EmojiReact | Undo {
  const id = new URL(`${note}#react-${encodeURIComponent(actor.href)}-${encodeURIComponent(key)}`);
  const reaction = key.startsWith(":")
    ? new EmojiReact({ id, actor, object: new URL(note), content: key, to: room, audience: room })
    : new Like({ id, actor, object: new URL(note), content: key, to: room, audience: room });
  if (on) return reaction;
  return new Undo({ id: new URL(`${id.href}-undo-${Date.now()}`), actor, object: reaction, to: room, audience: room });
}

/** The reaction key of a `Like` or `EmojiReact`: its emoji, or ❤️ for a bare like. */
export function reactionKeyOf(activity: Like | EmojiReact): string | undefined {
  const content = activity.content?.toString().trim() ?? "";
  if (content === "") return activity instanceof Like ? "❤️" : undefined;
  const parsed = parseReactionKey(content);
  if (parsed == null) return undefined;
  return parsed.kind === "unicode" ? parsed.emoji : `:${parsed.shortcode}:`;
}

/** What a remote `Note` (or Pleroma `ChatMessage`) says, cleaned, or undefined when unusable. */
export function noteContent(object: APObject): { content: string; html: string } | undefined {
  if (!(object instanceof Note || object instanceof ChatMessage)) return undefined;
  const raw = object.content?.toString() ?? "";
  if (raw.length > maxRemoteHtml) return undefined;
  const html = sanitizeRemoteHtml(raw);
  const source = object.source;
  const markdown =
    source?.mediaType === "text/markdown" || source?.mediaType === "text/plain"
      ? source.content?.toString()
      : undefined;
  const content = (markdown ?? plainText(html)).slice(0, maxMessageLength * 4);
  if (content.trim() === "" && html === "") return undefined;
  return { content, html };
}

/** Local users a remote note mentions (its `Mention` tags that point at us). */
export async function mentionedLocals(deps: Deps, object: APObject): Promise<string[]> {
  const ids: string[] = [];
  const prefix = `${deps.config.origin}/users/`;
  let count = 0;
  for await (const tag of object.getTags({ suppressError: true })) {
    if (++count > 50) break;
    if (!(tag instanceof Mention) || tag.href == null || !tag.href.href.startsWith(prefix)) continue;
    const username = tag.href.href.slice(prefix.length);
    const [row] = await deps.db.select({ id: users.id }).from(users).where(eq(users.username, username.toLowerCase()));
    if (row) ids.push(row.id);
  }
  return ids;
}
