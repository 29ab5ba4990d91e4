import { KeyObject } from "node:crypto";
import type { Context } from "@fedify/fedify";
import {
  Activity,
  type Object as APObject,
  Audio,
  Create,
  Delete,
  Document,
  EmojiReact,
  Image,
  Like,
  Mention,
  Note,
  Source,
  Tombstone,
  Undo,
  Update,
  Video,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { eq, or } from "drizzle-orm";
import { type Attachment, actors, attachments, type Message, messages, users } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { outgoingReactionEmoji, outgoingTextEmoji } from "../src/emoji/usage.ts";
import { federatedUrl } from "../src/media/downloads.ts";
import { parseReactionKey } from "../src/messages/emoji.ts";
import { messageUrl } from "../src/messages/views.ts";
import { embeddedOnly, emojiObject } from "./emoji.ts";
import { invitationAttachment } from "./invitations.ts";
import { eddsaJcsProof } from "./proofs.ts";
import { userIdentifier } from "./users.ts";

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

/** One of our files as a `Note`'s attachment: an `Image`, `Video`, `Audio` or `Document` with a lasting URL. */
function attachmentObject(deps: Deps, file: Attachment): Document {
  const values = {
    mediaType: file.mediaType,
    name: file.name,
    url: new URL(federatedUrl(deps, file.id)),
    width: file.width,
    height: file.height,
  };
  const [kind] = file.mediaType.split("/");
  if (kind === "image") return new Image(values);
  if (kind === "video") return new Video(values);
  if (kind === "audio") return new Audio(values);
  return new Document(values);
}

/** The public collection: what Mastodon and its forks show on timelines. */
export const PUBLIC = new URL("https://www.w3.org/ns/activitystreams#Public");

/** Who a room's messages are addressed to (see {@link addressing}). */
export interface RoomAudience {
  /** The room's `Group`. */
  readonly group: URL;
  /** A public room (not a direct conversation). */
  readonly public: boolean;
  /** The `Group`'s followers collection, when known (rooms hosted here). */
  readonly followers?: URL;
}

/**
 * The addressing of what is said in a room: a public room's `to` everyone, with the `Group`
 * (and its followers) in `cc`, since Mastodon decides visibility from `to`/`cc` alone; a private
 * room's to the `Group` only, never to the public.
 */
export function addressing(room: RoomAudience): { tos: URL[]; ccs: URL[] } {
  return room.public
    ? { tos: [PUBLIC], ccs: [room.group, ...(room.followers ? [room.followers] : [])] }
    : { tos: [room.group], ccs: [] };
}

/**
 * A message as a `Note` addressed to its room (FEP-1b12: `to`/`cc`, `audience` and `context`,
 * see {@link addressing}), with its files as `attachment`s. A message still on its way to a
 * remote room has the id of its outbound row, and its files are reserved under that id.
 *
 * A thread reply answers (`inReplyTo`) the message it quotes, else its thread's root, and its
 * `context` is the root's IRI (FEP-7888: the objects of one conversation share a context), so
 * other servers see a reply chain and ours put it back in the thread.
 */
export async function toNote(
  deps: Deps,
  message: Pick<Message, "id" | "iri" | "content" | "html" | "createdAt" | "editedAt" | "replyTo" | "threadRootId">,
  author: URL,
  room: RoomAudience,
): Promise<Note> {
  const iriOf = async (id: string | null) => {
    if (id == null) return null;
    const [row] = await deps.db.select().from(messages).where(eq(messages.id, id));
    return row ? new URL(messageUrl(deps, row)) : null;
  };
  const thread = await iriOf(message.threadRootId);
  const replyTarget = (await iriOf(message.replyTo)) ?? thread;
  const files = await deps.db
    .select()
    .from(attachments)
    .where(or(eq(attachments.messageId, message.id), eq(attachments.outboundId, message.id)))
    .orderBy(attachments.id);
  const id = new URL(messageUrl(deps, message));
  const invitation = await invitationAttachment(deps, message.id, id, author, room.group);
  return new Note({
    id,
    attribution: author,
    content: message.html,
    source: new Source({ content: message.content, mediaType: "text/markdown" }),
    published: instant(message.createdAt),
    updated: message.editedAt ? instant(message.editedAt) : null,
    ...addressing(room),
    audience: room.group,
    contexts: [thread ?? room.group],
    replyTarget,
    attachments: [
      ...files.filter((file) => file.remoteUrl == null).map((file) => attachmentObject(deps, file)),
      ...(invitation ? [invitation] : []),
    ],
    // Mastodon's `Emoji` tags: the custom emoji of ours the text names.
    tags: (await outgoingTextEmoji(deps, message.content)).map(emojiObject),
  });
}

/** Local users' Ed25519 keys, by actor identifier: signing a message must not read and import them each time. */
const signingKeys = new Map<string, { at: number; key: Promise<{ keyId: URL; keyObject: KeyObject } | undefined> }>();
const signingKeyTtlMs = 10 * 60 * 1000;

function signingKey(ctx: Context<Deps>, identifier: string) {
  const cached = signingKeys.get(identifier);
  if (cached && Date.now() - cached.at < signingKeyTtlMs) return cached.key;
  const key = ctx.getActorKeyPairs(identifier).then((keys) => {
    const ed25519 = keys.find((k) => k.privateKey.algorithm.name === "Ed25519");
    // The proof names the key as the actor lists it among its assertion methods (FEP-521a).
    return ed25519 && { keyId: ed25519.multikey.id ?? ed25519.keyId, keyObject: KeyObject.from(ed25519.privateKey) };
  });
  key.catch(() => signingKeys.delete(identifier));
  if (signingKeys.size >= 1000) signingKeys.clear();
  signingKeys.set(identifier, { at: Date.now(), key });
  return key;
}

/**
 * Signs an activity of a local user with their Ed25519 key (an Object Integrity Proof,
 * `eddsa-jcs-2022`, see proofs.ts), so that servers receiving it through the room's
 * `Announce` can check it without trusting the room's server. Answers the JSON the proof was
 * made over, with the proof: embedded as it is (in an `Announce`), the proof still verifies.
 */
export async function signedJson(
  ctx: Context<Deps>,
  identifier: string,
  activity: Activity,
): Promise<Record<string, unknown>> {
  const key = await signingKey(ctx, identifier);
  const json = (await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader })) as Record<
    string,
    unknown
  >;
  return key ? { ...json, proof: eddsaJcsProof(json, key) } : json;
}

