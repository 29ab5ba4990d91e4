import { randomBytes } from "node:crypto";
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { type User, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { removeAvatar } from "../media/avatars.ts";
import { hashPassword } from "./passwords.ts";
import { revokeAllSessions } from "./sessions.ts";

/** Operator actions on accounts, for `npm run admin`. They skip rate limits, not validation. */

async function userNamed(deps: Pick<Deps, "db">, username: string): Promise<User> {
  const [user] = await deps.db.select().from(users).where(eq(users.username, username.toLowerCase()));
  if (user == null) throw new AppError("user_not_found", `No user ${username}.`);
  return user;
}

/** Every account, oldest first. */
export async function listUsers(deps: Pick<Deps, "db">): Promise<User[]> {
  return await deps.db.select().from(users).orderBy(asc(users.createdAt));
}

/**
 * Suspends an account: it cannot log in, and every session ends (in the servers, which are
 * other processes, within their `sessionCacheMs`; see auth-cache.ts).
 */
export async function suspendUser(deps: Pick<Deps, "db" | "auth">, username: string): Promise<User> {
  const user = await userNamed(deps, username);
  const [updated] = await deps.db
    .update(users)
    .set({ suspendedAt: sql`coalesce(${users.suspendedAt}, now())` })
    .where(eq(users.id, user.id))
    .returning();
  await revokeAllSessions(deps, user.id, "suspended");
  return updated ?? user;
}

/** Lifts a suspension. */
export async function unsuspendUser(deps: Pick<Deps, "db">, username: string): Promise<User> {
  const user = await userNamed(deps, username);
  // A deleted account stays suspended: its tombstone is never an account again.
  const [updated] = await deps.db
    .update(users)
    .set({ suspendedAt: null })
    .where(and(eq(users.id, user.id), isNull(users.deletedAt)))
    .returning();
  return updated ?? user;
}

/**
 * Sets a new password (a random one when none is given) and ends every session.
 * @returns The password that was set.
 */
export async function resetPassword(
  deps: Pick<Deps, "db" | "auth">,
  username: string,
  password?: string,
): Promise<string> {
  const user = await userNamed(deps, username);
  const next = password ?? randomBytes(12).toString("base64url");
  if (next.length < 8 || next.length > 256) {
    throw new AppError("validation_failed", "A password is 8 to 256 characters.");
  }
  await deps.db
    .update(users)
    .set({ passwordHash: await hashPassword(next), updatedAt: sql`now()` })
    .where(eq(users.id, user.id));
  await revokeAllSessions(deps, user.id, "password_reset");
  return next;
}

/** Makes an account an admin of the instance, or a plain user again. */
export async function setRole(deps: Pick<Deps, "db" | "auth">, username: string, role: string): Promise<User> {
  if (role !== "user" && role !== "admin") {
    throw new AppError("validation_failed", "A role is user or admin.");
  }
  const user = await userNamed(deps, username);
  const [updated] = await deps.db.update(users).set({ role }).where(eq(users.id, user.id)).returning();
  deps.auth.forget({ userId: user.id });
  return updated ?? user;
}

/** Deletes an account, its sessions and its avatar. */
export async function deleteUser(deps: Deps, username: string): Promise<void> {
  const user = await userNamed(deps, username);
  await removeAvatar(deps, user);
  await deps.db.delete(users).where(eq(users.id, user.id));
  deps.auth.forget({ userId: user.id });
}
