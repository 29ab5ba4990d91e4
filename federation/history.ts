import type { Context, Federation } from "@fedify/fedify";
import { Activity, Announce, Delete, Note, Tombstone } from "@fedify/vocab";
import { and, asc, eq, gt, isNull, lte } from "drizzle-orm";
import { type Message, messages, outboundMessages, type Room, rooms } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { messageUrl } from "../src/messages/views.ts";
import { actorIri, addressing, createActivity, localActorIri, signedJson, toNote } from "./notes.ts";
import { mayRead, roomAudience, roomOf } from "./rooms.ts";

/** Messages per history page. */
const pageSize = 50;

/** The IRI of the `Announce` that gave a message its number. */
export function historyId(group: URL, seq: number): URL {
  return new URL(`${group.href}/history/${seq}`);
}

/**
 * The activity that stands for a message in the history: its author's latest activity as
 * received (remote authors), a freshly signed `Create` of the current version (ours), or the
 * room's `Delete` for a tombstone.
 */
export async function messageActivity(ctx: Context<Deps>, room: Room, message: Message): Promise<Activity | undefined> {
  const json = await messageActivityJson(ctx, room, message);
  if (json == null) return undefined;
  return await Activity.fromJsonLd(json, {
    documentLoader: ctx.documentLoader,
    contextLoader: ctx.contextLoader,
  }).catch(() => undefined);
}

/**
 * {@link messageActivity} as JSON, for the room's `Announce`: a remote author's activity as it
 * came, a local author's as signed, so that embedded as they are their proofs still verify.
 */
export async function messageActivityJson(
  ctx: Context<Deps>,
  room: Room,
  message: Message,
): Promise<Record<string, unknown> | undefined> {
  const deps = ctx.data;
  const group = ctx.getActorUri(`rooms/${room.id}`);
  const note = messageUrl(deps, message);
  if (message.deletedAt) {
    const tombstone = new Delete({
      id: new URL(`${note}#delete`),
      actor: group,
      object: new Tombstone({ id: new URL(note) }),
      to: group,
    });
    return (await tombstone.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader })) as Record<
      string,
      unknown
    >;
  }
  if (message.activity) return message.activity as Record<string, unknown>;
  const author = await localActorIri(deps, message.authorId);
  if (author == null) return undefined;
  return await signedJson(
    ctx,
    author.identifier,
    createActivity(await toNote(deps, message, author.iri, roomAudience(ctx, room)), author.iri),
  );
}

/** Registers the rooms' history (their `outbox`, paged by sequence number) and messages as `Note`s. */
export function historyDispatchers(federation: Federation<Deps>): void {
  federation
    .setOutboxDispatcher("/history/{identifier}", async (ctx, identifier, cursor) => {
      const room = await roomOf(ctx.data, identifier);
      if (room == null) return { items: [] };
      const after = cursor === "latest" ? Math.max(0, room.lastSeq - pageSize) : Number(cursor ?? 0);
      if (!Number.isSafeInteger(after) || after < 0) return null;
      const rows = await ctx.data.db
        .select()
        .from(messages)
        .where(and(eq(messages.roomId, room.id), gt(messages.seq, after), lte(messages.seq, after + pageSize)))
        .orderBy(asc(messages.seq));
      const group = ctx.getActorUri(identifier);
      const items: Announce[] = [];
      const audience = addressing(roomAudience(ctx, room));
      for (const message of rows) {
        const object = await messageActivity(ctx, room, message);
        if (object) items.push(new Announce({ id: historyId(group, message.seq), actor: group, object, ...audience }));
      }
      const last = after + pageSize;
      return { items, nextCursor: last < room.lastSeq ? String(last) : null };
    })
    .setFirstCursor(() => "latest")
    .setCounter(async (ctx, identifier) => (await roomOf(ctx.data, identifier))?.lastSeq ?? 0)
    .authorize(async (ctx, identifier) => {
      const room = await roomOf(ctx.data, identifier);
      return room == null || (await mayRead(ctx, room));
    });

  federation
    .setObjectDispatcher(Note, "/messages/{id}", async (ctx, { id }) => {
      const deps = ctx.data;
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return null;
      const [message] = await deps.db
        .select()
        .from(messages)
        .where(and(eq(messages.id, id), isNull(messages.iri), isNull(messages.deletedAt)));
      const [outbound] = message
        ? []
        : await deps.db.select().from(outboundMessages).where(eq(outboundMessages.id, id));
      const row = message ?? (outbound ? { ...outbound, iri: null, editedAt: null, threadRootId: null } : undefined);
      if (row == null) return null;
      const [room] = await deps.db.select().from(rooms).where(eq(rooms.id, row.roomId));
      const author = await actorIri(deps, row.authorId);
      if (room == null || author == null || room.deletedAt) return null;
      return await toNote(deps, row, author, roomAudience(ctx, room));
    })
    .authorize(async (ctx, { id }) => {
      const deps = ctx.data;
      const [row] = await deps.db
        .select({ roomId: messages.roomId })
        .from(messages)
        .where(eq(messages.id, id))
        .union(
          deps.db.select({ roomId: outboundMessages.roomId }).from(outboundMessages).where(eq(outboundMessages.id, id)),
        );
      if (row == null) return true;
      const [room] = await deps.db.select().from(rooms).where(eq(rooms.id, row.roomId));
      if (room == null) return true;
      if (room.iri == null) return await mayRead(ctx, room);
      // A message of ours in a remote room: its room's server may read it.
      const owner = await ctx.getSignedKeyOwner().catch(() => null);
      return owner?.id != null && owner.id.origin === new URL(room.iri).origin;
    });
}
