/**
 * What moderators and admins do from a report: the room's own moderation (delete the
 * messages, kick, ban), the instance's (suspend the account, block the server), forwarding it
 * to the reported person's server, and closing it. Each is done by the domain function that
 * does it elsewhere, and written into the report's actions.
 * @module
 */
import { and, eq, isNull } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { suspendUser } from "../accounts/admin.ts";
import type { DatabaseLike } from "../db/client.ts";
import { actors, type Report, reportActions, reportMessages, reports, rooms, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { removeUnreferencedFiles } from "../media/attachments.ts";
import { deleteMessage, messageIn, tombstoneMessage } from "../messages/messages.ts";
import { notifyReportOutcome } from "../notifications/notifications.ts";
import { banMember, kickMember } from "../rooms/members.ts";
import { allows } from "../rooms/permissions.ts";
import { logModeration, membership } from "../rooms/rooms.ts";
import { hostOf } from "../server-blocks.ts";
import { blockServer } from "../servers.ts";
import { announceReport, reportFor, type Viewer } from "./reports.ts";

/** What can be done from a report. */
export const reportActionNames = ["delete_messages", "kick", "ban", "suspend", "block_server", "forward"] as const;
export type ReportActionName = (typeof reportActionNames)[number];

/** Records an action on the report and tells its audience, in one transaction. */
async function record(
  deps: Deps,
  report: Report,
  actorId: string | null,
  action: string,
  note: string,
  change: (tx: DatabaseLike) => Promise<Report | undefined> = async () => report,
): Promise<Report> {
  return await deps.db.transaction(async (tx) => {
    const updated = (await change(tx)) ?? report;
    await tx.insert(reportActions).values({ id: uuidv7(), reportId: report.id, actorId, action, note });
    await announceReport(deps, tx, updated, "report.updated");
    return updated;
  });
}

/** The reported actor, with whether they are ours and, if so, their username. */
async function targetOf(deps: Pick<Deps, "db">, report: Report) {
  if (report.targetActorId == null) throw new AppError("validation_failed", "This report names nobody.");
  const [row] = await deps.db
    .select({ id: actors.id, iri: actors.iri, username: users.username })
    .from(actors)
    .leftJoin(users, eq(users.id, actors.userId))
    .where(eq(actors.id, report.targetActorId));
  if (row == null) throw new AppError("user_not_found", "The reported account is gone.");
  return row;
}

function needsAdmin(viewer: Viewer): void {
  if (viewer.role !== "admin") throw new AppError("admin_only", "Only an admin of this server may do this.");
}

function needsRoom(report: Report): string {
  if (report.roomId == null) throw new AppError("validation_failed", "This report is not about a room's member.");
  return report.roomId;
}

/**
 * Deletes the report's messages that are still there. A moderator of the room deletes them as
 * anywhere else (the role rules hold); an admin of the instance who does not moderate the room
 * may delete them too in a room hosted here, and the room's moderation log says so.
 */
async function deleteReported(deps: Deps, viewer: Viewer, report: Report): Promise<number> {
  const roomId = needsRoom(report);
  const attached = await deps.db.select().from(reportMessages).where(eq(reportMessages.reportId, report.id));
  if (attached.length === 0) throw new AppError("validation_failed", "This report attaches no messages.");
  const member = await membership(deps.db, roomId, viewer.id);
  const [room] = await deps.db.select().from(rooms).where(eq(rooms.id, roomId));
  const asAdmin = viewer.role === "admin" && !(member && allows(member.role, "deleteOthers")) && room?.iri == null;
  let deleted = 0;
  for (const m of attached) {
    if (!asAdmin) {
      await deleteMessage(deps, viewer.id, roomId, m.messageId).catch((error: unknown) => {
        if (!(error instanceof AppError && error.code === "message_not_found")) throw error;
      });
      deleted++;
      continue;
    }
    const message = await messageIn(deps, roomId, m.messageId).catch(() => undefined);
    if (message == null) continue;
    const hashes = await deps.db.transaction(async (tx) => {
      const released = await tombstoneMessage(tx, message, viewer.id);
      if (released) {
        await logModeration(tx, {
          roomId,
          actorId: viewer.id,
          action: "message.deleted",
          targetActorId: m.authorId ?? undefined,
          targetMessageId: m.messageId,
          reason: "report",
        });
      }
      return released;
    });
    if (hashes) {
      deleted++;
      await removeUnreferencedFiles(deps, hashes);
    }
  }
  return deleted;
}

/**
 * Takes one action from a report and records it there (`report.updated` to its audience).
 * @param note The reason given (a ban's reason, a block's).
 * @throws {AppError} `report_not_found`; `admin_only` for `suspend` and `block_server`;
 *   `validation_failed` when the action does not fit the report; whatever the action's own
 *   domain function throws (`forbidden` for a moderator ranked too low, say).
 */
export async function actOnReport(
  deps: Deps,
  viewer: Viewer,
  reportId: string,
  action: ReportActionName,
  note: string,
): Promise<Report> {
  const report = await reportFor(deps, viewer, reportId);
  switch (action) {
    case "delete_messages": {
      const n = await deleteReported(deps, viewer, report);
      return await record(deps, report, viewer.id, action, note || `${n} deleted`);
    }
    case "kick":
      await kickMember(deps, viewer.id, needsRoom(report), (await targetOf(deps, report)).id, note || undefined);
      return await record(deps, report, viewer.id, action, note);
    case "ban":
      await banMember(deps, viewer.id, needsRoom(report), (await targetOf(deps, report)).id, note || "Reported");
      return await record(deps, report, viewer.id, action, note);
    case "suspend": {
      needsAdmin(viewer);
      const target = await targetOf(deps, report);
      if (target.username == null) {
        throw new AppError("validation_failed", "Only accounts of this server can be suspended; block the server.");
      }
      if (target.id === viewer.id) throw new AppError("forbidden", "You cannot suspend yourself.");
      await suspendUser(deps, target.username);
      return await record(deps, report, viewer.id, action, note);
    }
    case "block_server": {
      needsAdmin(viewer);
      const target = report.origin ?? (await targetOf(deps, report)).iri;
      if (target == null) throw new AppError("validation_failed", "The reported account is on this server.");
      const host = report.origin ?? hostOf(target);
      await blockServer(deps, host, note || "Reported");
      return await record(deps, report, viewer.id, action, host);
    }
    case "forward":
      return await forwardReport(deps, viewer.id, report);
  }
}

/**
 * Sends a report to the reported person's server as a `Flag` from this server (never naming the
 * reporter), once: a report forwarded already is left as it is.
 * @throws {AppError} `validation_failed` for a person of this server; `remote_unreachable`
 *   when this process runs no federation.
 */
export async function forwardReport(deps: Deps, actorId: string | null, report: Report): Promise<Report> {
  if (report.origin != null) throw new AppError("validation_failed", "This report came from that server.");
  const target = await targetOf(deps, report);
  if (target.iri == null) throw new AppError("validation_failed", "The reported account is on this server.");
  if (report.forwardedAt != null) return report;
  if (deps.federation == null) throw new AppError("remote_unreachable", "Federation is not running in this process.");
  const attached = await deps.db
    .select({ url: reportMessages.url })
    .from(reportMessages)
    .where(eq(reportMessages.reportId, report.id));
  // The messages that are theirs (of their server) are what the other server can act on.
  const own = attached.map((m) => m.url).filter((url) => new URL(url).origin === new URL(target.iri as string).origin);
  await deps.federation.forwardReport(target.id, own, report.comment, report.id);
  return await record(deps, report, actorId, "forward", hostOf(target.iri), async (tx) => {
    const [updated] = await tx
      .update(reports)
      .set({ forwardedAt: new Date() })
      .where(and(eq(reports.id, report.id), isNull(reports.forwardedAt)))
      .returning();
    return updated;
  });
}

/**
 * Closes a report as `resolved` or `dismissed` (or opens it again), and tells a local reporter
 * the outcome with the actions taken (a `report` notification).
 * @throws {AppError} `report_not_found`.
 */
export async function settleReport(
  deps: Deps,
  viewer: Viewer,
  reportId: string,
  status: Report["status"],
  note: string,
): Promise<Report> {
  const report = await reportFor(deps, viewer, reportId);
  if (report.status === status) return report;
  return await record(deps, report, viewer.id, status, note, async (tx) => {
    const closed = status !== "open";
    const [updated] = await tx
      .update(reports)
      .set({ status, resolvedAt: closed ? new Date() : null, resolvedBy: closed ? viewer.id : null })
      .where(eq(reports.id, report.id))
      .returning();
    if (closed && updated?.reporterId != null) {
      const taken = await tx
        .select({ action: reportActions.action })
        .from(reportActions)
        .where(eq(reportActions.reportId, report.id));
      await notifyReportOutcome(deps, tx, {
        actorId: updated.reporterId,
        roomId: updated.roomId,
        data: {
          reportId: updated.id,
          status,
          kind: updated.kind,
          actions: [
            ...new Set(taken.map((t) => t.action).filter((a) => !["open", "resolved", "dismissed"].includes(a))),
          ],
        },
      });
    }
    return updated;
  });
}
