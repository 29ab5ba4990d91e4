import { and, desc, eq, inArray, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { type DatabaseLike, queryRows } from "../db/client.ts";
import { blocks, messages, type Notification, notifications } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { type ActorProfile, actorProfiles } from "../rooms/actors.ts";
import { appendEvents } from "../stream/events.ts";

/** A notification as the API and the live `notification` event show it. */
export interface NotificationView {
  readonly id: string;
  readonly type: Notification["type"];
  /** Who caused it (the author, the inviter, the requester). */
  readonly actor: ActorProfile | null;
  readonly roomId: string | null;
  readonly messageId: string | null;
  readonly data: Record<string, unknown>;
  readonly read: boolean;
  readonly createdAt: string;
}

function toView(row: Notification, profiles: Map<string, ActorProfile>): NotificationView {
  return {
    id: row.id,
    type: row.type,
    actor: row.fromId ? (profiles.get(row.fromId) ?? null) : null,
    roomId: row.roomId,
    messageId: row.messageId,
    data: row.data as Record<string, unknown>,
    read: row.readAt != null,
    createdAt: row.createdAt.toISOString(),
  };
}

async function views(deps: Deps, rows: readonly Notification[]): Promise<NotificationView[]> {
  const profiles = await actorProfiles(
    deps,
    rows.flatMap((r) => (r.fromId ? [r.fromId] : [])),
  );
  return rows.map((r) => toView(r, profiles));
}

/** Writes notifications and their live events in the caller's transaction. */
async function insertAndAnnounce(
  deps: Deps,
  tx: DatabaseLike,
  values: (typeof notifications.$inferInsert)[],
): Promise<void> {
  if (values.length === 0) return;
  const rows = await tx.insert(notifications).values(values).onConflictDoNothing().returning();
  const list = await views({ ...deps, db: tx }, rows);
  await appendEvents(
    tx,
    list.map((notification, i) => ({
      type: "notification" as const,
      actorId: rows[i]?.actorId ?? null,
      data: { notification },
    })),
  );
}

/**
 * Notifies the members a new message concerns, in the sender's transaction: with the room at
 * level `all` every message, at `mentions` (the default outside direct conversations) the
 * messages that mention them or reply to them. Muted rooms, rooms at `none`, the author, remote
 * members and members who block the author get nothing. A reply that also mentions makes one
 * notification (one row per recipient and message). A thread reply (`threadRootId`) concerns
 * the thread's participants too: its root's author and those who replied in it.
 * @param context `edited` for an edit: only members it newly mentions are notified (those
 *   notified before are skipped by the unique index).
 */
export async function notifyMessage(
  deps: Deps,
  tx: DatabaseLike,
  message: { id: string; roomId: string; authorId: string; seq: number },
  context: {
    direct: boolean;
    mentioned: readonly string[];
    replyAuthorId: string | null;
    snippet: string;
    edited?: boolean;
    threadRootId?: string | null;
  },
): Promise<void> {
  const concerned = [...context.mentioned, ...(context.replyAuthorId ? [context.replyAuthorId] : [])];
  const defaultLevel = context.direct ? "all" : "mentions";
  const concernedList = concerned.length
    ? sql.join(
        concerned.map((id) => sql`${id}::uuid`),
        sql`, `,
      )
    : sql`null::uuid`;
  const participant = context.threadRootId
    ? sql`exists (select 1 from messages t where (t.id = ${context.threadRootId} or t.thread_root_id = ${context.threadRootId})
        and t.author_id = rm.actor_id and t.id <> ${message.id})`
    : sql`false`;
  const list = await queryRows<{ actorId: string; participant: boolean }>(
    tx,
    sql`
    select rm.actor_id as "actorId", ${participant} as participant from room_members rm
    join actors a on a.id = rm.actor_id and a.user_id is not null
    where rm.room_id = ${message.roomId} and rm.actor_id <> ${message.authorId} and not rm.muted
      and coalesce(rm.notification_level, ${defaultLevel}) <> 'none'
      and (${context.edited ? sql`false` : sql`coalesce(rm.notification_level, ${defaultLevel}) = 'all'`}
           or rm.actor_id in (${concernedList}) or ${participant})
      and not exists (select 1 from blocks b where b.blocker_id = rm.actor_id and b.blocked_id = ${message.authorId})
  `,
  );
  await insertAndAnnounce(
    deps,
    tx,
    list.map(({ actorId, participant: inThread }) => ({
      id: uuidv7(),
      actorId,
      type:
        actorId === context.replyAuthorId
          ? "reply"
          : context.mentioned.includes(actorId)
            ? "mention"
            : inThread
              ? "thread"
              : "message",
      fromId: message.authorId,
      roomId: message.roomId,
      messageId: message.id,
      data: { seq: message.seq, snippet: context.snippet },
    })),
  );
}

/**
 * Marks read, in the caller's transaction, an actor's unread notifications in a room about the
 * messages `which` selects (what they have just read).
 */
export async function markMessageNotificationsRead(
  tx: DatabaseLike,
  actorId: string,
  roomId: string,
  which: SQL | undefined,
): Promise<void> {
  await tx
    .update(notifications)
    .set({ readAt: sql`now()` })
    .where(
      and(
        eq(notifications.actorId, actorId),
        eq(notifications.roomId, roomId),
        isNull(notifications.readAt),
        inArray(notifications.messageId, tx.select({ id: messages.id }).from(messages).where(which)),
      ),
    );
}

/**
 * Marks read, in the caller's transaction, the recipient's notification of a contact request
 * once it is answered: nothing is left to do about it.
 */
export async function markContactRequestRead(tx: DatabaseLike, actorId: string, requestId: string): Promise<void> {
  await tx
    .update(notifications)
    .set({ readAt: sql`now()` })
    .where(
      and(
        eq(notifications.actorId, actorId),
        eq(notifications.type, "contact_request"),
        isNull(notifications.readAt),
        sql`${notifications.data}->>'requestId' = ${requestId}`,
      ),
    );
}

/**
 * Notifies one actor of an invite or a contact request, in the caller's transaction; never
 * when either blocks the other (requests from here are refused before this, those from other
 * servers arrive here).
 */
export async function notifyActor(
  deps: Deps,
  tx: DatabaseLike,
  entry: {
    actorId: string;
    type: "invite" | "contact_request";
    fromId: string;
    roomId?: string | null;
    data: Record<string, unknown>;
  },
): Promise<void> {
  const [blocked] = await tx
    .select({ id: blocks.blockerId })
    .from(blocks)
    .where(
      or(
        and(eq(blocks.blockerId, entry.actorId), eq(blocks.blockedId, entry.fromId)),
        and(eq(blocks.blockerId, entry.fromId), eq(blocks.blockedId, entry.actorId)),
      ),
    )
    .limit(1);
  if (blocked) return;
  await insertAndAnnounce(deps, tx, [{ id: uuidv7(), roomId: null, ...entry }]);
}

/**
 * The actor's notifications, newest first, with how many are unread.
 * @param page `before` a notification id (for the next page), `limit`, `unread` only.
 */
export async function listNotifications(
  deps: Deps,
  actorId: string,
  page: { before?: string | undefined; limit: number; unread?: boolean | undefined },
): Promise<{ notifications: NotificationView[]; unread: number }> {
  const rows = await deps.db
    .select()
    .from(notifications)
    .where(
      and(
        eq(notifications.actorId, actorId),
        page.before ? lt(notifications.id, page.before) : undefined,
        page.unread ? isNull(notifications.readAt) : undefined,
      ),
    )
    .orderBy(desc(notifications.id))
    .limit(page.limit);
  const [count] = await deps.db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(notifications)
    .where(and(eq(notifications.actorId, actorId), isNull(notifications.readAt)));
  return { notifications: await views(deps, rows), unread: count?.n ?? 0 };
}

/**
 * Marks notifications read: the given ones, or all of the actor's.
 * @throws {AppError} `notification_not_found` when a given id is not the actor's.
 */
export async function markNotificationsRead(deps: Deps, actorId: string, ids: readonly string[] | "all") {
  const mine = eq(notifications.actorId, actorId);
  if (ids !== "all" && ids.length > 0) {
    const found = await deps.db
      .select({ id: notifications.id })
      .from(notifications)
      .where(and(mine, inArray(notifications.id, [...ids])));
    if (found.length !== new Set(ids).size) throw new AppError("notification_not_found", "No such notification.");
  }
  await deps.db
    .update(notifications)
    .set({ readAt: sql`now()` })
    .where(and(mine, isNull(notifications.readAt), ids === "all" ? undefined : inArray(notifications.id, [...ids])));
}

/**
 * Tells a reporter, in the caller's transaction, how their report ended: `resolved` or
 * `dismissed`, with the actions taken. The moderator stays unnamed, as in Mastodon.
 */
export async function notifyReportOutcome(
  deps: Deps,
  tx: DatabaseLike,
  entry: { actorId: string; roomId: string | null; data: Record<string, unknown> },
): Promise<void> {
  await insertAndAnnounce(deps, tx, [
    { id: uuidv7(), actorId: entry.actorId, type: "report", fromId: null, roomId: entry.roomId, data: entry.data },
  ]);
}
