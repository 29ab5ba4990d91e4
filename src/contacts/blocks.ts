import { and, desc, eq, inArray, or } from "drizzle-orm";
import { blocks } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { type ActorProfile, actorByHandle, actorProfiles } from "../rooms/actors.ts";
import { appendEvents } from "../stream/events.ts";
import { dropContactsBetween } from "./contacts.ts";

/**
 * Blocks a user by handle, here or on another server; blocking twice is a no-op. Contacts and pending contact requests
 * between the two end with it, and the blocker's sessions learn of it (`block.updated`), so
 * that clients hide the blocked user's messages on the stream too.
 */
export async function blockUser(deps: Deps, actorId: string, handle: string): Promise<ActorProfile> {
  // Someone already met is blocked at once, even while their server is down.
  const target = await actorByHandle(deps, handle, { stored: true }).catch(async (error: unknown) => {
    if (error instanceof AppError && error.code === "user_not_found") return await actorByHandle(deps, handle);
    throw error;
  });
  if (target.id === actorId) throw new AppError("validation_failed", "You cannot block yourself.");
  const profile = (await actorProfiles(deps, [target.id])).get(target.id);
  if (profile == null) throw new AppError("user_not_found", "No such user.");
  await deps.db.transaction(async (tx) => {
    const added = await tx
      .insert(blocks)
      .values({ blockerId: actorId, blockedId: target.id })
      .onConflictDoNothing()
      .returning({ id: blocks.blockedId });
    await dropContactsBetween(tx, actorId, target.id);
    if (added.length > 0) {
      await appendEvents(tx, [{ type: "block.updated", actorId, data: { actor: profile, blocked: true } }]);
    }
  });
  return profile;
}

/** Lifts a block; lifting one that does not exist is a no-op. */
export async function unblockUser(deps: Deps, actorId: string, handle: string): Promise<void> {
  const target = await actorByHandle(deps, handle, { stored: true });
  const profile = (await actorProfiles(deps, [target.id])).get(target.id);
  await deps.db.transaction(async (tx) => {
    const removed = await tx
      .delete(blocks)
      .where(and(eq(blocks.blockerId, actorId), eq(blocks.blockedId, target.id)))
      .returning({ id: blocks.blockedId });
    if (removed.length > 0) {
      await appendEvents(tx, [{ type: "block.updated", actorId, data: { actor: profile ?? null, blocked: false } }]);
    }
  });
}

/** The users the actor blocks, newest first. */
export async function listBlocks(deps: Deps, actorId: string) {
  const rows = await deps.db.select().from(blocks).where(eq(blocks.blockerId, actorId)).orderBy(desc(blocks.createdAt));
  const profiles = await actorProfiles(
    deps,
    rows.map((r) => r.blockedId),
  );
  return rows.flatMap((r) => {
    const actor = profiles.get(r.blockedId);
    return actor ? [{ actor, createdAt: r.createdAt.toISOString() }] : [];
  });
}

/**
 * Refuses when any of `others` blocks the actor, or the actor blocks any of them (a direct
 * conversation, an invite or a contact request needs both sides willing).
 * @param what What is refused, for the message.
 * @throws {AppError} `forbidden`.
 */
export async function assertNotBlocked(
  deps: Pick<Deps, "db">,
  actorId: string,
  others: readonly string[],
  what = "start a conversation with",
) {
  if (others.length === 0) return;
  const [row] = await deps.db
    .select({ blockerId: blocks.blockerId })
    .from(blocks)
    .where(
      or(
        and(inArray(blocks.blockerId, [...others]), eq(blocks.blockedId, actorId)),
        and(eq(blocks.blockerId, actorId), inArray(blocks.blockedId, [...others])),
      ),
    )
    .limit(1);
  if (row) throw new AppError("forbidden", `You cannot ${what} someone who blocks you or whom you block.`);
}
