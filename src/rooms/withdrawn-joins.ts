/**
 * Joins withdrawn before they were handled. A remote server sends `Join`, then `Undo{Join}` when
 * its user cancels; the two may be handled here in either order (the inbox's workers run them
 * side by side), and an Undo handled first finds nobody to remove. Its join's IRI is kept as a
 * tombstone, and the Join, when it comes, is refused.
 * @module
 */
import { eq } from "drizzle-orm";
import { tombstones } from "../db/schema.ts";
import type { Deps } from "../deps.ts";

/** Records that the join with this IRI was withdrawn (again is harmless). */
export async function withdrawJoin(deps: Pick<Deps, "db">, joinIri: string): Promise<void> {
  await deps.db.insert(tombstones).values({ iri: joinIri }).onConflictDoNothing();
}

/** Whether the join with this IRI was withdrawn before it was handled. */
export async function joinWithdrawn(deps: Pick<Deps, "db">, joinIri: string): Promise<boolean> {
  const [row] = await deps.db.select({ iri: tombstones.iri }).from(tombstones).where(eq(tombstones.iri, joinIri));
  return row != null;
}
