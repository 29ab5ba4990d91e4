import { and, asc, count, desc, eq, isNull, ne, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { DatabaseLike } from "../db/client.ts";
import { actors, type Room, type RoomMember, roomBans, roomMembers, rooms } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { appendEvents } from "../stream/events.ts";
import { onlineActors } from "../stream/presence.ts";
import { actorProfiles } from "./actors.ts";
import { cancelPendingJoin } from "./pending-joins.ts";
import { authorize, type Role } from "./permissions.ts";

import {
  accessRoom,
  accessRoomFor,
  deleteRoom,
  logModeration,
  type MemberView,
  membership,
  memberView,
  type NotificationSettings,
  notificationSettings,
  remote,
} from "./rooms.ts";

// Who is in a room: listing, joining, leaving, removing, banning, roles, one's own settings.

async function memberViews(deps: Deps, members: readonly RoomMember[]): Promise<MemberView[]> {
  const profiles = await actorProfiles(
    deps,
    members.map((m) => m.actorId),
  );
  return members.flatMap((m) => {
    const profile = profiles.get(m.actorId);
    return profile ? [memberView(m, profile)] : [];
  });
}

/**
 * The rooms two actors are both in, by name (at most 50; conversations left out): what a
 * user card shows as "shared rooms". Nobody shares rooms with themselves here.
 */
export async function sharedRooms(
  deps: Pick<Deps, "db">,
  actorId: string,
  otherId: string,
): Promise<{ id: string; name: string }[]> {
  if (actorId === otherId) return [];
  const theirs = alias(roomMembers, "theirs");
  return await deps.db
    .select({ id: rooms.id, name: rooms.name })
    .from(roomMembers)
    .innerJoin(theirs, and(eq(theirs.roomId, roomMembers.roomId), eq(theirs.actorId, otherId)))
    .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
    .where(and(eq(roomMembers.actorId, actorId), isNull(rooms.deletedAt), eq(rooms.direct, false)))
    .orderBy(sql`lower(${rooms.name})`, asc(rooms.id))
    .limit(50);
}

/** The members of a room, owners first. */
export async function listMembers(deps: Deps, actorId: string, roomId: string): Promise<MemberView[]> {
  await accessRoom(deps, roomId, actorId);
  const members = await deps.db
    .select()
    .from(roomMembers)
    .where(eq(roomMembers.roomId, roomId))
    .orderBy(
      sql`case ${roomMembers.role} when 'owner' then 0 when 'admin' then 1 when 'moderator' then 2 else 3 end`,
      asc(roomMembers.joinedAt),
    );
  const online = await onlineActors(
    deps.db,
    members.map((m) => m.actorId),
  );
  const readUpTo = new Map(members.map((m) => [m.actorId, m.lastReadSeq]));
  return (await memberViews(deps, members)).map((view) => ({
    ...view,
    presence: online.has(view.actor.id) ? "online" : "offline",
    readUpTo: readUpTo.get(view.actor.id) ?? 0,
  }));
}

/**
 * Adds an actor to a room (join, invite) in the caller's transaction: refused if banned, or a
 * bot where the room forbids bots; a
 * second concurrent join adds nothing (the primary key), and only the join that added the row
 * announces it.
 * @returns The membership, new or existing, and whether this call added it.
 */
export async function addMember(
  deps: Deps,
  tx: DatabaseLike,
  roomId: string,
  actorId: string,
  role: Role = "member",
): Promise<{ member: RoomMember; added: boolean }> {
  const [ban] = await tx
    .select()
    .from(roomBans)
    .where(and(eq(roomBans.roomId, roomId), eq(roomBans.actorId, actorId)));
  if (ban) throw new AppError("banned", "You are banned from this room.");
  const [bot] = await tx
    .select({ id: actors.id })
    .from(actors)
    .innerJoin(rooms, eq(rooms.id, roomId))
    .where(and(eq(actors.id, actorId), eq(actors.bot, true), eq(rooms.allowBots, false)));
  if (bot) throw new AppError("bots_forbidden", "This room does not allow bots.");
  const [added] = await tx.insert(roomMembers).values({ roomId, actorId, role }).onConflictDoNothing().returning();
  if (added == null) return { member: (await membership(tx, roomId, actorId)) as RoomMember, added: false };
  const [profile] = (await actorProfiles({ ...deps, db: tx }, [actorId])).values();
  if (profile) {
    await appendEvents(tx, [{ type: "member.joined", roomId, data: { member: memberView(added, profile) } }]);
  }
  await tx.update(rooms).set({ updatedAt: sql`now()` }).where(eq(rooms.id, roomId));
  return { member: added, added: true };
}

/** Joins a public room. Joining a room one is in already is a no-op. */
export async function joinRoom(deps: Deps, actorId: string, roomId: string): Promise<Room> {
  const { room, member } = await accessRoom(deps, roomId, actorId, "visible");
  if (member) return room;
  if (room.visibility !== "public" || room.direct) throw new AppError("room_not_found", "No such room.");
  await deps.db.transaction((tx) => addMember(deps, tx, roomId, actorId));
  return room;
}

/**
 * Removes a member and tells the room (and the removed actor, who no longer sees the room's
 * events) why: `left`, `kicked` or `banned`.
 */
export async function removeMember(
  tx: DatabaseLike,
  roomId: string,
  actorId: string,
  reason: "left" | "kicked" | "banned",
  by?: string,
): Promise<boolean> {
  const removed = await tx
    .delete(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, actorId)))
    .returning({ actorId: roomMembers.actorId });
  if (removed.length === 0) return false;
  const data = { roomId, actorId, reason, by: by ?? null };
  await appendEvents(tx, [
    { type: "member.left", roomId, data },
    { type: "member.left", actorId, data },
  ]);
  return true;
}

