/**
 * Incoming webhooks (schema-webhooks.ts): a room's moderators make a secret URL that posts
 * into the room. Each webhook acts as an account of its own, a bot that owns itself
 * (`bot_owner_id = id`): no password, no owner whose deletion takes it away, no tokens (only an
 * owner can make a bot's tokens). So its messages go through the same send as anyone's (the
 * group commit, the stream, search, notifications, federation as a `Service`), and are marked
 * as a bot's, and a webhook's, wherever an author is shown.
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, asc, count, eq, isNull, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { updateProfile } from "../accounts/accounts.ts";
import { generateActorKeys } from "../accounts/keys.ts";
import { type AuthUser, authUserColumns } from "../accounts/sessions.ts";
import { actors, type IncomingWebhook, incomingWebhooks, rooms, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { removeAvatar, setAvatar } from "../media/avatars.ts";
import { sendMessage } from "../messages/send.ts";
import type { MessageView } from "../messages/views.ts";
import { addMember, removeMember } from "../rooms/members.ts";
import { accessRoomFor, logModeration } from "../rooms/rooms.ts";

/** How many live webhooks one room may have (Discord allows 15 a channel). */
export const maxWebhooksPerRoom = 15;

/** A webhook with its account, as the room's moderators see it (never the secret). */
export interface WebhookView {
  readonly webhook: IncomingWebhook;
  readonly user: AuthUser;
}

