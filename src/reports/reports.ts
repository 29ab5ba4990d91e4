/**
 * Reports: a user tells the moderators of a room and the admins of the instance about a
 * message, a user or a room. Who sees a report, making one, and how it is shown. What is done
 * from a report is in actions.ts; `Flag`s from other servers in remote.ts.
 * @module
 */
import { and, desc, eq, inArray, isNull, lt, type SQL, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import type { DatabaseLike } from "../db/client.ts";
import {
  actors,
  type Message,
  messages,
  type Report,
  type ReportAction,
  type ReportMessage,
  reportActions,
  type reportCategories,
  type reportKinds,
  reportMessages,
  reports,
  roomMembers,
  rooms,
  users,
} from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { messageUrl } from "../messages/views.ts";
import { type ActorProfile, actorProfiles } from "../rooms/actors.ts";
import { accessRoom } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";

/** The most messages one report may attach. */
export const maxReportMessages = 20;
/** The longest comment, in characters. */
export const maxReportComment = 1000;

/** Who looks at the queue: an actor here and their role on the instance. */
export interface Viewer {
  readonly id: string;
  readonly role: "user" | "admin";
}

/** What a user reports (validated by the route). */
export interface NewReport {
  readonly kind: (typeof reportKinds)[number];
  readonly category: (typeof reportCategories)[number];
  readonly comment: string;
  /** The room the messages are in, the room reported, or where the reported user was seen. */
  readonly roomId?: string | undefined;
  readonly messageIds: readonly string[];
  /** The reported user's actor id (`kind: "user"`). */
  readonly userId?: string | undefined;
  /** Send the report on to the reported person's server as a `Flag` (a remote person only). */
  readonly forward: boolean;
}

/** A report as the queue, the API and the live events show it. */
export interface ReportView {
  readonly id: string;
  readonly kind: Report["kind"];
  readonly category: Report["category"];
  readonly comment: string;
  readonly status: Report["status"];
  /** The user who reported; null for a report from another server (see `origin`). */
  readonly reporter: ActorProfile | null;
  /** The server whose `Flag` this is. */
  readonly origin: string | null;
  readonly target: ActorProfile | null;
  /** Whether the target lives on another server (what `forward` and `block_server` need). */
  readonly targetRemote: boolean;
  readonly room: { readonly id: string; readonly name: string } | null;
  readonly messages: readonly {
    readonly id: string;
    readonly url: string;
    readonly author: ActorProfile | null;
    readonly content: string;
    readonly html: string;
    readonly createdAt: string;
  }[];
  readonly actions: readonly {
    readonly action: string;
    readonly note: string;
    readonly actor: ActorProfile | null;
    readonly createdAt: string;
  }[];
  readonly forwardedAt: string | null;
  readonly resolvedAt: string | null;
  readonly createdAt: string;
}

const moderatorRoles = ["owner", "admin", "moderator"] as const;

/**
 * The condition under which `viewer` sees a report: an admin sees every one; a moderator of a
 * room hosted here sees the reports of messages and people in it, except those about themselves.
 * Reports of a room itself, and of direct conversations (whose members are their moderators),
 * go to the admins alone.
 */
function visibleTo(viewer: Viewer): SQL | undefined {
  if (viewer.role === "admin") return undefined;
  return sql`(${reports.kind} <> 'room' and ${reports.targetActorId} is distinct from ${viewer.id}
    and exists (select 1 from ${roomMembers} rm join ${rooms} ro on ro.id = rm.room_id and ro.iri is null and not ro.direct
      where rm.room_id = ${reports.roomId} and rm.actor_id = ${viewer.id}
        and rm.role in ('owner', 'admin', 'moderator')))`;
}

/** The actors a report goes to: the admins, and the moderators of its room (not its target). */
export async function reportAudience(db: DatabaseLike, report: Report): Promise<string[]> {
  const admins = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, "admin"), isNull(users.suspendedAt)));
  const moderators =
    report.roomId != null && report.kind !== "room"
      ? await db
          .select({ id: roomMembers.actorId })
          .from(roomMembers)
          .innerJoin(rooms, and(eq(rooms.id, roomMembers.roomId), isNull(rooms.iri), eq(rooms.direct, false)))
          .innerJoin(actors, and(eq(actors.id, roomMembers.actorId), sql`${actors.userId} is not null`))
          .where(and(eq(roomMembers.roomId, report.roomId), inArray(roomMembers.role, [...moderatorRoles])))
      : [];
  const everyone = new Set([...admins, ...moderators].map((r) => r.id));
  if (report.targetActorId) {
    // An admin reported still sees it (someone must); a room moderator reported does not.
    const isAdmin = admins.some((a) => a.id === report.targetActorId);
    if (!isAdmin) everyone.delete(report.targetActorId);
  }
  return [...everyone];
}