/**
 * Leaves a room. The owner cannot leave while others remain (hand ownership over first); an
 * owner leaving an otherwise empty room deletes it. Leaving a remote room whose server has not
 * answered the join yet withdraws the join.
 */
export async function leaveRoom(deps: Deps, actorId: string, roomId: string): Promise<void> {
  if (await cancelPendingJoin(deps, actorId, roomId)) return;
  const { room, member } = await accessRoom(deps, roomId, actorId);
  if (room.iri != null) {
    // Its server is told; here the member goes at once.
    await remote(deps).sendToRoom(actorId, room, { type: "leave" });
    await deps.db.transaction((tx) => removeMember(tx, roomId, actorId, "left"));
    return;
  }
  if (member?.role === "owner") {
    const [others] = await deps.db
      .select({ n: count() })
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), ne(roomMembers.actorId, actorId)));
    if (Number(others?.n ?? 0) > 0) {
      throw new AppError("conflict", "Hand ownership to another member before leaving, or delete the room.");
    }
    await deleteRoom(deps, actorId, roomId);
    return;
  }
  await deps.db.transaction((tx) => removeMember(tx, roomId, actorId, "left"));
}

async function targetMember(deps: Pick<Deps, "db">, roomId: string, targetId: string): Promise<RoomMember> {
  const target = await membership(deps.db, roomId, targetId);
  if (target == null) throw new AppError("member_not_found", "No such member in this room.");
  return target;
}

/** Removes a member with a lower role; they may join again (a public room) or be invited. */
export async function kickMember(
  deps: Deps,
  actorId: string,
  roomId: string,
  targetId: string,
  reason?: string,
): Promise<void> {
  const { member } = await accessRoomFor(deps, roomId, actorId, "kick");
  authorize(member, "kick", await targetMember(deps, roomId, targetId));
  await deps.db.transaction(async (tx) => {
    await removeMember(tx, roomId, targetId, "kicked", actorId);
    await logModeration(tx, { roomId, actorId, action: "member.kicked", targetActorId: targetId, reason });
  });
}

/**
 * Bans an actor with a reason: removed if a member, and refused at every later join or invite.
 * A member with a role at or above the banner's cannot be banned.
 */
export async function banMember(
  deps: Deps,
  actorId: string,
  roomId: string,
  targetId: string,
  reason: string,
): Promise<void> {
  const { member } = await accessRoomFor(deps, roomId, actorId, "ban");
  if (targetId === actorId) throw new AppError("forbidden", "You cannot ban yourself.");
  const [known] = await deps.db.select({ id: actors.id }).from(actors).where(eq(actors.id, targetId));
  if (known == null) throw new AppError("user_not_found", "No such user.");
  const target = await membership(deps.db, roomId, targetId);
  if (target) authorize(member, "ban", target);
  await deps.db.transaction(async (tx) => {
    await tx
      .insert(roomBans)
      .values({ roomId, actorId: targetId, reason, bannedBy: actorId })
      .onConflictDoUpdate({ target: [roomBans.roomId, roomBans.actorId], set: { reason, bannedBy: actorId } });
    if (target) await removeMember(tx, roomId, targetId, "banned", actorId);
    await logModeration(tx, { roomId, actorId, action: "member.banned", targetActorId: targetId, reason });
  });
}

/** Lifts a ban. */
export async function unbanMember(deps: Deps, actorId: string, roomId: string, targetId: string): Promise<void> {
  await accessRoomFor(deps, roomId, actorId, "ban");
  await deps.db.transaction(async (tx) => {
    const lifted = await tx
      .delete(roomBans)
      .where(and(eq(roomBans.roomId, roomId), eq(roomBans.actorId, targetId)))
      .returning({ actorId: roomBans.actorId });
    if (lifted.length === 0) throw new AppError("member_not_found", "That actor is not banned here.");
    await logModeration(tx, { roomId, actorId, action: "member.unbanned", targetActorId: targetId });
  });
}

