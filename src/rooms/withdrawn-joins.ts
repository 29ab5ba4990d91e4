/**
 * Joins withdrawn before they were handled. A remote server sends `Join`, then `Undo{Join}` when
 * its user cancels; the two may be handled here in either order, or side by side (the inbox's
 * workers run them at once), and an Undo handled first finds nobody to remove. Its join's IRI is
 * kept as a tombstone, and the Join, when it comes, is refused. The two take one lock per join
 * IRI, so neither can slip between the other's check and its write.
 * @module
 */
import { eq, sql } from "drizzle-orm";
import type { DatabaseLike } from "../db/client.ts";
import { tombstones } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { removeMember } from "./members.ts";

/** Holds the join's lock until the transaction ends. */
async function lockJoin(tx: DatabaseLike, joinIri: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${joinIri}))`);
}

/**
 * A remote actor withdraws the join with this IRI: it is kept as withdrawn (again is harmless),
 * and they leave the room if the join was handled already. Neither the room nor the actor need
 * be known yet: an Undo handled first may come before anything else of theirs.
 * @returns Whether they were in the room.
 */
export async function withdrawRemoteJoin(
  deps: Pick<Deps, "db">,
  joinIri: string,
  member: { roomId: string; actorId: string } | undefined,
): Promise<boolean> {
  return await deps.db.transaction(async (tx) => {
    await lockJoin(tx, joinIri);
    await tx.insert(tombstones).values({ iri: joinIri }).onConflictDoNothing();
    return member != null && (await removeMember(tx, member.roomId, member.actorId, "left"));
  });
}

/**
 * Whether the join with this IRI was withdrawn; in a transaction that admits its actor, whose
 * withdrawal then waits until the admission is committed (and removes them again).
 */
export async function joinWithdrawnIn(tx: DatabaseLike, joinIri: string): Promise<boolean> {
  await lockJoin(tx, joinIri);
  const [row] = await tx.select({ iri: tombstones.iri }).from(tombstones).where(eq(tombstones.iri, joinIri));
  return row != null;
}
