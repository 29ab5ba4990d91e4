/**
 * Deleting an account: by its user (password confirmed), and as learnt from another server's
 * `Delete` of one of its actors.
 *
 * What goes and what stays, as Mastodon does for accounts, except for messages: the profile
 * (name, bio, avatar, fields), the password, sessions and tokens, contacts, requests, blocks,
 * bots, memberships (rooms hear that the member left) and uploads no message carries all go;
 * the `users` row stays as a tombstone (the username is never given again, its keys sign the
 * `Delete` of the `Person`, and the actor answers 410 Gone). Messages stay, shown under a
 * deleted account, as Matrix and Discord keep them: a chat's replies, threads and quotes lose
 * their sense when what they answer disappears, and other servers' copies of a room would
 * keep them anyway. Whoever wants them gone deletes them before deleting the account.
 * @module
 */
import { and, eq, inArray, isNull, ne, or, sql } from "drizzle-orm";
import type { DatabaseLike } from "../db/client.ts";
import {
  actors,
  attachments,
  blocks,
  contactRequests,
  contacts,
  profileFields,
  type Room,
  roomMembers,
  rooms,
  users,
} from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { logger } from "../log.ts";
import { removeUnreferencedFiles } from "../media/attachments.ts";
import { removeAvatar } from "../media/avatars.ts";
import { actorProfiles } from "../rooms/actors.ts";
import { removeMember } from "../rooms/members.ts";
import { profileRecipients } from "../rooms/remote.ts";
import { deleteRoom, remote } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { revokeOwnedTokens } from "./access-tokens.ts";
import { removeExports } from "./exports.ts";
import { verifyPassword } from "./passwords.ts";
import { profileAudience } from "./profile-events.ts";
import { type AuthUser, revokeAllSessions } from "./sessions.ts";

const log = logger("accounts");

/** The rooms an actor is in, with their role. */
async function roomsOf(db: DatabaseLike, actorId: string) {
  return await db
    .select({ room: rooms, role: roomMembers.role })
    .from(roomMembers)
    .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
    .where(eq(roomMembers.actorId, actorId));
}

/**
 * Rooms hosted here that the user owns and others are in: the account cannot go while they
 * would be left without an owner.
 */
async function ownedWithOthers(deps: Pick<Deps, "db">, actorId: string): Promise<Room[]> {
  const owned = (await roomsOf(deps.db, actorId)).filter(
    (r) => r.role === "owner" && r.room.iri == null && !r.room.direct && r.room.deletedAt == null,
  );
  if (owned.length === 0) return [];
  const withOthers = await deps.db
    .selectDistinct({ roomId: roomMembers.roomId })
    .from(roomMembers)
    .where(
      and(
        inArray(
          roomMembers.roomId,
          owned.map((r) => r.room.id),
        ),
        ne(roomMembers.actorId, actorId),
      ),
    );
  const ids = new Set(withOthers.map((r) => r.roomId));
  return owned.filter((r) => ids.has(r.room.id)).map((r) => r.room);
}

/** Removes an actor's contacts, requests and blocks, both ways. */
async function dropRelations(tx: DatabaseLike, actorId: string): Promise<void> {
  await tx.delete(contacts).where(or(eq(contacts.ownerId, actorId), eq(contacts.contactId, actorId)));
  await tx.delete(contactRequests).where(or(eq(contactRequests.fromId, actorId), eq(contactRequests.toId, actorId)));
  await tx.delete(blocks).where(eq(blocks.blockerId, actorId));
}

/**
 * Deletes the caller's own account once the password confirms it. Rooms hosted here that they
 * own alone are deleted; rooms they own with others refuse the deletion (`rooms_owned`, with
 * the rooms in `details`) until ownership is handed over. Remote rooms are left (`Leave`), and
 * every server that shows the user gets `Delete` of the `Person` (from the event log, see
 * federation/profiles.ts). Sessions and tokens end at once, so open streams close within the
 * hub's two-second check.
 * @throws {AppError} `invalid_credentials`, `rooms_owned`.
 */
export async function deleteOwnAccount(deps: Deps, user: AuthUser, password: string): Promise<void> {
  const [row] = await deps.db
    .select({ passwordHash: users.passwordHash })
    .from(users)
    .where(and(eq(users.id, user.id), isNull(users.deletedAt)));
  if (row?.passwordHash == null || !(await verifyPassword(row.passwordHash, password))) {
    throw new AppError("invalid_credentials", "The password is wrong.");
  }
  const owned = await ownedWithOthers(deps, user.id);
  if (owned.length > 0) {
    throw new AppError("rooms_owned", "Hand over or delete the rooms you own with others first.", {
      details: { rooms: owned.map((r) => ({ id: r.id, name: r.name })) },
    });
  }
  const bots = await deps.db
    .select()
    .from(users)
    .where(and(eq(users.botOwnerId, user.id), isNull(users.deletedAt)));
  for (const bot of bots) await tombstoneAccount(deps, bot);
  await tombstoneAccount(deps, user);
}

