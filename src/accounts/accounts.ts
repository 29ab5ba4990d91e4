import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { actors, type User, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { revokeOwnedTokens } from "./access-tokens.ts";
import { generateActorKeys } from "./keys.ts";
import { hashPassword, needsRehash, verifyDummyPassword, verifyPassword } from "./passwords.ts";
import { announceProfile } from "./profile-events.ts";
import { type ProfileFieldInput, replaceProfileFields } from "./profile-fields.ts";
import { registrationMode, usable } from "./registrations.ts";
import {
  type AuthUser,
  authUserColumns,
  type ClientInfo,
  type IssuedTokens,
  revokeOtherSessions,
  startSession,
} from "./sessions.ts";
import { checkUsername, usernamePattern } from "./usernames.ts";

/** The host part of this server's handles (`alice@<host>`), port included when not default. */
export function handleHost(deps: Pick<Deps, "config">): string {
  return new URL(deps.config.origin).host;
}

/**
 * Creates an account. The username is checked (and lowercased), the password hashed with
 * argon2id, and the user's RSA and Ed25519 key pairs made now, so the `Person` can sign from
 * its first activity.
 * @throws {AppError} `validation_failed` for a bad or reserved username, `username_taken`.
 */
export async function createAccount(
  deps: Pick<Deps, "db" | "config">,
  input: { username: string; password: string; displayName?: string | undefined; awaitingApproval?: boolean },
): Promise<User> {
  const username = checkUsername(input.username, new URL(deps.config.origin).hostname);
  const [existing] = await deps.db.select({ id: users.id }).from(users).where(eq(users.username, username));
  if (existing) throw new AppError("username_taken", `The username ${username} is taken.`);
  const [passwordHash, keys] = await Promise.all([hashPassword(input.password), generateActorKeys()]);
  const user = await deps.db.transaction(async (tx) => {
    const [created] = await tx
      .insert(users)
      .values({
        id: uuidv7(),
        username,
        displayName: input.displayName ?? username,
        passwordHash,
        awaitingApprovalSince: input.awaitingApproval ? new Date() : null,
        ...keys,
      })
      .onConflictDoNothing({ target: users.username })
      .returning();
    // The user's actor shares its id: rooms and messages refer to actors.
    if (created) await tx.insert(actors).values({ id: created.id, userId: created.id });
    return created;
  });
  // Someone else took the name between the check and the insert.
  if (user == null) throw new AppError("username_taken", `The username ${username} is taken.`);
  return user;
}

/**
 * Signs up, as the instance's registration mode allows: an account and its first session, or
 * (by approval) an account that waits for an admin, with no session (`null`).
 * @throws {AppError} `registrations_closed`, and those of {@link createAccount}.
 */
export async function register(
  deps: Deps,
  input: { username: string; password: string; displayName?: string | undefined },
  client: ClientInfo,
): Promise<IssuedTokens | null> {
  const mode = await registrationMode(deps);
  if (mode === "closed") throw new AppError("registrations_closed", "Sign-up is closed on this server.");
  const user = await createAccount(deps, { ...input, awaitingApproval: mode === "approval" });
  return mode === "approval" ? null : await startSession(deps, user, client);
}

/**
 * Logs in with a username and password. An unknown username costs the same time as a wrong
 * password and gets the same answer. A hash made with weaker parameters is replaced.
 * @throws {AppError} `invalid_credentials`.
 */
export async function login(
  deps: Deps,
  input: { username: string; password: string },
  client: ClientInfo,
): Promise<IssuedTokens> {
  // A sign-up waiting for approval is found nowhere else; here, who knows its password learns that it waits.
  const user = (await findUser(deps, input.username)) ?? (await findAwaiting(deps, input.username));
  // A bot has no password: it costs the same time and gets the same answer as a wrong one.
  const hash = user?.passwordHash;
  const ok = hash != null ? await verifyPassword(hash, input.password) : await verifyDummyPassword(input.password);
  if (!user || hash == null || !ok) throw new AppError("invalid_credentials", "Wrong username or password.");
  if (user.awaitingApprovalSince != null) {
    throw new AppError("account_pending", "Your sign-up waits for an admin of this server to approve it.");
  }
  if (needsRehash(hash)) {
    await deps.db
      .update(users)
      .set({ passwordHash: await hashPassword(input.password) })
      .where(eq(users.id, user.id));
  }
  return await startSession(deps, user, client);
}

/**
 * Changes the password after checking the current one, and ends every other session and every
 * personal access token the user made: whoever knew the old password is logged out everywhere
 * else. The hash is read here: the user that
 * authentication hands a request does not carry it.
 * @throws {AppError} `invalid_credentials` when the current password is wrong.
 */
export async function changePassword(
  deps: Deps,
  userId: string,
  sessionId: string,
  input: { currentPassword: string; newPassword: string },
): Promise<{ revokedSessions: number }> {
  const [row] = await deps.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, userId));
  if (row?.passwordHash == null || !(await verifyPassword(row.passwordHash, input.currentPassword))) {
    throw new AppError("invalid_credentials", "The current password is wrong.");
  }
  await deps.db
    .update(users)
    .set({ passwordHash: await hashPassword(input.newPassword), updatedAt: sql`now()` })
    .where(eq(users.id, userId));
  const revokedSessions = await revokeOtherSessions(deps, userId, sessionId, "password_changed");
  await revokeOwnedTokens(deps, userId);
  return { revokedSessions };
}

