import { createHash, randomBytes } from "node:crypto";
import { and, desc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { assertNotBlocked } from "../contacts/blocks.ts";
import { type Invite, invites, type Room, roomBans, roomMembers, rooms } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { notifyActor } from "../notifications/notifications.ts";
import { actorByHandle } from "./actors.ts";
import { addMember } from "./members.ts";
import { accessRoomFor, logModeration, membership, remote } from "./rooms.ts";
import { joinWithdrawnIn } from "./withdrawn-joins.ts";

/** The longest an invite may last: 30 days. */
export const maxInviteSeconds = 30 * 24 * 60 * 60;

function hashCode(code: string): string {
  return createHash("sha256").update(code).digest("base64url");
}

/** An invite as its creators see it (the code itself is shown once, at creation). */
export function serializeInvite(deps: Deps, invite: Invite, code?: string) {
  return {
    id: invite.id,
    roomId: invite.roomId,
    ...(code ? { code, url: `${deps.config.origin}/invite/${code}` } : {}),
    createdAt: invite.createdAt.toISOString(),
    expiresAt: invite.expiresAt?.toISOString() ?? null,
    maxUses: invite.maxUses,
    uses: invite.uses,
    revoked: invite.revokedAt != null,
    invitee: invite.inviteeId,
  };
}

/**
 * Creates an invite code: 128 random bits, stored only as a hash.
 * @param options `expiresIn` seconds (at most 30 days; null for none), `maxUses` (1 = one-time;
 *                null for unlimited), `user`: a handle to invite that one user, here or on another
 *                server, who is notified and is the only one who can redeem it (once).
 * @throws {AppError} `forbidden` when the invited user blocks the caller or the other way round,
 *   `user_not_found`, `already_member`, `banned`.
 */
export async function createInvite(
  deps: Deps,
  actorId: string,
  roomId: string,
  options: { expiresIn: number | null; maxUses: number | null; user?: string | undefined },
): Promise<{ invite: Invite; code: string }> {
  const { room } = await accessRoomFor(deps, roomId, actorId, "invite");
  const invitee = options.user === undefined ? undefined : await actorByHandle(deps, options.user);
  if (invitee) {
    if (invitee.id === actorId) throw new AppError("validation_failed", "You cannot invite yourself.");
    await assertNotBlocked(deps, actorId, [invitee.id], "invite");
    const [banned] = await deps.db
      .select()
      .from(roomBans)
      .where(and(eq(roomBans.roomId, roomId), eq(roomBans.actorId, invitee.id)));
    if (banned) throw new AppError("banned", "This user is banned from the room.");
    const [present] = await deps.db
      .select({ id: roomMembers.actorId })
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, invitee.id)));
    if (present) throw new AppError("already_member", "This user is in the room already.");
  }
  const code = randomBytes(16).toString("base64url");
  const created = await deps.db.transaction(async (tx) => {
    const [invite] = await tx
      .insert(invites)
      .values({
        id: uuidv7(),
        roomId,
        codeHash: hashCode(code),
        createdBy: actorId,
        expiresAt: options.expiresIn == null ? null : new Date(Date.now() + options.expiresIn * 1000),
        maxUses: invitee ? 1 : options.maxUses,
        inviteeId: invitee?.id ?? null,
      })
      .returning();
    if (invite == null) throw new Error("The invite row was not written.");
    if (invitee?.local) {
      // The code travels in the invitee's own notification: it redeems for them alone.
      await notifyActor(deps, tx, {
        actorId: invitee.id,
        type: "invite",
        fromId: actorId,
        roomId,
        data: { code, roomName: room.name, inviteId: invite.id },
      });
    }
    await logModeration(tx, { roomId, actorId, action: "invite.created", data: { inviteId: invite.id } });
    return { invite, code };
  });
  // A user on another server hears of it through an `Invite` that carries the link.
  if (invitee && !invitee.local) {
    await remote(deps).inviteToRoom(room, actorId, invitee.id, serializeInvite(deps, created.invite, code).url ?? "");
  }
  return created;
}

/** The room's invites that can still be used, newest first. */
export async function listInvites(deps: Deps, actorId: string, roomId: string): Promise<Invite[]> {
  await accessRoomFor(deps, roomId, actorId, "invite");
  return await deps.db
    .select()
    .from(invites)
    .where(and(eq(invites.roomId, roomId), usable()))
    .orderBy(desc(invites.createdAt));
}

