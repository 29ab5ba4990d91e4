import { and, asc, count, desc, eq, ilike, isNull, ne, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import type { DatabaseLike } from "../db/client.ts";
import {
  actors,
  messageMentions,
  moderationLog,
  type Room,
  type RoomMember,
  roomBans,
  roomMembers,
  rooms,
} from "../db/schema.ts";
import type { Deps, Federator } from "../deps.ts";
import { AppError } from "../errors.ts";
import { detachFromRoom, removeUnreferencedFiles } from "../media/attachments.ts";
import { avatarUrl, removeAvatarFile, storeAvatarFile } from "../media/avatars.ts";
import { appendEvents } from "../stream/events.ts";
import { onlineActors } from "../stream/presence.ts";
import { type ActorProfile, actorProfiles } from "./actors.ts";
import { type Action, authorize, type Role } from "./permissions.ts";

/** The federation port, for actions in rooms on other servers. */
export function remote(deps: Deps): Federator {
  if (deps.federation == null) throw new AppError("remote_unreachable", "Federation is not running in this process.");
  return deps.federation;
}

/** A room as one actor sees it: the room and their membership, if any. */
export interface RoomAccess {
  readonly room: Room;
  readonly member: RoomMember | undefined;
}

/** A member with their profile, as lists and events show them. */
export interface MemberView {
  readonly actor: ActorProfile;
  readonly role: Role;
  readonly nickname: string | null;
  readonly color: string | null;
  readonly joinedAt: string;
  /** Online while any of the member's sessions has a live stream; only in member lists. */
  readonly presence?: "online" | "offline";
}

/** Serialises a membership for the API and the stream. */
export function memberView(member: RoomMember, actor: ActorProfile): MemberView {
  return {
    actor,
    role: member.role,
    nickname: member.nickname,
    color: member.color,
    joinedAt: member.joinedAt.toISOString(),
  };
}

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

/** The actor's membership of a room, if any. */
export async function membership(db: DatabaseLike, roomId: string, actorId: string): Promise<RoomMember | undefined> {
  const [member] = await db
    .select()
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, actorId)));
  return member;
}

/**
 * Loads a room for an actor. A deleted room, and a private room the actor is not in, are both
 * `room_not_found`: outsiders cannot learn that a private room exists.
 * @param need `member` to require membership (`not_a_member` for a public room's outsider).
 */
export async function accessRoom(
  deps: Pick<Deps, "db">,
  roomId: string,
  actorId: string,
  need: "visible" | "member" = "member",
): Promise<RoomAccess> {
  const [row] = await deps.db
    .select({ room: rooms, member: roomMembers })
    .from(rooms)
    .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.actorId, actorId)))
    .where(and(eq(rooms.id, roomId), isNull(rooms.deletedAt)));
  return checkAccess(row?.room, row?.member ?? undefined, need);
}

/** The rule of {@link accessRoom}, for a caller that read the room and membership itself. */
export function checkAccess(
  room: Room | undefined,
  member: RoomMember | undefined,
  need: "visible" | "member",
): RoomAccess {
  if (room == null || (room.visibility === "private" && member == null)) {
    throw new AppError("room_not_found", "No such room.");
  }
  if (need === "member" && member == null) throw new AppError("not_a_member", "Join the room first.");
  return { room, member };
}

/** Like {@link accessRoom} for members, checking a permission too. */
export async function accessRoomFor(
  deps: Pick<Deps, "db">,
  roomId: string,
  actorId: string,
  action: Action,
): Promise<RoomAccess & { member: RoomMember }> {
  const access = await accessRoom(deps, roomId, actorId, "member");
  if (access.room.iri != null) {
    throw new AppError("managed_remotely", "This room lives on another server: it is managed there.");
  }
  const member = access.member as RoomMember;
  authorize(member, action);
  return { room: access.room, member };
}

/** Writes a moderation log entry in the caller's transaction. */
export async function logModeration(
  tx: DatabaseLike,
  entry: {
    roomId: string;
    actorId: string;
    action: string;
    targetActorId?: string;
    targetMessageId?: string;
    reason?: string;
    data?: unknown;
  },
): Promise<void> {
  await tx.insert(moderationLog).values({ id: uuidv7(), ...entry, data: entry.data ?? null });
}

/**
 * Creates a room with the creator as its owner.
 * @param input name and topic already validated and cleaned.
 */
