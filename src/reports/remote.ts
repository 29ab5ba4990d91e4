/**
 * Reports from other servers: a `Flag` naming people, messages or rooms of this server
 * becomes a report in the queue, from that server (never from a person).
 * @module
 */
import { and, count, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { messages, type Report, reports, rooms } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { logger } from "../log.ts";
import { cleanText, storableText, truncate } from "../text.ts";
import { announceReport, attachMessages, maxReportComment, maxReportMessages } from "./reports.ts";

const log = logger("reports");

/** What a `Flag` named of ours, once the federation layer has read it. */
export interface IncomingFlag {
  /** The host of the server that sent it (its signature's). */
  readonly origin: string;
  /** The `Flag`'s id. */
  readonly iri: string;
  readonly comment: string;
  /** Local users' actor ids. */
  readonly users: readonly string[];
  /** Ids of messages written here (whose IRI is ours). */
  readonly messages: readonly string[];
  /** Rooms hosted here. */
  readonly rooms: readonly string[];
}

/** How many reports one server may file in an hour (times `RATE_LIMIT_FACTOR`). */
export const flagsPerServerPerHour = 20;

/**
 * Files a report from another server. Its messages must be ours and not deleted; with messages
 * it is a message report about their (first) author in their room, else about the first user
 * named, else about the first room. Counted per server in the database, so the limit holds
 * across processes; a `Flag` past it, or delivered again, or naming nothing of ours, is dropped.
 * @returns The report, or undefined when dropped.
 */
export async function receiveFlag(deps: Deps, flag: IncomingFlag): Promise<Report | undefined> {
  const [recent] = await deps.db
    .select({ n: count() })
    .from(reports)
    .where(and(eq(reports.origin, flag.origin), gt(reports.createdAt, sql`now() - interval '1 hour'`)));
  const limit = Math.max(1, Math.round(flagsPerServerPerHour * deps.config.rateLimitFactor));
  if (Number(recent?.n ?? 0) >= limit) {
    log.warn("Dropped a Flag from {origin}: over {limit} reports in an hour.", { origin: flag.origin, limit });
    return undefined;
  }
  const ids = [...new Set(flag.messages)].slice(0, maxReportMessages);
  const found = ids.length
    ? await deps.db
        .select()
        .from(messages)
        .where(and(inArray(messages.id, ids), isNull(messages.iri), isNull(messages.deletedAt)))
    : [];
  const first = found[0];
  const attached = first ? found.filter((m) => m.roomId === first.roomId && m.authorId === first.authorId) : [];
  const [room] = flag.rooms.length
    ? await deps.db
        .select({ id: rooms.id })
        .from(rooms)
        .where(and(inArray(rooms.id, [...flag.rooms]), isNull(rooms.iri), isNull(rooms.deletedAt)))
        .limit(1)
    : [];
  const kind = first ? "message" : flag.users.length ? "user" : room ? "room" : undefined;
  if (kind == null) return undefined;
  const id = uuidv7();
  return await deps.db.transaction(async (tx) => {
    const [report] = await tx
      .insert(reports)
      .values({
        id,
        kind,
        category: "other",
        comment: truncate(cleanText(storableText(flag.comment)), maxReportComment),
        origin: flag.origin,
        flagIri: flag.iri,
        targetActorId: first?.authorId ?? (kind === "user" ? flag.users[0] : null) ?? null,
        roomId: first?.roomId ?? (kind === "room" ? room?.id : null) ?? null,
      })
      .onConflictDoNothing()
      .returning();
    if (report == null) return undefined;
    await attachMessages(deps, tx, id, attached);
    await announceReport(deps, tx, report, "report.created");
    return report;
  });
}
