import { and, asc, count, eq, inArray, isNotNull, isNull, or, type SQL, sql } from "drizzle-orm";
import { actors, invites, roomMembers, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import type { Role } from "./permissions.ts";

// Who is in a room as other servers see it: the member lists a room publishes (its followers,
// members and moderators) and whether a server has someone in it.

/** One member in a published list: a local user by username, a remote actor by IRI, and the role. */
export interface RosterEntry {
  /** The local user's username; null for a remote actor. */
  readonly username: string | null;
  /** The remote actor's IRI; null for a local user. */
  readonly iri: string | null;
  readonly role: Role;
}

/** The roles that moderate a room, highest first: what its moderators list shows. */
export const moderatingRoles: readonly Role[] = ["owner", "admin", "moderator"];

/** The room's members (of the given roles) that can be named: a user here or an actor with an IRI. */
function rosterWhere(roomId: string, roles?: readonly Role[]): SQL | undefined {
  return and(
    eq(roomMembers.roomId, roomId),
    roles ? inArray(roomMembers.role, [...roles]) : undefined,
    or(isNotNull(users.username), isNotNull(actors.iri)),
  );
}

/**
 * A page of a room's members, highest role first, then in the order they joined (so the owner
 * comes first: Lemmy takes the first of a community's moderators as its top moderator).
 * @param options `roles` limits the list to those roles; `offset` and `limit` page it.
 */
export async function roomRoster(
  deps: Pick<Deps, "db">,
  roomId: string,
  options: { roles?: readonly Role[]; offset?: number; limit: number },
): Promise<RosterEntry[]> {
  return await deps.db
    .select({ username: users.username, iri: actors.iri, role: roomMembers.role })
    .from(roomMembers)
    .innerJoin(actors, eq(actors.id, roomMembers.actorId))
    .leftJoin(users, eq(users.id, actors.userId))
    .where(rosterWhere(roomId, options.roles))
    .orderBy(
      sql`case ${roomMembers.role} when 'owner' then 0 when 'admin' then 1 when 'moderator' then 2 else 3 end`,
      asc(roomMembers.joinedAt),
      asc(roomMembers.actorId),
    )
    .offset(options.offset ?? 0)
    .limit(options.limit);
}

/** How many entries {@link roomRoster} has for the room and roles. */
export async function rosterSize(deps: Pick<Deps, "db">, roomId: string, roles?: readonly Role[]): Promise<number> {
  const [row] = await deps.db
    .select({ n: count() })
    .from(roomMembers)
    .innerJoin(actors, eq(actors.id, roomMembers.actorId))
    .leftJoin(users, eq(users.id, actors.userId))
    .where(rosterWhere(roomId, roles));
  return row?.n ?? 0;
}

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