/** {@link signedJson}, parsed back: the activity keeps those exact bytes wherever it is embedded. */
export async function signAs<T extends Activity>(ctx: Context<Deps>, identifier: string, activity: T): Promise<T> {
  const loaders = { contextLoader: ctx.contextLoader, documentLoader: ctx.documentLoader };
  return (await Activity.fromJsonLd(await signedJson(ctx, identifier, activity), loaders)) as T;
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
  return new Create({
    id: activityIds.create(id),
    actor,
    object: note,
    tos: note.toIds,
    ccs: note.ccIds,
    audience: note.audienceId,
  });
}

/** A local user's `Update` of a message. */
export function updateActivity(note: Note, actor: URL, at: Date): Update {
  const id = note.id?.href as string;
  return new Update({
    id: activityIds.update(id, at),
    actor,
    object: note,
    tos: note.toIds,
    ccs: note.ccIds,
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
 * `:shortcode:` an `EmojiReact` with its `Emoji` tag (as Pleroma and Misskey send it): another
 * server's `:blob@host:` goes as `:blob:` with that server's image. Removing one is an `Undo`
 * of the same activity.
 */
export async function reactionActivity(
  deps: Deps,
  actor: URL,
  note: string,
  key: string,
  on: boolean,
  room: URL,
): Promise<Like | EmojiReact | Undo> {
  // Under the reacting actor: an activity's id is on its actor's server (the note may be on
  // any server, and receivers refuse ids on another server than the actor's).
  const id = new URL(`${actor.href}#react-${encodeURIComponent(note)}-${encodeURIComponent(key)}`);
  const emoji = key.startsWith(":") ? await outgoingReactionEmoji(deps, key) : undefined;
  const content = emoji?.name ?? key.replace(/@[^:]*:$/, ":");
  const reaction = key.startsWith(":")
    ? new EmojiReact({
        id,
        actor,
        object: new URL(note),
        content,
        tags: emoji ? [emojiObject(emoji)] : [],
        to: room,
        audience: room,
      })
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

/** Local users a remote note mentions (its `Mention` tags that point at us). */
export async function mentionedLocals(deps: Deps, object: APObject): Promise<string[]> {
  const ids: string[] = [];
  const prefix = `${deps.config.origin}/users/`;
  let count = 0;
  for await (const tag of object.getTags({ documentLoader: embeddedOnly, suppressError: true })) {
    if (++count > 50) break;
    if (!(tag instanceof Mention) || tag.href == null || !tag.href.href.startsWith(prefix)) continue;
    const username = tag.href.href.slice(prefix.length);
    const [row] = await deps.db.select({ id: users.id }).from(users).where(eq(users.username, username.toLowerCase()));
    if (row) ids.push(row.id);
  }
  return ids;
}
