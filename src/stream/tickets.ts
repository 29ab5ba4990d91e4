/**
 * Stream tickets: a browser cannot set headers on a WebSocket, so a client asks for a
 * single-use ticket (valid {@link ticketSeconds} seconds, stored hashed, bound to its session)
 * right before it connects, and names it when it does.
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { and, eq, gt, isNull, lte, sql } from "drizzle-orm";
import { sessions, streamTickets } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";

/** Ticket lifetime: a client asks for one right before it connects. */
export const ticketSeconds = 30;

function hashTicket(ticket: string): string {
  return createHash("sha256").update(ticket).digest("base64url");
}

/** Issues a single-use ticket for the session, valid {@link ticketSeconds} seconds. */
export async function issueTicket(
  deps: Pick<Deps, "db">,
  sessionId: string,
): Promise<{ ticket: string; expiresIn: number }> {
  const ticket = randomBytes(32).toString("base64url");
  await deps.db.insert(streamTickets).values({
    ticketHash: hashTicket(ticket),
    sessionId,
    expiresAt: new Date(Date.now() + ticketSeconds * 1000),
  });
  return { ticket, expiresIn: ticketSeconds };
}

/**
 * Redeems a ticket (deleting it: a ticket works once) and returns its live session.
 * @throws {AppError} `unauthenticated` for an unknown, used or expired ticket, or an ended session.
 */
export async function redeemTicket(
  deps: Pick<Deps, "db">,
  ticket: string,
): Promise<{ actorId: string; sessionId: string }> {
  const [row] = await deps.db
    .delete(streamTickets)
    .where(eq(streamTickets.ticketHash, hashTicket(ticket)))
    .returning();
  if (row == null || row.expiresAt.getTime() <= Date.now()) {
    throw new AppError("unauthenticated", "The stream ticket is unknown, used or expired.");
  }
  const [session] = await deps.db
    .select({ userId: sessions.userId })
    .from(sessions)
    .where(and(eq(sessions.id, row.sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`)));
  if (session == null) throw new AppError("unauthenticated", "The session of this ticket has ended.");
  return { actorId: session.userId, sessionId: row.sessionId };
}

/** Deletes the tickets that expired unredeemed. */
export async function purgeTickets(deps: Pick<Deps, "db">): Promise<void> {
  await deps.db.delete(streamTickets).where(lte(streamTickets.expiresAt, sql`now()`));
}
