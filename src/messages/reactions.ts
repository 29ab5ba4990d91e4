import { and, asc, eq, sql } from "drizzle-orm";
import { type Message, reactions, tombstones } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { knownReactionKey, reactionEmojiUrls } from "../emoji/usage.ts";
import { AppError } from "../errors.ts";
import { type ActorProfile, actorProfiles } from "../rooms/actors.ts";
import { refuseForbiddenBot } from "../rooms/bot-policy.ts";
import { accessRoom, remote } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { parseReactionKey, reactionKeyText } from "./emoji.ts";
import { messageIn } from "./messages.ts";
import { messageUrl } from "./views.ts";

/** A reaction key from the path: a single emoji or `:shortcode:`. */
export function reactionKey(value: string): string {
  const parsed = parseReactionKey(value);
  if (parsed == null) {
    throw new AppError("validation_failed", "A reaction is one emoji or a :shortcode:.", {
      details: [{ path: "emoji", message: "expected one emoji or a :shortcode:" }],
    });
  }
  return reactionKeyText(parsed);
}

/** Adds or removes the caller's reaction; adding twice or removing a missing one is a no-op. */
export async function react(
  deps: Deps,
  actorId: string,
  roomId: string,
  messageId: string,
  key: string,
  on: boolean,
): Promise<void> {
  const { room } = await accessRoom(deps, roomId, actorId);
  if (on) await refuseForbiddenBot(deps, room, actorId);
  const message = await messageIn(deps, roomId, messageId);
  if (message.deletedAt) throw new AppError("conflict", "A deleted message takes no reactions.");
  if (on && !(await knownReactionKey(deps, key))) {
    throw new AppError("validation_failed", `No emoji ${key} is known here.`, {
      details: [{ path: "emoji", message: "unknown custom emoji" }],
    });
  }
  if (room.iri != null) {
    await remote(deps).sendToRoom(actorId, room, {
      type: "react",
      messageIri: messageUrl(deps, message),
      emoji: key,
      on,
    });
    return;
  }
  await deps.db.transaction(async (tx) => {
    const changed = on
      ? await tx
          .insert(reactions)
          .values({ messageId, actorId, key })
          .onConflictDoNothing()
          .returning({ key: reactions.key })
      : await tx
          .delete(reactions)
          .where(and(eq(reactions.messageId, messageId), eq(reactions.actorId, actorId), eq(reactions.key, key)))
          .returning({ key: reactions.key });
    if (changed.length === 0) return;
    const [profile] = (await actorProfiles({ ...deps, db: tx }, [actorId])).values();
    await appendEvents(tx, [
      {
        type: on ? "reaction.added" : "reaction.removed",
        roomId,
        data: {
          messageId,
          seq: message.seq,
          emoji: key,
          ...(await emojiUrlOf({ ...deps, db: tx }, key)),
          actor: profile ?? null,
        },
      },
    ]);
  });
}

/** Who reacted to a message with what, in order of first reaction. */
export async function reactionDetails(deps: Deps, actorId: string, roomId: string, messageId: string) {
  await accessRoom(deps, roomId, actorId);
  await messageIn(deps, roomId, messageId);
  const rows = await deps.db
    .select()
    .from(reactions)
    .where(eq(reactions.messageId, messageId))
    .orderBy(asc(reactions.createdAt));
  const profiles = await actorProfiles(
    deps,
    rows.map((r) => r.actorId),
  );
  const byKey = new Map<string, ActorProfile[]>();
  for (const row of rows) {
    const profile = profiles.get(row.actorId);
    if (profile) byKey.set(row.key, [...(byKey.get(row.key) ?? []), profile]);
  }
  const urls = await reactionEmojiUrls(deps, [...byKey.keys()]);
  return [...byKey].map(([emoji, actors]) => {
    const url = urls.get(emoji);
    return { emoji, ...(url ? { url } : {}), count: actors.length, actors };
  });
}

/**
 * Adds or removes a remote actor's reaction; a repeat is a no-op. `iri` is the reaction's own
 * activity (`Like`, `EmojiReact`): an `Undo` of one that has not arrived yet leaves a tombstone
 * of it, so that it cannot take effect when it comes late.
 */
export async function applyRemoteReaction(
  deps: Deps,
  message: Message,
  reaction: { actorId: string; key: string; iri: string | null },
  on: boolean,
  activity: unknown,
  relay: boolean,
): Promise<boolean> {
  if (message.deletedAt) return false;
  const { actorId, key, iri } = reaction;
  return await deps.db.transaction(async (tx) => {
    if (iri) {
      // A reaction and its Undo may be handled at the same moment: one at a time, so that the
      // later of the two sees what the earlier did (the reaction, or its tombstone).
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${iri}))`);
    }
    if (on && iri) {
      const [undone] = await tx.select().from(tombstones).where(eq(tombstones.iri, iri));
      if (undone) return false;
    }
    const changed = on
      ? await tx
          .insert(reactions)
          .values({ messageId: message.id, actorId, key })
          .onConflictDoNothing()
          .returning({ key: reactions.key })
      : await tx
          .delete(reactions)
          .where(and(eq(reactions.messageId, message.id), eq(reactions.actorId, actorId), eq(reactions.key, key)))
          .returning({ key: reactions.key });
    if (changed.length === 0) {
      if (!on && iri) await tx.insert(tombstones).values({ iri }).onConflictDoNothing();
      return false;
    }
    const [profile] = (await actorProfiles({ ...deps, db: tx }, [actorId])).values();
    await appendEvents(tx, [
      {
        type: on ? "reaction.added" : "reaction.removed",
        roomId: message.roomId,
        data: {
          messageId: message.id,
          seq: message.seq,
          emoji: key,
          ...(await emojiUrlOf({ ...deps, db: tx }, key)),
          actor: profile ?? null,
        },
        activity: relay ? activity : null,
      },
    ]);
    return true;
  });
}

/** A custom emoji reaction's image, for its event: `{ url }`, or nothing. */
async function emojiUrlOf(deps: Deps, key: string): Promise<{ url?: string }> {
  if (!key.startsWith(":")) return {};
  const url = (await reactionEmojiUrls(deps, [key])).get(key);
  return url ? { url } : {};
}
