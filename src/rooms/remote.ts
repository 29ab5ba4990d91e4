import { and, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { uuidv7 } from "uuidv7";
import { announceProfile } from "../accounts/profile-events.ts";
import { type ProfileFieldInput, replaceProfileFields } from "../accounts/profile-fields.ts";
import { actors, contacts, type Room, roomBans, roomMembers, rooms, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { blockedAmong, hostOf } from "../server-blocks.ts";
import { appendEvents } from "../stream/events.ts";
import { actorProfiles } from "./actors.ts";
import { addMember, removeMember } from "./members.ts";
import type { Role } from "./permissions.ts";
import { memberView } from "./rooms.ts";
import { joinWithdrawnIn } from "./withdrawn-joins.ts";

/** What federation learnt about a remote actor (a `Person`, `Service`…). */
export interface RemoteActor {
  readonly iri: string;
  /** `name@host`, lowercase. */
  readonly handle: string;
  readonly name: string;
  readonly inbox: string | null;
  readonly sharedInbox: string | null;
  readonly avatarUrl: string | null;
  /** A `Service` or `Application`: shown as a bot. */
  readonly bot?: boolean | undefined;
  /** Its profile fields (`PropertyValue` attachments) as plain text; left as they are when undefined. */
  readonly fields?: readonly ProfileFieldInput[] | undefined;
}

/**
 * Stores or refreshes a remote actor; returns its local actor id. A known actor whose name,
 * handle or avatar changed is told live to everyone here who sees them (`profile.updated`).
 */
export async function upsertRemoteActor(deps: Pick<Deps, "db" | "config">, actor: RemoteActor): Promise<string> {
  const values = {
    handle: actor.handle.toLowerCase(),
    name: actor.name,
    inbox: actor.inbox,
    sharedInbox: actor.sharedInbox,
    avatarUrl: actor.avatarUrl,
    bot: actor.bot ?? false,
    fetchedAt: sql`now()`,
  };
  return await deps.db.transaction(async (tx) => {
    const [before] = await tx
      .select({ handle: actors.handle, name: actors.name, avatarUrl: actors.avatarUrl })
      .from(actors)
      .where(eq(actors.iri, actor.iri))
      .for("update");
    const [row] = await tx
      .insert(actors)
      .values({ id: uuidv7(), iri: actor.iri, ...values })
      .onConflictDoUpdate({ target: actors.iri, set: values })
      .returning({ id: actors.id });
    if (row == null) throw new Error("The remote actor was not stored.");
    const fieldsChanged = actor.fields !== undefined && (await replaceProfileFields(tx, row.id, actor.fields));
    const changed =
      before != null &&
      (fieldsChanged ||
        before.handle !== values.handle ||
        before.name !== values.name ||
        before.avatarUrl !== values.avatarUrl);
    if (changed) await announceProfile(deps, tx, row.id);
    return row.id;
  });
}

/** What federation learnt about a remote room (a `Group`). */
export interface RemoteRoom {
  readonly iri: string;
  readonly name: string;
  readonly topic: string;
  readonly visibility: "public" | "private";
  readonly inbox: string | null;
  readonly sharedInbox: string | null;
  readonly outbox: string | null;
  /** Its `featured` collection: the pinned messages, and the target of pins sent there. */
  readonly featured: string | null;
  /** Days its messages are kept (our `retentionDays` extension; null: forever or not said). */
  readonly retentionDays?: number | null;
}

/**
 * Stores or refreshes the mirror of a remote room; returns it. When an existing mirror's name,
 * topic or visibility changed (`Update{Group}`), its members here are told live (`room.updated`).
 */
export async function upsertRemoteRoom(deps: Pick<Deps, "db">, room: RemoteRoom): Promise<Room> {
  const values = {
    name: room.name,
    topic: room.topic,
    visibility: room.visibility,
    inbox: room.inbox,
    sharedInbox: room.sharedInbox,
    outbox: room.outbox,
    featured: room.featured,
    retentionDays: room.retentionDays ?? null,
  };
  return await deps.db.transaction(async (tx) => {
    const [before] = await tx
      .select({
        name: rooms.name,
        topic: rooms.topic,
        visibility: rooms.visibility,
        retentionDays: rooms.retentionDays,
        deletedAt: rooms.deletedAt,
      })
      .from(rooms)
      .where(eq(rooms.iri, room.iri))
      .for("update");
    const [row] = await tx
      .insert(rooms)
      .values({ id: uuidv7(), iri: room.iri, ...values })
      .onConflictDoUpdate({ target: rooms.iri, set: { ...values, deletedAt: null } })
      .returning();
    if (row == null) throw new Error("The remote room was not stored.");
    if (before != null && before.deletedAt == null) {
      const changes = Object.fromEntries(
        (["name", "topic", "visibility", "retentionDays"] as const)
          .filter((k) => before[k] !== values[k])
          .map((k) => [k, values[k]]),
      );
      if (Object.keys(changes).length > 0) {
        await appendEvents(tx, [{ type: "room.updated", roomId: row.id, data: { changes } }]);
      }
    }
    return row;
  });
}

/** The mirror of a remote room by its `Group` IRI. */
export async function roomByIri(deps: Pick<Deps, "db">, iri: string): Promise<Room | undefined> {
  const [room] = await deps.db.select().from(rooms).where(eq(rooms.iri, iri));
  return room;
}

/**
 * A remote actor asks to join a room hosted here (`Follow` or `Join` without an invite link):
 * a public room admits anyone not banned; a private one only those already in (an invite link
 * is redeemed instead).
 * @param joinIri The `Join` that asks: refused when it was withdrawn (`conflict`).
 * @throws {AppError} `room_not_found`, `banned`, `forbidden` (a private room), `conflict`.
 */
export async function admitRemoteActor(
  deps: Deps,
  roomId: string,
  actorId: string,
  joinIri?: string | undefined,
): Promise<void> {
  const [room] = await deps.db.select().from(rooms).where(eq(rooms.id, roomId));
  if (room == null || room.deletedAt || room.iri != null || room.direct) {
    throw new AppError("room_not_found", "No such room.");
  }
  await deps.db.transaction(async (tx) => {
    if (joinIri != null && (await joinWithdrawnIn(tx, joinIri))) {
      throw new AppError("conflict", "The join was withdrawn before it arrived.");
    }
    if (room.visibility === "private") {
      const [already] = await tx
        .select()
        .from(roomMembers)
        .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, actorId)));
      if (already == null) throw new AppError("forbidden", "This room is private: an invitation is needed.");
    }
    await addMember(deps, tx, roomId, actorId);
  });
}

