/**
 * Messages a remote room relays to our mirror of it, stored many at a time (issue 14: the
 * inbound side of a busy room). One transaction per batch: the replay marks, the room's
 * number, the rows and their live events; what is rare (a tombstone, an early edit) is left to
 * {@link storeRemoteMessage}'s path, one at a time.
 * @module
 */
import { and, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { earlyEdits, fedifyKv, type Message, messages, rooms, tombstones } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { actorProfiles } from "../rooms/actors.ts";
import { appendEvents } from "../stream/events.ts";
import { recordMentions } from "./messages.ts";
import { applyEarlyEdit, type RemoteNote, storeRemoteMessage } from "./remote.ts";
import { textEmojisOfMany, toView } from "./views.ts";

/** One relayed message: a note without a reply, thread or files, numbered by its room. */
export interface RelayedMessage {
  readonly note: Omit<RemoteNote, "activity" | "inReplyTo" | "contexts" | "attachments"> & {
    readonly attachments: readonly [];
  };
  /** The room's number for it (from the `Announce`'s id). */
  readonly seq: number;
  /**
   * The key that marks its activity as processed (the same key–value row Fedify's queue
   * checks), so that a replay through either path is applied once; null for none.
   */
  readonly processedKey: readonly string[] | null;
  /** How long the mark is kept. */
  readonly processedTtlMs: number;
}

/** What became of each relayed message, in the order given. */
export type RelayedOutcome = "stored" | "known" | "replayed" | "room_gone";

/** What a batch did. */
export interface RelayedBatch {
  readonly outcomes: RelayedOutcome[];
  /** The room's last number before the batch (to tell gaps), or null when it is gone. */
  readonly lastSeqBefore: number | null;
  readonly stored: Message[];
}

/**
 * Stores messages relayed into one mirrored room. A message already stored, or whose activity
 * was processed before, is left alone; one deleted before it came (a tombstone) goes through
 * {@link storeRemoteMessage} so that it keeps its number without its content.
 */
export async function storeRelayedMessages(
  deps: Deps,
  roomId: string,
  items: readonly RelayedMessage[],
): Promise<RelayedBatch> {
  const outcomes: RelayedOutcome[] = items.map(() => "known");
  if (items.length === 0) return { outcomes, lastSeqBefore: null, stored: [] };
  const iris = [...new Set(items.map((item) => item.note.iri))];
  const [known, buried] = await Promise.all([
    deps.db.select({ iri: messages.iri }).from(messages).where(inArray(messages.iri, iris)),
    deps.db.select({ iri: tombstones.iri }).from(tombstones).where(inArray(tombstones.iri, iris)),
  ]);
  const skip = new Set(known.map((row) => row.iri));
  const tombstoned = new Set(buried.map((row) => row.iri));
  const profiles = await actorProfiles(deps, [...new Set(items.map((item) => item.note.authorId))]);
  const written = await deps.db.transaction(async (tx) => {
    const [room] = await tx
      .select({ lastSeq: rooms.lastSeq })
      .from(rooms)
      .where(and(eq(rooms.id, roomId), isNull(rooms.deletedAt)))
      .for("update");
    if (room == null) return undefined;
    // Marked in the same transaction as the rows: a replay (through this path or Fedify's
    // queue) finds the mark, and a failure leaves neither.
    // (A tombstoned one is stored after, one at a time, and unmarked: that way is idempotent.)
    // (One statement may not mark a key twice: a delivery repeated within a batch is a replay.)
    const marking = new Map<string, number>();
    for (const [i, item] of items.entries()) {
      const key = item.processedKey && !tombstoned.has(item.note.iri) ? JSON.stringify(item.processedKey) : undefined;
      if (key && !marking.has(key)) marking.set(key, i);
    }
    const marks = [...marking.values()]
      .map((i) => items[i] as RelayedMessage)
      .map((item) => ({
        key: [...(item.processedKey as readonly string[])],
        value: sql`'true'::jsonb`,
        expiresAt: new Date(Date.now() + item.processedTtlMs),
      }));
    const fresh = new Set<string>();
    if (marks.length > 0) {
      const marked = await tx
        .insert(fedifyKv)
        .values(marks)
        .onConflictDoUpdate({
          target: fedifyKv.key,
          set: { value: sql`excluded.value`, expiresAt: sql`excluded.expires_at` },
          // Only an expired mark is taken over: a live one means it was processed.
          setWhere: and(sql`${fedifyKv.expiresAt} is not null`, lte(fedifyKv.expiresAt, sql`now()`)),
        })
        .returning({ key: fedifyKv.key });
      for (const row of marked) fresh.add(JSON.stringify(row.key));
    }
    const rows: (typeof messages.$inferInsert)[] = [];
    const taken = new Set<string>();
    items.forEach((item, i) => {
      const key = item.processedKey && !tombstoned.has(item.note.iri) ? JSON.stringify(item.processedKey) : undefined;
      if (key && (!fresh.has(key) || marking.get(key) !== i)) {
        outcomes[i] = "replayed";
        return;
      }
      const { note } = item;
      if (skip.has(note.iri) || tombstoned.has(note.iri) || taken.has(note.iri)) return;
      taken.add(note.iri);
      outcomes[i] = "stored";
      rows.push({
        id: uuidv7(),
        roomId,
        seq: item.seq,
        authorId: note.authorId,
        iri: note.iri,
        content: note.content,
        html: note.html,
        ...(note.published ? { createdAt: note.published } : {}),
      });
    });
    if (rows.length === 0) return { lastSeq: room.lastSeq, stored: [] as Message[] };
    const top = Math.max(...rows.map((row) => row.seq as number));
    await tx
      .update(rooms)
      .set({ lastSeq: sql`greatest(${rooms.lastSeq}, ${top})`, updatedAt: sql`now()` })
      .where(eq(rooms.id, roomId));
    const stored = await tx.insert(messages).values(rows).onConflictDoNothing().returning();
    const storedIris = new Set(stored.map((m) => m.iri));
    items.forEach((item, i) => {
      if (outcomes[i] === "stored" && !storedIris.has(item.note.iri)) outcomes[i] = "known";
    });
    const byIri = new Map(items.map((item) => [item.note.iri, item.note]));
    for (const message of stored) {
      const mentioned = byIri.get(message.iri as string)?.mentioned ?? [];
      if (mentioned.length > 0) await recordMentions(tx, message, mentioned);
    }
    const emojis = await textEmojisOfMany({ ...deps, db: tx }, stored, profiles);
    await appendEvents(
      tx,
      stored.map((message) => ({
        type: "message.created",
        roomId,
        data: {
          message: { ...toView(deps, message, profiles, undefined, [], []), emojis: emojis.get(message.id) ?? [] },
        },
        activity: null,
      })),
    );
    return { lastSeq: room.lastSeq, stored };
  });
  if (written == null) return { outcomes: items.map(() => "room_gone"), lastSeqBefore: null, stored: [] };
  // Deleted before they came: numbered, without content, the one-at-a-time way.
  for (const [i, item] of items.entries()) {
    if (outcomes[i] !== "known" || !tombstoned.has(item.note.iri) || skip.has(item.note.iri)) continue;
    const note = { ...item.note, inReplyTo: null, activity: null };
    const message = await storeRemoteMessage(deps, roomId, note, item.seq);
    if (message) outcomes[i] = "stored";
  }
  // Edits that overtook their message (one query for the batch; applied one by one, rarely).
  if (written.stored.length > 0) {
    const held = await deps.db
      .select({ iri: earlyEdits.iri })
      .from(earlyEdits)
      .where(
        inArray(
          earlyEdits.iri,
          written.stored.map((m) => m.iri as string),
        ),
      );
    const heldIris = new Set(held.map((row) => row.iri));
    for (const message of written.stored) {
      if (heldIris.has(message.iri as string)) await applyEarlyEdit(deps, message, byIriPublished(items, message));
    }
  }
  return { outcomes, lastSeqBefore: written.lastSeq, stored: written.stored };
}

function byIriPublished(items: readonly RelayedMessage[], message: Message): Date | null {
  return items.find((item) => item.note.iri === message.iri)?.note.published ?? null;
}