/** Serialises reports, in a few queries for them all. */
export async function reportViews(deps: Pick<Deps, "db" | "config">, list: readonly Report[]): Promise<ReportView[]> {
  if (list.length === 0) return [];
  const ids = list.map((r) => r.id);
  const [attached, done, roomRows] = await Promise.all([
    deps.db.select().from(reportMessages).where(inArray(reportMessages.reportId, ids)),
    deps.db.select().from(reportActions).where(inArray(reportActions.reportId, ids)).orderBy(reportActions.id),
    deps.db
      .select({ id: rooms.id, name: rooms.name })
      .from(rooms)
      .where(
        inArray(
          rooms.id,
          list.flatMap((r) => (r.roomId ? [r.roomId] : [])),
        ),
      ),
  ]);
  const people = list.flatMap((r) => [r.reporterId, r.targetActorId]);
  const profiles = await actorProfiles(deps, [
    ...people.filter((id): id is string => id != null),
    ...attached.flatMap((m) => (m.authorId ? [m.authorId] : [])),
    ...done.flatMap((a) => (a.actorId ? [a.actorId] : [])),
  ]);
  const remote = await remoteAmong(
    deps,
    list.flatMap((r) => (r.targetActorId ? [r.targetActorId] : [])),
  );
  const profile = (id: string | null) => (id ? (profiles.get(id) ?? null) : null);
  const roomNames = new Map(roomRows.map((r) => [r.id, r.name]));
  return list.map((r) => ({
    id: r.id,
    kind: r.kind,
    category: r.category,
    comment: r.comment,
    status: r.status,
    reporter: profile(r.reporterId),
    origin: r.origin,
    target: profile(r.targetActorId),
    targetRemote: r.targetActorId != null && remote.has(r.targetActorId),
    room: r.roomId ? { id: r.roomId, name: roomNames.get(r.roomId) ?? "" } : null,
    messages: attached
      .filter((m: ReportMessage) => m.reportId === r.id)
      .sort((a, b) => a.sentAt.getTime() - b.sentAt.getTime())
      .map((m) => ({
        id: m.messageId,
        url: m.url,
        author: profile(m.authorId),
        content: m.content,
        html: m.html,
        createdAt: m.sentAt.toISOString(),
      })),
    actions: done
      .filter((a: ReportAction) => a.reportId === r.id)
      .map((a) => ({
        action: a.action,
        note: a.note,
        actor: profile(a.actorId),
        createdAt: a.createdAt.toISOString(),
      })),
    forwardedAt: r.forwardedAt?.toISOString() ?? null,
    resolvedAt: r.resolvedAt?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
  }));
}

/** Those of these actors that live on another server. */
async function remoteAmong(deps: Pick<Deps, "db">, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await deps.db
    .select({ id: actors.id })
    .from(actors)
    .where(and(inArray(actors.id, [...ids]), sql`${actors.iri} is not null`));
  return new Set(rows.map((r) => r.id));
}

/**
 * Appends a report's event (`report.created` or `report.updated`) for everyone it goes to, in
 * the caller's transaction.
 */
export async function announceReport(
  deps: Pick<Deps, "db" | "config">,
  tx: DatabaseLike,
  report: Report,
  type: "report.created" | "report.updated",
): Promise<void> {
  const audience = await reportAudience(tx, report);
  if (audience.length === 0) return;
  const [view] = await reportViews({ ...deps, db: tx }, [report]);
  // Addressed to one of them, with the rest as its audience: an event addressed to nobody
  // would go to every connected client.
  const [first, ...rest] = audience;
  await appendEvents(tx, [{ type, actorId: first, data: { report: view }, audience: { rooms: [], actors: rest } }]);
}

/** Keeps what these messages say now with a report, in the caller's transaction. */
export async function attachMessages(
  deps: Pick<Deps, "config">,
  tx: DatabaseLike,
  reportId: string,
  list: readonly Message[],
): Promise<void> {
  if (list.length === 0) return;
  await tx.insert(reportMessages).values(
    list.map((m) => ({
      reportId,
      messageId: m.id,
      authorId: m.authorId,
      url: messageUrl(deps, m),
      content: m.content,
      html: m.html,
      sentAt: m.createdAt,
    })),
  );
}