function hashSecret(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** The URL a webhook's secret makes: shown once, when it is made. */
export function webhookUrl(deps: Pick<Deps, "config">, id: string, secret: string): string {
  return `${deps.config.origin}/api/v1/webhooks/${id}/${secret}`;
}

/**
 * Makes an incoming webhook for a room: its account (joined to the room as a member, so a room
 * that forbids bots refuses it) and its secret, returned here only.
 * @throws {AppError} `forbidden` (not a moderator), `room_not_found`, `not_a_member`,
 *   `managed_remotely`, `validation_failed` (a direct conversation), `bots_forbidden`,
 *   `webhook_limit_reached`.
 */
export async function createWebhook(
  deps: Deps,
  actorId: string,
  roomId: string,
  input: { name: string },
): Promise<WebhookView & { secret: string }> {
  const { room } = await accessRoomFor(deps, roomId, actorId, "manageWebhooks");
  if (room.direct) throw new AppError("validation_failed", "A direct conversation has no webhooks.");
  const keys = await generateActorKeys();
  const secret = randomBytes(32).toString("base64url");
  const id = uuidv7();
  const userId = uuidv7();
  const created = await deps.db.transaction(async (tx) => {
    // Counted under the room's row lock, so two requests at once cannot both pass the limit.
    await tx.select({ id: rooms.id }).from(rooms).where(eq(rooms.id, roomId)).for("update");
    const [live] = await tx
      .select({ n: count() })
      .from(incomingWebhooks)
      .where(and(eq(incomingWebhooks.roomId, roomId), isNull(incomingWebhooks.revokedAt)));
    if (Number(live?.n ?? 0) >= maxWebhooksPerRoom) {
      throw new AppError("webhook_limit_reached", `At most ${maxWebhooksPerRoom} webhooks a room; revoke one first.`);
    }
    // 64 random bits: a name nobody registers by chance; a clash only fails this request.
    const username = `webhook_${randomBytes(8).toString("hex")}`;
    const [user] = await tx
      .insert(users)
      .values({
        id: userId,
        username,
        displayName: input.name,
        bio: "",
        passwordHash: null,
        botOwnerId: userId,
        ...keys,
      })
      .onConflictDoNothing({ target: users.username })
      .returning(authUserColumns);
    if (user == null) throw new AppError("conflict", "Try again: the webhook's generated name was taken.");
    await tx.insert(actors).values({ id: user.id, userId: user.id, bot: true });
    await addMember(deps, tx, roomId, user.id);
    const [webhook] = await tx
      .insert(incomingWebhooks)
      .values({ id, roomId, userId: user.id, createdBy: actorId, secretHash: hashSecret(secret).toString("base64url") })
      .returning();
    if (webhook == null) throw new Error("The webhook row was not written.");
    await logModeration(tx, { roomId, actorId, action: "webhook.created", targetActorId: user.id });
    return { webhook, user };
  });
  return { ...created, secret };
}

/**
 * The room's live webhooks, oldest first.
 * @throws {AppError} as {@link createWebhook} for access.
 */
export async function listWebhooks(deps: Deps, actorId: string, roomId: string): Promise<WebhookView[]> {
  await accessRoomFor(deps, roomId, actorId, "manageWebhooks");
  return await deps.db
    .select({ webhook: incomingWebhooks, user: authUserColumns })
    .from(incomingWebhooks)
    .innerJoin(users, eq(users.id, incomingWebhooks.userId))
    .where(and(eq(incomingWebhooks.roomId, roomId), isNull(incomingWebhooks.revokedAt)))
    .orderBy(asc(incomingWebhooks.createdAt), asc(incomingWebhooks.id));
}

/** One live webhook of the room, after checking the caller may manage them. */
async function webhookOf(deps: Deps, actorId: string, roomId: string, webhookId: string): Promise<WebhookView> {
  await accessRoomFor(deps, roomId, actorId, "manageWebhooks");
  const [found] = await deps.db
    .select({ webhook: incomingWebhooks, user: authUserColumns })
    .from(incomingWebhooks)
    .innerJoin(users, eq(users.id, incomingWebhooks.userId))
    .where(
      and(eq(incomingWebhooks.id, webhookId), eq(incomingWebhooks.roomId, roomId), isNull(incomingWebhooks.revokedAt)),
    );
  if (found == null) throw new AppError("webhook_not_found", "No such webhook in this room.");
  return found;
}

/**
 * Renames a webhook: its account's display name, so the change reaches everyone who shows it
 * (`profile.updated`, and an `Update` of its actor).
 * @throws {AppError} `webhook_not_found`, and as {@link createWebhook} for access.
 */
export async function renameWebhook(
  deps: Deps,
  actorId: string,
  roomId: string,
  webhookId: string,
  name: string,
): Promise<WebhookView> {
  const found = await webhookOf(deps, actorId, roomId, webhookId);
  const user = await updateProfile(deps, found.user, { displayName: name });
  return { webhook: found.webhook, user };
}

/**
 * Sets (or, with null, removes) a webhook's avatar, as a user's is set.
 * @throws {AppError} `webhook_not_found`, the avatar's errors, and as {@link createWebhook}.
 */
export async function setWebhookAvatar(
  deps: Deps,
  actorId: string,
  roomId: string,
  webhookId: string,
  bytes: Uint8Array | null,
): Promise<WebhookView> {
  const found = await webhookOf(deps, actorId, roomId, webhookId);
  const user = bytes ? await setAvatar(deps, found.user, bytes) : await removeAvatar(deps, found.user);
  return { webhook: found.webhook, user };
}

/**
 * Revokes a webhook: its URL is refused from now on (404, as an unknown one), and its account
 * leaves the room. Its messages stay, with their author.
 * @throws {AppError} `webhook_not_found`, and as {@link createWebhook} for access.
 */
export async function revokeWebhook(deps: Deps, actorId: string, roomId: string, webhookId: string): Promise<void> {
  await accessRoomFor(deps, roomId, actorId, "manageWebhooks");
  await deps.db.transaction(async (tx) => {
    const [revoked] = await tx
      .update(incomingWebhooks)
      .set({ revokedAt: sql`now()` })
      .where(
        and(
          eq(incomingWebhooks.id, webhookId),
          eq(incomingWebhooks.roomId, roomId),
          isNull(incomingWebhooks.revokedAt),
        ),
      )
      .returning({ userId: incomingWebhooks.userId });
    if (revoked == null) throw new AppError("webhook_not_found", "No such webhook in this room.");
    await removeMember(tx, roomId, revoked.userId, "left");
    await logModeration(tx, { roomId, actorId, action: "webhook.revoked", targetActorId: revoked.userId });
  });
}

/**
 * Finds the live webhook a URL names. The secret is compared by its hash in constant time; a
 * wrong secret, a revoked webhook and an unknown id are the same answer.
 * @throws {AppError} `webhook_not_found`.
 */
export async function webhookBySecret(deps: Pick<Deps, "db">, webhookId: string, secret: string) {
  const [row] = await deps.db
    .select({
      id: incomingWebhooks.id,
      roomId: incomingWebhooks.roomId,
      userId: incomingWebhooks.userId,
      hash: incomingWebhooks.secretHash,
    })
    .from(incomingWebhooks)
    .where(and(eq(incomingWebhooks.id, webhookId), isNull(incomingWebhooks.revokedAt)));
  const expected = row ? Buffer.from(row.hash, "base64url") : hashSecret("");
  const actual = hashSecret(secret);
  if (row == null || expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new AppError("webhook_not_found", "No such webhook.");
  }
  return { id: row.id, roomId: row.roomId, userId: row.userId };
}

/**
 * Posts a message as a webhook: the normal send, as its account. `idempotencyKey` (the
 * caller's `Idempotency-Key`) is the send's transaction id, so a retried POST is the same
 * message; without one each POST gets a fresh id. The room's rules apply as to anyone: a room
 * that forbids bots refuses it (`bots_forbidden`), a webhook kicked from the room is
 * `not_a_member`.
 * @throws {AppError} the send's errors.
 */
export async function postAsWebhook(
  deps: Deps,
  webhook: { roomId: string; userId: string },
  content: string,
  idempotencyKey?: string | undefined,
): Promise<MessageView> {
  const txnId = idempotencyKey ?? uuidv7();
  const { message } = await sendMessage(deps, webhook.userId, webhook.roomId, { txnId, content });
  return message;
}