/** Revokes an invite. */
export async function revokeInvite(deps: Deps, actorId: string, roomId: string, inviteId: string): Promise<void> {
  await accessRoomFor(deps, roomId, actorId, "invite");
  await deps.db.transaction(async (tx) => {
    const revoked = await tx
      .update(invites)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(invites.id, inviteId), eq(invites.roomId, roomId), isNull(invites.revokedAt)))
      .returning({ id: invites.id });
    if (revoked.length === 0) throw new AppError("invite_not_found", "No such invite.");
    await logModeration(tx, { roomId, actorId, action: "invite.revoked", data: { inviteId } });
  });
}

/** Not revoked, not expired, not used up. */
function usable() {
  return and(
    isNull(invites.revokedAt),
    or(isNull(invites.expiresAt), gt(invites.expiresAt, sql`now()`)),
    or(isNull(invites.maxUses), lt(invites.uses, invites.maxUses)),
  );
}

async function inviteByCode(deps: Pick<Deps, "db">, code: string): Promise<{ invite: Invite; room: Room }> {
  const [row] = await deps.db
    .select({ invite: invites, room: rooms })
    .from(invites)
    .innerJoin(rooms, eq(rooms.id, invites.roomId))
    .where(and(eq(invites.codeHash, hashCode(code)), isNull(rooms.deletedAt)));
  if (row == null) throw new AppError("invite_not_found", "No such invite.");
  return row;
}

/**
 * The room an invite code leads to, for another server resolving an invite link to the room's
 * `Group` (which shows a private room's name only to servers with a member or an invitee in it;
 * joining with the code checks it again). Nothing else of the room or the invite is told.
 * @throws {AppError} `invite_not_found`.
 */
export async function inviteRoomId(deps: Pick<Deps, "db">, code: string): Promise<string> {
  return (await inviteByCode(deps, code)).room.id;
}

/**
 * What an invite leads to, for the page that asks before accepting. A private room shows
 * nothing of itself through a code that no longer works (revoked, expired, used up) or that
 * was made for someone else (to anyone but its members): the code is no key to it any more.
 * @param actorId Who asks, when known (a remote server resolving the link is not anyone).
 * @throws {AppError} `invite_not_found`; `invite_expired` for a private room's dead code.
 */
export async function previewInvite(deps: Deps, code: string, actorId?: string) {
  const { invite, room } = await inviteByCode(deps, code);
  const [live] = await deps.db
    .select({ id: invites.id })
    .from(invites)
    .where(and(eq(invites.id, invite.id), usable()));
  const member = actorId != null && (await membership(deps.db, room.id, actorId)) != null;
  if (room.visibility !== "public" && !member) {
    if (invite.inviteeId != null && invite.inviteeId !== actorId)
      throw new AppError("invite_not_found", "No such invite.");
    if (live == null) throw new AppError("invite_expired", "This invite has expired, been used up or been revoked.");
  }
  const [members] = await deps.db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(roomMembers)
    .where(eq(roomMembers.roomId, room.id));
  return { room, members: members?.n ?? 0, usable: live != null };
}

/**
 * Redeems an invite: counts one use and adds the caller, in one transaction. The use is
 * counted by a conditional UPDATE, so two concurrent redemptions of a one-time code give
 * exactly one member. A current member consumes nothing; a banned actor is refused. An invite
 * for one user is `invite_not_found` to everyone else.
 * @param joinIri The remote `Join` that carried the link: refused when it was withdrawn.
 * @throws {AppError} `invite_not_found`, `invite_expired`, `banned`, `conflict`.
 */
export async function redeemInvite(
  deps: Deps,
  actorId: string,
  code: string,
  joinIri?: string | undefined,
): Promise<Room> {
  const { invite, room } = await inviteByCode(deps, code);
  if (invite.inviteeId != null && invite.inviteeId !== actorId) {
    throw new AppError("invite_not_found", "No such invite.");
  }
  await deps.db.transaction(async (tx) => {
    if (joinIri != null && (await joinWithdrawnIn(tx, joinIri))) {
      throw new AppError("conflict", "The join was withdrawn before it arrived.");
    }
    // Join first: a member already in (a repeated click) uses nothing up. Counting the use can
    // then fail, which rolls the join back.
    const { added } = await addMember(deps, tx, room.id, actorId);
    if (!added) return;
    const counted = await tx
      .update(invites)
      .set({ uses: sql`${invites.uses} + 1` })
      .where(and(eq(invites.id, invite.id), usable()))
      .returning({ id: invites.id });
    if (counted.length === 0) {
      throw new AppError("invite_expired", "This invite has expired, been used up or been revoked.");
    }
    await logModeration(tx, { roomId: room.id, actorId, action: "invite.redeemed", data: { inviteId: invite.id } });
  });
  return room;
}
