import { and, desc, eq, inArray, or } from "drizzle-orm";
import { findLocalUser } from "../accounts/accounts.ts";
import { blocks } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { type ActorProfile, actorProfiles } from "../rooms/actors.ts";

/** Blocks a user by handle; blocking twice is a no-op. */
export async function blockUser(deps: Deps, actorId: string, handle: string): Promise<ActorProfile> {
  const target = await findLocalUser(deps, handle);
  if (target.id === actorId) throw new AppError("validation_failed", "You cannot block yourself.");
  await deps.db.insert(blocks).values({ blockerId: actorId, blockedId: target.id }).onConflictDoNothing();
  const profile = (await actorProfiles(deps, [target.id])).get(target.id);
  if (profile == null) throw new AppError("user_not_found", "No such user.");
  return profile;
}

/** Lifts a block; lifting one that does not exist is a no-op. */
export async function unblockUser(deps: Deps, actorId: string, handle: string): Promise<void> {
  const target = await findLocalUser(deps, handle);
  await deps.db.delete(blocks).where(and(eq(blocks.blockerId, actorId), eq(blocks.blockedId, target.id)));
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
 * conversation needs both sides willing).
 * @throws {AppError} `forbidden`.
 */
export async function assertNotBlocked(deps: Pick<Deps, "db">, actorId: string, others: readonly string[]) {
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
  if (row)
    throw new AppError("forbidden", "You cannot start a conversation with someone who blocks you or whom you block.");
}
