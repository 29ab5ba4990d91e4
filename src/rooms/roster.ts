import { and, eq, inArray, isNotNull, isNull, or, sql } from "drizzle-orm";
import { actors, invites, roomMembers } from "../db/schema.ts";
import type { Deps } from "../deps.ts";

// Who is in a room as other servers see it: whether a server has someone in it.

/**
 * Whether a server (an origin such as `https://example.com`) has a member in the room, or with
 * `invited` also someone holding a live targeted invite to it.
 */
export async function hasMemberAt(
  deps: Pick<Deps, "db">,
  roomId: string,
  origin: string,
  options: { invited?: boolean } = {},
): Promise<boolean> {
  const members = deps.db.select({ id: roomMembers.actorId }).from(roomMembers).where(eq(roomMembers.roomId, roomId));
  const invitees = deps.db
    .select({ id: invites.inviteeId })
    .from(invites)
    .where(and(eq(invites.roomId, roomId), isNull(invites.revokedAt), isNotNull(invites.inviteeId)));
  // Stored IRIs are normalised (`URL.href`), so an actor at the origin starts with it; the
  // prefix narrows the rows in SQL and the parsed origin decides.
  const rows = await deps.db
    .select({ iri: actors.iri })
    .from(actors)
    .where(
      and(
        sql`starts_with(${actors.iri}, ${`${origin}/`})`,
        options.invited ? or(inArray(actors.id, members), inArray(actors.id, invitees)) : inArray(actors.id, members),
      ),
    );
  return rows.some((r) => r.iri != null && URL.parse(r.iri)?.origin === origin);
}
