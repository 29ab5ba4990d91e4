import { and, asc, eq } from "drizzle-orm";
import { reactions } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { type ActorProfile, actorProfiles } from "../rooms/actors.ts";
import { accessRoom, remote } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { parseReactionKey } from "./emoji.ts";
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
  return parsed.kind === "unicode" ? parsed.emoji : `:${parsed.shortcode}:`;
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
  const message = await messageIn(deps, roomId, messageId);
  if (message.deletedAt) throw new AppError("conflict", "A deleted message takes no reactions.");
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
        data: { messageId, seq: message.seq, emoji: key, actor: profile ?? null },
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
  return [...byKey].map(([emoji, actors]) => ({ emoji, count: actors.length, actors }));
}
