import { and, asc, count, desc, eq, ilike, isNull, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import type { DatabaseLike } from "../db/client.ts";
import { messageMentions, moderationLog, type Room, type RoomMember, roomMembers, rooms } from "../db/schema.ts";
import type { Deps, Federator } from "../deps.ts";
import { AppError } from "../errors.ts";
import { removeUnreferencedFiles } from "../media/attachments.ts";
import { avatarUrl, removeAvatarFile, storeAvatarFile } from "../media/avatars.ts";
import { detachFromRoom } from "../media/carried.ts";
import { appendEvents } from "../stream/events.ts";
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
  readonly linkPreviews?: boolean | undefined;
  readonly allowBots?: boolean | undefined;
  /** Days messages are kept (null: forever). */
  readonly retentionDays?: number | null | undefined;
}

const changePermission: Record<keyof RoomChanges, Action> = {
  name: "rename",
  topic: "setTopic",
  theme: "setTheme",
  visibility: "setVisibility",
  linkPreviews: "setLinkPreviews",
  allowBots: "setBots",
  retentionDays: "setRetention",
};

/**
 * Changes a room's name, topic, theme, visibility, link previews, whether bots may join and
 * post, or how long messages are kept, each by its own permission.
 */
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
      // A direct room named by someone keeps that name, whatever it looks like.
      .set({ ...set, ...(room.direct && set.name !== undefined ? { nameChosen: true } : {}), updatedAt: sql`now()` })
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