/** The room's bans, newest first (moderators). */
export async function listBans(deps: Deps, actorId: string, roomId: string) {
  await accessRoomFor(deps, roomId, actorId, "ban");
  const rows = await deps.db
    .select()
    .from(roomBans)
    .where(eq(roomBans.roomId, roomId))
    .orderBy(desc(roomBans.createdAt));
  const profiles = await actorProfiles(
    deps,
    rows.flatMap((r) => [r.actorId, ...(r.bannedBy ? [r.bannedBy] : [])]),
  );
  return rows.map((r) => ({
    actor: profiles.get(r.actorId) ?? null,
    reason: r.reason,
    bannedBy: r.bannedBy ? (profiles.get(r.bannedBy) ?? null) : null,
    createdAt: r.createdAt.toISOString(),
  }));
}

/**
 * Changes a member's role. Granted roles stay below one's own; the owner alone may hand over
 * ownership, and becomes an admin in the same step.
 */
export async function setMemberRole(
  deps: Deps,
  actorId: string,
  roomId: string,
  targetId: string,
  role: Role,
): Promise<void> {
  const { member } = await accessRoomFor(deps, roomId, actorId, "changeRoles");
  if (targetId === actorId) throw new AppError("forbidden", "You cannot change your own role.");
  const target = await targetMember(deps, roomId, targetId);
  const handover = role === "owner";
  if (handover && member.role !== "owner") throw new AppError("forbidden", "Only the owner hands over ownership.");
  if (!handover) authorize(member, "changeRoles", target);
  if (!handover && role !== "member" && role !== "moderator" && !(role === "admin" && member.role === "owner")) {
    throw new AppError("forbidden", `Your role (${member.role}) may not grant ${role}.`);
  }
  await deps.db.transaction(async (tx) => {
    const updated = [];
    if (handover) {
      // Demote first, conditionally: of concurrent hand-overs only the first finds an owner.
      const [demoted] = await tx
        .update(roomMembers)
        .set({ role: "admin" })
        .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, actorId), eq(roomMembers.role, "owner")))
        .returning();
      if (demoted == null) throw new AppError("forbidden", "Only the owner hands over ownership.");
      updated.push(demoted);
    }
    const [changed] = await tx
      .update(roomMembers)
      .set({ role })
      .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, targetId)))
      .returning();
    updated.push(changed);
    await logModeration(tx, { roomId, actorId, action: "member.role", targetActorId: targetId, data: { role } });
    const rows = updated.filter((m): m is RoomMember => m != null);
    const profiles = await actorProfiles(
      { ...deps, db: tx },
      rows.map((m) => m.actorId),
    );
    await appendEvents(
      tx,
      rows.flatMap((m) => {
        const profile = profiles.get(m.actorId);
        return profile ? [{ type: "member.updated" as const, roomId, data: { member: memberView(m, profile) } }] : [];
      }),
    );
  });
}

/**
 * Sets the caller's own nickname and colour in a room (null clears them), and how the room
 * notifies them (level `default` follows the room's kind). Only nickname and colour are told to
 * the room: notification settings are the member's own business, told to their own sessions
 * (`room.notifications`).
 */
export async function updateMyMembership(
  deps: Deps,
  actorId: string,
  roomId: string,
  changes: {
    nickname?: string | null | undefined;
    color?: string | null | undefined;
    notifications?: "all" | "mentions" | "none" | "default" | undefined;
    muted?: boolean | undefined;
  },
): Promise<MemberView & { notifications: NotificationSettings }> {
  const { room } = await accessRoom(deps, roomId, actorId);
  const { notifications, muted, ...shown } = changes;
  const set = Object.fromEntries(Object.entries(shown).filter(([, v]) => v !== undefined));
  const own = {
    ...(notifications === undefined ? {} : { notificationLevel: notifications === "default" ? null : notifications }),
    ...(muted === undefined ? {} : { muted }),
  };
  return await deps.db.transaction(async (tx) => {
    if (Object.keys(own).length > 0) {
      await tx
        .update(roomMembers)
        .set(own)
        .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, actorId)));
    }
    const [updated] =
      Object.keys(set).length > 0
        ? await tx
            .update(roomMembers)
            .set(set)
            .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, actorId)))
            .returning()
        : [await membership(tx, roomId, actorId)];
    if (updated == null) throw new AppError("not_a_member", "Join the room first.");
    const [profile] = (await actorProfiles({ ...deps, db: tx }, [actorId])).values();
    if (profile == null) throw new Error("The member has no actor.");
    const view = memberView(updated, profile);
    const settings = notificationSettings(room, updated);
    await appendEvents(tx, [
      ...(Object.keys(set).length > 0 ? [{ type: "member.updated" as const, roomId, data: { member: view } }] : []),
      ...(Object.keys(own).length > 0
        ? [{ type: "room.notifications" as const, actorId, data: { roomId, notifications: settings } }]
        : []),
    ]);
    return { ...view, notifications: settings };
  });
}

/** The ids of the rooms an actor is a member of (here, or mirrored here). */
export async function roomIdsOf(deps: Pick<Deps, "db">, actorId: string): Promise<string[]> {
  const rows = await deps.db
    .select({ roomId: roomMembers.roomId })
    .from(roomMembers)
    .where(eq(roomMembers.actorId, actorId));
  return rows.map((r) => r.roomId);
}