/** Deletes one local account (a person or a bot): see the module's comment for what stays. */
async function tombstoneAccount(deps: Deps, user: AuthUser): Promise<void> {
  const actorId = user.id;
  // Where the Delete goes, read while the user is still in their rooms and contacts.
  const inboxes = await profileRecipients(deps, actorId);
  const audience = await profileAudience(deps.db, actorId);
  for (const { room, role } of await roomsOf(deps.db, actorId)) {
    if (room.deletedAt != null) continue;
    if (room.iri != null) {
      // The room's server is told; a failure to say so must not keep the account.
      await remote(deps)
        .sendToRoom(actorId, room, { type: "leave" })
        .catch((error) => log.warn("Leaving {room} could not be sent: {error}", { room: room.iri, error }));
    } else if (role === "owner" && !room.direct) {
      // Owned alone (others would have refused the deletion): the room goes.
      await deleteRoom(deps, actorId, room.id);
    }
  }
  await removeAvatar(deps, user).catch(() => user);
  const unsent = await deps.db.transaction(async (tx) => {
    for (const { room } of await roomsOf(tx, actorId)) await removeMember(tx, room.id, actorId, "left");
    await dropRelations(tx, actorId);
    await tx.delete(profileFields).where(eq(profileFields.actorId, actorId));
    await tx
      .update(users)
      .set({
        deletedAt: sql`now()`,
        suspendedAt: sql`coalesce(${users.suspendedAt}, now())`,
        displayName: user.username,
        bio: "",
        color: null,
        passwordHash: null,
        updatedAt: sql`now()`,
      })
      .where(eq(users.id, actorId));
    await tx.update(actors).set({ deletedAt: sql`now()` }).where(eq(actors.id, actorId));
    // Uploads no message carries go with the account; those in messages stay with them.
    const loose = await tx
      .delete(attachments)
      .where(and(eq(attachments.ownerId, actorId), isNull(attachments.messageId), isNull(attachments.outboundId)))
      .returning({ hash: attachments.hash });
    // Those who saw them see the account as deleted, live.
    const profile = await announceProfileTo(deps, tx, actorId, audience);
    await appendEvents(tx, [{ type: "account.deleted", actorId, data: { inboxes, profile } }]);
    return loose.map((l) => l.hash);
  });
  await revokeAllSessions(deps, actorId, "account_deleted");
  await revokeOwnedTokens(deps, actorId);
  await removeUnreferencedFiles(deps, unsent);
  await removeExports(deps, actorId);
  deps.auth.forget({ userId: actorId });
}

/** Appends `profile.updated` for an audience read before the memberships went. */
async function announceProfileTo(
  deps: Deps,
  tx: DatabaseLike,
  actorId: string,
  audience: { rooms: string[]; actors: string[] },
): Promise<unknown> {
  const profile = (await actorProfiles({ ...deps, db: tx }, [actorId])).get(actorId);
  if (profile == null) return null;
  await appendEvents(tx, [{ type: "profile.updated", actorId, data: { actor: profile }, audience }]);
  return profile;
}

/**
 * A remote actor deleted by its own server (`Delete` of the actor, its origin checked by the
 * caller): they leave every room here (rooms hosted here tell their other servers with
 * `Remove`), their contacts, requests and blocks go, and they are shown as a deleted account
 * with their name and avatar cleared; their messages stay, as a local deletion keeps them.
 * @returns Whether anything changed (false for an actor already deleted or not stored).
 */
export async function receiveActorDeletion(deps: Deps, actorId: string): Promise<boolean> {
  const [actor] = await deps.db.select().from(actors).where(eq(actors.id, actorId));
  if (actor == null || actor.iri == null || actor.deletedAt != null) return false;
  const audience = await profileAudience(deps.db, actorId);
  await deps.db.transaction(async (tx) => {
    for (const { room } of await roomsOf(tx, actorId)) await removeMember(tx, room.id, actorId, "left");
    await dropRelations(tx, actorId);
    await tx.delete(profileFields).where(eq(profileFields.actorId, actorId));
    await tx
      .update(actors)
      .set({ deletedAt: sql`now()`, name: null, avatarUrl: null, avatarFile: null, avatarFileSource: null })
      .where(eq(actors.id, actorId));
    await announceProfileTo(deps, tx, actorId, audience);
  });
  return true;
}