/** A member leaves, or a mirror learns that one left: no-op when they are not in. */
export async function removeRemoteMember(
  deps: Pick<Deps, "db">,
  roomId: string,
  actorId: string,
  reason: "left" | "kicked" | "banned",
  by?: string,
): Promise<boolean> {
  return await deps.db.transaction((tx) => removeMember(tx, roomId, actorId, reason, by));
}

/** Records a ban learnt from a remote room's server (its members cannot rejoin through us). */
export async function recordRemoteBan(deps: Pick<Deps, "db">, roomId: string, actorId: string, reason: string) {
  await deps.db.insert(roomBans).values({ roomId, actorId, reason }).onConflictDoNothing();
}

/** A mirror learns from its room's server that someone joined; nothing if they are banned here. */
export async function addMirrorMember(deps: Deps, roomId: string, actorId: string): Promise<void> {
  await deps.db
    .transaction((tx) => addMember(deps, tx, roomId, actorId))
    .catch((error) => {
      if (!(error instanceof AppError)) throw error;
    });
}

/**
 * Makes a mirror's remote members what the room's own server lists (its members collection,
 * with roles from its moderators): those missing are added with their role, roles that
 * differ are set, and, when the list is complete, remote members it no longer holds leave.
 * Local users' memberships are their own joins' business and are left alone.
 * @returns How many were added, changed and removed.
 */
export async function syncMirrorMembers(
  deps: Deps,
  roomId: string,
  listed: readonly { actorId: string; role: Role }[],
  complete: boolean,
): Promise<{ added: number; changed: number; removed: number }> {
  return await deps.db.transaction(async (tx) => {
    const current = await tx
      .select({ actorId: roomMembers.actorId, role: roomMembers.role, local: actors.userId })
      .from(roomMembers)
      .innerJoin(actors, eq(actors.id, roomMembers.actorId))
      .where(eq(roomMembers.roomId, roomId));
    const byId = new Map(current.map((m) => [m.actorId, m]));
    // A local user is in only by their own join, even one the list has not caught up with.
    const ids = listed.map((m) => m.actorId);
    const locals = new Set(
      ids.length === 0
        ? []
        : (
            await tx
              .select({ id: actors.id })
              .from(actors)
              .where(and(inArray(actors.id, ids), isNotNull(actors.userId)))
          ).map((a) => a.id),
    );
    let added = 0;
    let changed = 0;
    for (const { actorId, role } of listed) {
      if (locals.has(actorId)) continue;
      const existing = byId.get(actorId);
      if (existing == null) {
        const result = await addMember(deps, tx, roomId, actorId, role).catch((error: unknown) => {
          if (error instanceof AppError) return undefined;
          throw error;
        });
        if (result?.added) added++;
      } else if (existing.role !== role) {
        const [member] = await tx
          .update(roomMembers)
          .set({ role })
          .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, actorId)))
          .returning();
        const profile = (await actorProfiles({ ...deps, db: tx }, [actorId])).get(actorId);
        if (member && profile) {
          await appendEvents(tx, [{ type: "member.updated", roomId, data: { member: memberView(member, profile) } }]);
        }
        changed++;
      }
    }
    let removed = 0;
    if (complete) {
      const keep = new Set(listed.map((m) => m.actorId));
      for (const m of current) {
        if (m.local == null && !keep.has(m.actorId) && (await removeMember(tx, roomId, m.actorId, "left"))) removed++;
      }
    }
    return { added, changed, removed };
  });
}