export async function createRoom(
  deps: Deps,
  actorId: string,
  input: {
    name: string;
    topic?: string | undefined;
    visibility: "public" | "private";
    direct?: boolean;
    directKey?: string;
  },
): Promise<Room> {
  return await deps.db.transaction(async (tx) => {
    const [room] = await tx
      .insert(rooms)
      .values({
        id: uuidv7(),
        name: input.name,
        topic: input.topic ?? "",
        visibility: input.visibility,
        direct: input.direct ?? false,
        directKey: input.directKey ?? null,
        createdBy: actorId,
      })
      .returning();
    if (room == null) throw new Error("The room row was not written.");
    const [member] = await tx.insert(roomMembers).values({ roomId: room.id, actorId, role: "owner" }).returning();
    const [profile] = (await actorProfiles({ ...deps, db: tx }, [actorId])).values();
    if (member && profile) {
      await appendEvents(tx, [
        { type: "member.joined", roomId: room.id, data: { member: memberView(member, profile) } },
      ]);
    }
    return room;
  });
}

/** Room fields a change may set; each is validated and cleaned already. */
export interface RoomChanges {
  readonly name?: string | undefined;
  readonly topic?: string | undefined;
  readonly theme?: string | null | undefined;
  readonly visibility?: "public" | "private" | undefined;
}

const changePermission: Record<keyof RoomChanges, Action> = {
  name: "rename",
  topic: "setTopic",
  theme: "setTheme",
  visibility: "setVisibility",
};

/** Changes a room's name, topic, theme or visibility, each by its own permission. */
export async function updateRoom(deps: Deps, actorId: string, roomId: string, changes: RoomChanges): Promise<Room> {
  const { room, member } = await accessRoom(deps, roomId, actorId);
  if (room.iri != null)
    throw new AppError("managed_remotely", "This room lives on another server: it is managed there.");
  const set = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as RoomChanges;
  for (const field of Object.keys(set) as (keyof RoomChanges)[])
    authorize(member as RoomMember, changePermission[field]);
  if (room.direct && set.visibility === "public") {
    throw new AppError("validation_failed", "A direct conversation stays private.");
  }
  if (Object.keys(set).length === 0) return room;
  return await deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(rooms)
      .set({ ...set, updatedAt: sql`now()` })
      .where(eq(rooms.id, roomId))
      .returning();
    if (updated == null) throw new AppError("room_not_found", "No such room.");
    await logModeration(tx, { roomId, actorId, action: "room.updated", data: set });
    await appendEvents(tx, [{ type: "room.updated", roomId, data: { changes: set } }]);
    return updated;
  });
}

/**
 * Sets or removes the room's avatar (by the setAvatar permission); the previous file, read
 * under the row lock, is deleted after commit.
 */
export async function setRoomAvatar(
  deps: Deps,
  actorId: string,
  roomId: string,
  bytes: Uint8Array | null,
): Promise<Room> {
  await accessRoomFor(deps, roomId, actorId, "setAvatar");
  const name = bytes ? await storeAvatarFile(deps, bytes) : null;
  const { updated, previous } = await deps.db.transaction(async (tx) => {
    const [row] = await tx.select({ avatar: rooms.avatar }).from(rooms).where(eq(rooms.id, roomId)).for("update");
    const [updated] = await tx
      .update(rooms)
      .set({ avatar: name, updatedAt: sql`now()` })
      .where(eq(rooms.id, roomId))
      .returning();
    await logModeration(tx, { roomId, actorId, action: "room.updated", data: { avatar: name != null } });
    await appendEvents(tx, [{ type: "room.updated", roomId, data: { changes: { avatarUrl: avatarUrl(deps, name) } } }]);
    return { updated, previous: row?.avatar ?? null };
  });
  if (previous) await removeAvatarFile(deps, previous);
  if (updated == null) throw new AppError("room_not_found", "No such room.");
  return updated;
}

/**
 * Deletes a room (owner only): members are told, its history is no longer served, and its
 * attachments go (their files once nothing else refers to the bytes), freeing their uploaders'
 * quota.
 */
export async function deleteRoom(deps: Deps, actorId: string, roomId: string): Promise<void> {
  await accessRoomFor(deps, roomId, actorId, "deleteRoom");
  const hashes = await deps.db.transaction(async (tx) => {
    await tx.update(rooms).set({ deletedAt: sql`now()` }).where(eq(rooms.id, roomId));
    const released = await detachFromRoom(tx, roomId);
    const former = await tx
      .delete(roomMembers)
      .where(eq(roomMembers.roomId, roomId))
      .returning({ actorId: roomMembers.actorId });
    // Addressed to each former member: they are no longer members, so a replay finds it too.
    await appendEvents(
      tx,
      former.map(({ actorId }) => ({ type: "room.deleted" as const, actorId, data: { roomId } })),
    );
    return released;
  });
  await removeUnreferencedFiles(deps, hashes);
}

/** One line of the caller's room list. */
export interface RoomListEntry {
  readonly room: Room;
  readonly role: Role;
  readonly unread: number;
  readonly mentions: number;
  readonly lastReadSeq: number;
  readonly notifications: NotificationSettings;
}

/** How a room notifies one member: the effective level, and whether it is muted. */
export interface NotificationSettings {
  readonly level: "all" | "mentions" | "none";
  readonly muted: boolean;
}

