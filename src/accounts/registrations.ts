/**
 * Who may sign up (issue 19): anyone (`open`), anyone once an admin approves (`approval`), or
 * nobody (`closed`), kept in `instance_settings`. A sign-up that waits for approval is an
 * account with `awaiting_approval_since` set: found nowhere, unable to log in, until an admin
 * approves it (or rejects it, which deletes it).
 * @module
 */
import { and, asc, eq, isNotNull, isNull } from "drizzle-orm";
import { instanceSettings, type RegistrationMode, type User, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";

/** How sign-up works now. */
export async function registrationMode(deps: Pick<Deps, "db">): Promise<RegistrationMode> {
  const [row] = await deps.db.select({ mode: instanceSettings.registrations }).from(instanceSettings);
  return row?.mode ?? "open";
}

/** Sets how sign-up works (admins, the command line). */
export async function setRegistrationMode(deps: Pick<Deps, "db">, mode: RegistrationMode): Promise<void> {
  await deps.db
    .insert(instanceSettings)
    .values({ id: 1, registrations: mode })
    .onConflictDoUpdate({ target: instanceSettings.id, set: { registrations: mode, updatedAt: new Date() } });
}

/** The sign-ups waiting for an admin, oldest first. */
export async function awaitingApproval(deps: Pick<Deps, "db">): Promise<User[]> {
  return await deps.db
    .select()
    .from(users)
    .where(isNotNull(users.awaitingApprovalSince))
    .orderBy(asc(users.awaitingApprovalSince), asc(users.id));
}

/** A waiting sign-up by its id or username. @throws {AppError} `user_not_found`. */
async function waiting(deps: Pick<Deps, "db">, who: string): Promise<User> {
  const byId = /^[0-9a-f-]{36}$/i.test(who);
  const [user] = await deps.db
    .select()
    .from(users)
    .where(
      and(byId ? eq(users.id, who) : eq(users.username, who.toLowerCase()), isNotNull(users.awaitingApprovalSince)),
    );
  if (user == null) throw new AppError("user_not_found", `No sign-up of ${who} is waiting for approval.`);
  return user;
}

/** Lets a waiting sign-up in: it can log in from now on. @throws {AppError} `user_not_found`. */
export async function approveSignUp(deps: Pick<Deps, "db">, who: string): Promise<User> {
  const user = await waiting(deps, who);
  const [approved] = await deps.db
    .update(users)
    .set({ awaitingApprovalSince: null })
    .where(and(eq(users.id, user.id), isNotNull(users.awaitingApprovalSince)))
    .returning();
  return approved ?? user;
}

/** Refuses a waiting sign-up: the account is deleted. @throws {AppError} `user_not_found`. */
export async function rejectSignUp(deps: Pick<Deps, "db">, who: string): Promise<void> {
  const user = await waiting(deps, who);
  await deps.db.delete(users).where(and(eq(users.id, user.id), isNotNull(users.awaitingApprovalSince)));
}

/**
 * Whether an account is usable: neither suspended nor waiting for approval (a deleted account
 * is suspended too, so every check of suspension counts it out).
 */
export const usable = and(isNull(users.suspendedAt), isNull(users.awaitingApprovalSince), isNull(users.deletedAt));