/** A room hosted here (not a mirror), not deleted, by its id. */
export async function hostedRoomById(deps: Pick<Deps, "db">, roomId: string): Promise<Room | undefined> {
  const [room] = await deps.db
    .select()
    .from(rooms)
    .where(and(eq(rooms.id, roomId), isNull(rooms.iri), isNull(rooms.deletedAt)));
  return room;
}

/** A room that is not deleted, by its id. */
export async function liveRoom(deps: Pick<Deps, "db">, roomId: string): Promise<Room | undefined> {
  const [room] = await deps.db
    .select()
    .from(rooms)
    .where(and(eq(rooms.id, roomId), isNull(rooms.deletedAt)));
  return room;
}

/** One of our users who is in a mirror (to sign its fetches as), if any. */
export async function localMemberOf(deps: Pick<Deps, "db">, roomId: string): Promise<string | undefined> {
  const [local] = await deps.db
    .select({ actorId: roomMembers.actorId })
    .from(roomMembers)
    .innerJoin(actors, eq(actors.id, roomMembers.actorId))
    .where(and(eq(roomMembers.roomId, roomId), isNull(actors.iri)))
    .limit(1);
  return local?.actorId;
}

/** A remote room's `Group` deleted itself: the mirror is gone, and its members are told. */
export async function deleteMirror(deps: Pick<Deps, "db">, mirrorId: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const former = await tx.delete(roomMembers).where(eq(roomMembers.roomId, mirrorId)).returning();
    await tx.update(rooms).set({ deletedAt: new Date() }).where(eq(rooms.id, mirrorId));
    await appendEvents(
      tx,
      former.map(({ actorId }) => ({ type: "room.deleted" as const, actorId, data: { roomId: mirrorId } })),
    );
  });
}

/**
 * Where other servers learn of these local users' presence: for each user (by username), the
 * inboxes of the remote members of their rooms and of the remote rooms they are in. Only
 * servers that share a room with a user hear of them.
 */
export async function presencePeers(
  deps: Pick<Deps, "db">,
  actorIds: readonly string[],
): Promise<{ username: string; inbox: string }[]> {
  if (actorIds.length === 0) return [];
  const mine = alias(roomMembers, "mine");
  const me = alias(actors, "me");
  const base = deps.db
    .selectDistinct({ username: users.username, inbox: sql<string>`coalesce(${actors.sharedInbox}, ${actors.inbox})` })
    .from(mine)
    .innerJoin(me, eq(me.id, mine.actorId))
    .innerJoin(users, eq(users.id, me.userId))
    .innerJoin(rooms, and(eq(rooms.id, mine.roomId), isNull(rooms.deletedAt)))
    .innerJoin(roomMembers, eq(roomMembers.roomId, mine.roomId))
    .innerJoin(actors, and(eq(actors.id, roomMembers.actorId), isNotNull(actors.iri), isNotNull(actors.inbox)))
    .where(inArray(mine.actorId, [...actorIds]));
  const hosts = deps.db
    .selectDistinct({ username: users.username, inbox: sql<string>`${rooms.inbox}` })
    .from(mine)
    .innerJoin(me, eq(me.id, mine.actorId))
    .innerJoin(users, eq(users.id, me.userId))
    .innerJoin(rooms, and(eq(rooms.id, mine.roomId), isNull(rooms.deletedAt), isNotNull(rooms.inbox)))
    .where(inArray(mine.actorId, [...actorIds]));
  return [...(await base), ...(await hosts)];
}

/**
 * Where a local user's profile change goes: the inboxes (shared where there is one) of the
 * servers that show them, that is those with a member in a room they are in, the hosts of
 * remote rooms they are in, and their remote contacts. Servers an admin blocked (and their
 * subdomains) are left out: a block keeps their users' contacts and our users' remote rooms,
 * but nothing more is told to them.
 */
export async function profileRecipients(deps: Pick<Deps, "db">, actorId: string): Promise<string[]> {
  const viaRooms = (await presencePeers(deps, [actorId])).map((p) => p.inbox);
  const theirContacts = await deps.db
    .select({ inbox: actors.inbox, sharedInbox: actors.sharedInbox })
    .from(contacts)
    .innerJoin(actors, eq(actors.id, contacts.contactId))
    .where(and(eq(contacts.ownerId, actorId), isNotNull(actors.iri), isNotNull(actors.inbox)));
  const viaContacts = theirContacts.flatMap((c) => c.sharedInbox ?? c.inbox ?? []);
  const inboxes = [...new Set([...viaRooms, ...viaContacts])].filter((inbox) => URL.canParse(inbox));
  const blocked = await blockedAmong(deps, [...new Set(inboxes.map(hostOf))]);
  return inboxes.filter((inbox) => !blocked.has(hostOf(inbox)));
}

/** The stored remote actors with these IRIs that are members of some room here, by id. */
export async function remoteMembersByIri(deps: Pick<Deps, "db">, iris: readonly string[]): Promise<string[]> {
  if (iris.length === 0) return [];
  const rows = await deps.db
    .select({ id: actors.id })
    .from(actors)
    .where(
      and(
        inArray(actors.iri, [...iris]),
        sql`exists (select 1 from ${roomMembers} where ${roomMembers.actorId} = ${actors.id})`,
      ),
    );
  return rows.map((row) => row.id);
}