/**
 * Files a report and tells the room's moderators and the admins at once (`report.created`).
 * The messages attached must be ones the reporter can read, in the room given, not deleted;
 * a message report's messages must share one author, who becomes the report's target.
 * @returns The report, and whether it should be forwarded (the caller asks federation after commit).
 * @throws {AppError} `room_not_found`, `not_a_member`, `message_not_found`, `user_not_found`,
 *   `validation_failed`.
 */
export async function createReport(deps: Deps, reporterId: string, input: NewReport): Promise<Report> {
  const ids = [...new Set(input.messageIds)];
  if (input.kind === "message" && ids.length === 0) {
    throw new AppError("validation_failed", "Attach the messages you report.");
  }
  if ((input.kind !== "user" || ids.length > 0) && input.roomId == null) {
    throw new AppError("validation_failed", "Say which room this is about (roomId).");
  }
  let room: Awaited<ReturnType<typeof accessRoom>>["room"] | undefined;
  if (input.roomId != null) {
    // Reading a room's messages takes membership; a public room is reported by anyone who sees it.
    const need = input.kind === "room" && ids.length === 0 ? "visible" : "member";
    room = (await accessRoom(deps, input.roomId, reporterId, need)).room;
  }
  const found =
    ids.length > 0 && room
      ? await deps.db
          .select()
          .from(messages)
          .where(and(inArray(messages.id, ids), eq(messages.roomId, room.id), isNull(messages.deletedAt)))
      : [];
  if (found.length !== ids.length) throw new AppError("message_not_found", "No such message in this room.");
  const authors = new Set(found.map((m) => m.authorId));
  let targetActorId: string | null = null;
  if (input.kind === "message") {
    if (authors.size > 1) throw new AppError("validation_failed", "Report one person's messages at a time.");
    targetActorId = found[0]?.authorId ?? null;
  } else if (input.kind === "user") {
    if (input.userId == null) throw new AppError("validation_failed", "Say whom you report (userId).");
    const [known] = await deps.db.select({ id: actors.id }).from(actors).where(eq(actors.id, input.userId));
    if (known == null) throw new AppError("user_not_found", "No such user.");
    if ([...authors].some((a) => a !== input.userId)) {
      throw new AppError("validation_failed", "The messages attached are not all theirs.");
    }
    targetActorId = known.id;
  }
  if (targetActorId === reporterId) throw new AppError("validation_failed", "You cannot report yourself.");
  const id = uuidv7();
  return await deps.db.transaction(async (tx) => {
    const [report] = await tx
      .insert(reports)
      .values({
        id,
        kind: input.kind,
        category: input.category,
        comment: input.comment,
        reporterId,
        targetActorId,
        roomId: room?.id ?? null,
      })
      .returning();
    if (report == null) throw new Error("The report was not stored.");
    await attachMessages(deps, tx, id, found);
    await announceReport(deps, tx, report, "report.created");
    return report;
  });
}

/**
 * One report, if `viewer` may see it.
 * @throws {AppError} `report_not_found` otherwise: whether it exists is not told.
 */
export async function reportFor(deps: Pick<Deps, "db">, viewer: Viewer, reportId: string): Promise<Report> {
  const [report] = await deps.db
    .select()
    .from(reports)
    .where(and(eq(reports.id, reportId), visibleTo(viewer)));
  if (report == null) throw new AppError("report_not_found", "No such report.");
  return report;
}

/**
 * The queue as `viewer` sees it, newest first.
 * @param page `status` to filter by, `before` a report id (the next page), `limit`.
 */
export async function listReports(
  deps: Pick<Deps, "db" | "config">,
  viewer: Viewer,
  page: { status?: Report["status"] | undefined; before?: string | undefined; limit: number },
): Promise<ReportView[]> {
  const rows = await deps.db
    .select()
    .from(reports)
    .where(
      and(
        visibleTo(viewer),
        page.status ? eq(reports.status, page.status) : undefined,
        page.before ? lt(reports.id, page.before) : undefined,
      ),
    )
    .orderBy(desc(reports.id))
    .limit(page.limit);
  return await reportViews(deps, rows);
}

/** Whether `viewer` has a queue at all: an admin, or a moderator of a room hosted here. */
export async function moderatesAnything(deps: Pick<Deps, "db">, viewer: Viewer): Promise<boolean> {
  if (viewer.role === "admin") return true;
  const [row] = await deps.db
    .select({ roomId: roomMembers.roomId })
    .from(roomMembers)
    .innerJoin(
      rooms,
      and(eq(rooms.id, roomMembers.roomId), isNull(rooms.iri), eq(rooms.direct, false), isNull(rooms.deletedAt)),
    )
    .where(and(eq(roomMembers.actorId, viewer.id), inArray(roomMembers.role, [...moderatorRoles])))
    .limit(1);
  return row != null;
}