/** A member's notification settings, with an unset level following the room's kind. */
export function notificationSettings(
  room: Pick<Room, "direct">,
  member: Pick<RoomMember, "notificationLevel" | "muted">,
): NotificationSettings {
  return { level: member.notificationLevel ?? (room.direct ? "all" : "mentions"), muted: member.muted };
}

/**
 * The rooms the actor is in, most recently active first, with unread and mention counts
 * (messages after their read marker; their own messages move the marker).
 * @param only A room id: that room's entry alone, if the actor is in it.
 */
export async function listMyRooms(deps: Pick<Deps, "db">, actorId: string, only?: string): Promise<RoomListEntry[]> {
  const rows = await deps.db
    .select({
      room: rooms,
      role: roomMembers.role,
      lastReadSeq: roomMembers.lastReadSeq,
      notificationLevel: roomMembers.notificationLevel,
      muted: roomMembers.muted,
      mentions: sql<number>`(select count(*) from ${messageMentions} mm
        where mm.actor_id = ${actorId} and mm.room_id = ${rooms.id} and mm.seq > ${roomMembers.lastReadSeq})`.mapWith(
        Number,
      ),
    })
    .from(roomMembers)
    .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
    .where(
      and(
        eq(roomMembers.actorId, actorId),
        isNull(rooms.deletedAt),
        only === undefined ? undefined : eq(roomMembers.roomId, only),
      ),
    )
    .orderBy(desc(rooms.updatedAt));
  return rows.map((row) => ({
    room: row.room,
    role: row.role,
    lastReadSeq: row.lastReadSeq,
    unread: Math.max(0, row.room.lastSeq - row.lastReadSeq),
    mentions: row.mentions,
    notifications: notificationSettings(row.room, row),
  }));
}

/** Public rooms whose name contains `query` (any case), largest first. */
export async function roomDirectory(
  deps: Pick<Deps, "db">,
  options: { query?: string | undefined; limit: number; offset: number },
): Promise<{ room: Room; members: number }[]> {
  const pattern = options.query ? `%${options.query.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : undefined;
  const members = count(roomMembers.actorId);
  const rows = await deps.db
    .select({ room: rooms, members })
    .from(rooms)
    .leftJoin(roomMembers, eq(roomMembers.roomId, rooms.id))
    .where(
      and(
        eq(rooms.visibility, "public"),
        eq(rooms.direct, false),
        isNull(rooms.deletedAt),
        isNull(rooms.iri),
        pattern ? ilike(rooms.name, pattern) : undefined,
      ),
    )
    .groupBy(rooms.id)
    .orderBy(desc(members), asc(rooms.name))
    .limit(options.limit)
    .offset(options.offset);
  return rows.map((row) => ({ room: row.room, members: Number(row.members) }));
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
  return (await memberViews(deps, members)).map((view) => ({
    ...view,
    presence: online.has(view.actor.id) ? "online" : "offline",
  }));
}

/**
 * Adds an actor to a room (join, invite) in the caller's transaction: refused if banned; a
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
 * owner leaving an otherwise empty room deletes it.
 */
export async function leaveRoom(deps: Deps, actorId: string, roomId: string): Promise<void> {
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

/** The room's moderation log, newest first (moderators and up). */
export async function moderationLogOf(deps: Deps, actorId: string, roomId: string, limit: number) {
  await accessRoomFor(deps, roomId, actorId, "viewModerationLog");
  const rows = await deps.db
    .select()
    .from(moderationLog)
    .where(eq(moderationLog.roomId, roomId))
    .orderBy(desc(moderationLog.createdAt), desc(moderationLog.id))
    .limit(limit);
  const profiles = await actorProfiles(
    deps,
    rows.flatMap((r) => [r.actorId, r.targetActorId].filter((id): id is string => id != null)),
  );
  return rows.map((r) => ({
    id: r.id,
    action: r.action,
    actor: r.actorId ? (profiles.get(r.actorId) ?? null) : null,
    target: r.targetActorId ? (profiles.get(r.targetActorId) ?? null) : null,
    targetMessageId: r.targetMessageId,
    reason: r.reason,
    data: r.data,
    createdAt: r.createdAt.toISOString(),
  }));
}

/** Every room this server knows, hosted or mirrored, with member counts (for operators). */
export async function listAllRooms(deps: Pick<Deps, "db">) {
  const members = count(roomMembers.actorId);
  const rows = await deps.db
    .select({ room: rooms, members })
    .from(rooms)
    .leftJoin(roomMembers, eq(roomMembers.roomId, rooms.id))
    .where(isNull(rooms.deletedAt))
    .groupBy(rooms.id)
    .orderBy(asc(rooms.createdAt));
  return rows.map(({ room, members }) => ({
    id: room.id,
    name: room.name,
    visibility: room.visibility,
    direct: room.direct,
    iri: room.iri,
    members: Number(members),
    lastSeq: room.lastSeq,
  }));
}