/** Profile fields a user may change; each is already validated and cleaned. */
export interface ProfileChanges {
  readonly displayName?: string | undefined;
  readonly bio?: string | undefined;
  readonly color?: string | null | undefined;
  /** The profile fields, all of them (replacing those there were). */
  readonly fields?: readonly ProfileFieldInput[] | undefined;
}

/**
 * Applies profile changes and returns the updated user, telling everyone who sees them
 * (`profile.updated`). This process's cached sessions of the user are dropped, so its next
 * request sees the change.
 */
export async function updateProfile(deps: Deps, user: AuthUser, changes: ProfileChanges): Promise<AuthUser> {
  const set: Partial<Pick<User, "displayName" | "bio" | "color">> = {};
  if (changes.displayName !== undefined) set.displayName = changes.displayName;
  if (changes.bio !== undefined) set.bio = changes.bio;
  if (changes.color !== undefined) set.color = changes.color;
  if (Object.keys(set).length === 0 && changes.fields === undefined) return user;
  const { row: updated, changed } = await deps.db.transaction(async (tx) => {
    const [current] = await tx.select(authUserColumns).from(users).where(eq(users.id, user.id)).for("update");
    const fieldsChanged = changes.fields !== undefined && (await replaceProfileFields(tx, user.id, changes.fields));
    // A change to what the profile already says is no change: no event, no Update{Person}
    // to every server that shows the user (a client saving the same form in a loop).
    const same =
      current != null && (Object.keys(set) as (keyof typeof set)[]).every((key) => current[key] === set[key]);
    if (same && !fieldsChanged) return { row: current, changed: false };
    const [row] = same
      ? [current]
      : await tx
          .update(users)
          .set({ ...set, updatedAt: sql`now()` })
          .where(eq(users.id, user.id))
          .returning(authUserColumns);
    // Everyone who shows the user (and their other sessions) sees the change at once.
    await announceProfile(deps, tx, user.id);
    return { row, changed: true };
  });
  if (changed) deps.auth.forget({ userId: user.id });
  return updated ?? user;
}

/**
 * Finds a local user by handle: `alice`, `@alice`, `alice@<this host>` (any case).
 * Handles of other servers are not looked up here.
 * @throws {AppError} `user_not_found`.
 */
export async function findLocalUser(deps: Deps, handle: string): Promise<User> {
  const name = /^@?([^@\s]+)/.exec(handle.trim())?.[1]?.toLowerCase();
  const user = name && isLocalHandle(deps, handle) ? await findUser(deps, name) : undefined;
  if (user == null) throw new AppError("user_not_found", `No user ${handle} on this server.`);
  return user;
}

/** Whether a handle (`alice`, `@alice`, `alice@host`) names someone on this server. */
export function isLocalHandle(deps: Deps, handle: string): boolean {
  const host = /^@?[^@\s]+(?:@([^@\s]+))?$/.exec(handle.trim());
  if (host == null) return false;
  return host[1] == null || host[1].toLowerCase() === handleHost(deps).toLowerCase();
}

/**
 * The active (not suspended) local user with this username, any case. A string that cannot be
 * a username is not looked up at all.
 */
export async function findUser(deps: Pick<Deps, "db">, username: string): Promise<User | undefined> {
  if (!usernamePattern.test(username.toLowerCase())) return undefined;
  const [user] = await deps.db
    .select()
    .from(users)
    .where(and(eq(users.username, username.toLowerCase()), usable));
  return user;
}

/** A sign-up waiting for approval, by username. */
async function findAwaiting(deps: Pick<Deps, "db">, username: string): Promise<User | undefined> {
  if (!usernamePattern.test(username.toLowerCase())) return undefined;
  const [user] = await deps.db
    .select()
    .from(users)
    .where(
      and(
        eq(users.username, username.toLowerCase()),
        isNull(users.suspendedAt),
        isNotNull(users.awaitingApprovalSince),
      ),
    );
  return user;
}

/** How many people have usable accounts here (bots, suspended and waiting accounts aside). */
export async function peopleCount(deps: Pick<Deps, "db">): Promise<number> {
  const [row] = await deps.db
    .select({ total: sql<number>`count(*)`.mapWith(Number) })
    .from(users)
    .where(and(usable, isNull(users.botOwnerId)));
  return row?.total ?? 0;
}

/** Counts for NodeInfo: all users (people, not bots), and those active in the last month and half year. */
export async function userCounts(deps: Pick<Deps, "db">): Promise<{ total: number; month: number; halfYear: number }> {
  const [row] = await deps.db
    .select({
      total: sql<number>`count(*)`.mapWith(Number),
      month:
        sql<number>`count(*) filter (where exists (select 1 from sessions s where s.user_id = ${users.id} and s.last_used_at > now() - interval '30 days'))`.mapWith(
          Number,
        ),
      halfYear:
        sql<number>`count(*) filter (where exists (select 1 from sessions s where s.user_id = ${users.id} and s.last_used_at > now() - interval '180 days'))`.mapWith(
          Number,
        ),
    })
    .from(users)
    .where(and(usable, isNull(users.botOwnerId)));
  return row ?? { total: 0, month: 0, halfYear: 0 };
}
