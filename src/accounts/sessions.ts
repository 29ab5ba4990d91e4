import { createHash, randomBytes } from "node:crypto";
import { and, desc, eq, gt, inArray, isNull, lt, ne, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { uuidv7 } from "uuidv7";
import { builtOnce, queryRows } from "../db/client.ts";
import { personalAccessTokens, refreshTokens, type Session, sessions, type User, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import type { AccessClaims } from "./tokens.ts";

/** A refresh token lives 30 days; each use replaces it with a new one that lives 30 days. */
export const refreshTokenSeconds = 30 * 24 * 60 * 60;

/**
 * The columns of a user that authentication reads: what request handlers use, and never the
 * password hash or the private keys (a function that needs those reads them by id).
 */
export const authUserColumns = {
  id: users.id,
  username: users.username,
  displayName: users.displayName,
  bio: users.bio,
  color: users.color,
  avatar: users.avatar,
  role: users.role,
  /** Set for a bot: the user who owns it. */
  botOwnerId: users.botOwnerId,
  createdAt: users.createdAt,
} as const;

/** A user as authentication hands it to request handlers: see {@link authUserColumns}. */
export type AuthUser = Pick<User, keyof typeof authUserColumns>;

/** The {@link AuthUser} columns of a full user row. */
export function toAuthUser(user: AuthUser): AuthUser {
  const { id, username, displayName, bio, color, avatar, role, botOwnerId, createdAt } = user;
  return { id, username, displayName, bio, color, avatar, role, botOwnerId, createdAt };
}

/** What a login, a registration or a refresh hands the client. */
export interface IssuedTokens {
  readonly user: AuthUser;
  readonly session: Session;
  readonly accessToken: string;
  readonly expiresIn: number;
  /** Opaque, 256 random bits, base64url; only its SHA-256 is stored. */
  readonly refreshToken: string;
  readonly refreshExpiresAt: Date;
}

/** Where a request comes from, for the sessions list. */
export interface ClientInfo {
  readonly deviceLabel: string;
  readonly address: string | undefined;
}

/** The SHA-256 of a secret token, base64url: what is stored in its place. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

function newRefreshToken() {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashToken(token), expiresAt: new Date(Date.now() + refreshTokenSeconds * 1000) };
}

/**
 * Starts a session for a user who has just proved who they are (registration, login).
 * @returns The first access token and refresh token of the new session.
 */
export async function startSession(deps: Deps, user: AuthUser, client: ClientInfo): Promise<IssuedTokens> {
  const refresh = newRefreshToken();
  const session = await deps.db.transaction(async (tx) => {
    const [created] = await tx
      .insert(sessions)
      .values({
        id: uuidv7(),
        userId: user.id,
        deviceLabel: client.deviceLabel,
        lastAddress: client.address ?? null,
        expiresAt: refresh.expiresAt,
      })
      .returning();
    if (created == null) throw new Error("The session row was not written.");
    await tx
      .insert(refreshTokens)
      .values({ tokenHash: refresh.hash, sessionId: created.id, expiresAt: refresh.expiresAt });
    return created;
  });
  const access = await deps.tokens.issue(user.id, session.id);
  return {
    user: toAuthUser(user),
    session,
    ...access,
    refreshToken: refresh.token,
    refreshExpiresAt: refresh.expiresAt,
  };
}

/**
 * Exchanges a refresh token for a new access token and a new refresh token (rotation). A token
 * works once: presenting one that was already used means it was copied, so the whole session
 * (every token descended from the same login) is revoked at once.
 * @throws {AppError} `invalid_refresh_token`.
 */
export async function refreshSession(deps: Deps, presented: string, client: Pick<ClientInfo, "address">) {
  const presentedHash = hashToken(presented);
  const invalid = (detail: string) => new AppError("invalid_refresh_token", detail);
  const [claimed] = await deps.db
    .update(refreshTokens)
    .set({ usedAt: sql`now()` })
    .where(
      and(
        eq(refreshTokens.tokenHash, presentedHash),
        isNull(refreshTokens.usedAt),
        gt(refreshTokens.expiresAt, sql`now()`),
      ),
    )
    .returning({ sessionId: refreshTokens.sessionId });
  if (claimed == null) {
    const [known] = await deps.db
      .select({ sessionId: refreshTokens.sessionId, usedAt: refreshTokens.usedAt })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, presentedHash));
    if (known?.usedAt != null) {
      await revokeSessionRow(deps, known.sessionId, "refresh_token_reused");
      throw invalid("This refresh token was already used; the session has been ended for safety.");
    }
    throw invalid("The refresh token is unknown or expired.");
  }
  const refresh = newRefreshToken();
  const result = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .update(sessions)
      .set({ lastUsedAt: sql`now()`, lastAddress: client.address ?? null, expiresAt: refresh.expiresAt })
      .where(and(eq(sessions.id, claimed.sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`)))
      .returning();
    if (row == null) return undefined;
    const [user] = await tx
      .select(authUserColumns)
      .from(users)
      .where(and(eq(users.id, row.userId), isNull(users.suspendedAt)));
    if (user == null) return undefined;
    await tx.insert(refreshTokens).values({ tokenHash: refresh.hash, sessionId: row.id, expiresAt: refresh.expiresAt });
    return { session: row, user };
  });
  if (result == null) throw invalid("The session has ended.");
  // The row's end moved; a lookup cached before must not end the session at the old one.
  deps.auth.forget({ sessionId: result.session.id });
  const access = await deps.tokens.issue(result.user.id, result.session.id);
  return {
    ...result,
    ...access,
    refreshToken: refresh.token,
    refreshExpiresAt: refresh.expiresAt,
  } satisfies IssuedTokens;
}

/** The user and session behind a valid access token. */
export interface Authenticated {
  readonly user: AuthUser;
  readonly session: Session;
}

/**
 * Checks an access token and the session it belongs to: a revoked or expired session, or a
 * suspended user, stops the token. The signature is checked once per token, and the session
 * is read at most once per `sessionCacheMs` per process (`AuthCache`, auth-cache.ts): a change
 * made in this process (which calls `deps.auth.forget`) counts at once, one made by another
 * process within `sessionCacheMs`.
 * @throws {AppError} `unauthenticated` or `token_expired`.
 */
export async function authenticate(deps: Deps, accessToken: string, address?: string): Promise<Authenticated> {
  const claims = await deps.auth.claims(accessToken, (token) => deps.tokens.verify(token));
  const found = await deps.auth.session(claims, () => readSession(deps, claims, address));
  // The cached row may outlive the session's end; a token's user must be the session's.
  if (found == null || found.session.expiresAt.getTime() <= Date.now() || found.user.id !== claims.userId) {
    throw new AppError("unauthenticated", "The session of this access token has ended.", {
      headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
    });
  }
  return found;
}

/** The session lookup behind every access token, prepared: one round trip, no planning. */
const sessionStatement = builtOnce((db) =>
  db
    .select({ user: authUserColumns, session: sessions })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, sql.placeholder("sessionId")),
        eq(sessions.userId, sql.placeholder("userId")),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, sql`now()`),
        isNull(users.suspendedAt),
      ),
    )
    .prepare("fedchat_session"),
);

/** Reads a live session with its user (undefined when it has ended), and notes its use. */
async function readSession(
  deps: Deps,
  claims: AccessClaims,
  address: string | undefined,
): Promise<Authenticated | undefined> {
  const [row] = await sessionStatement(deps.db).execute({ sessionId: claims.sessionId, userId: claims.userId });
  if (row == null) return undefined;
  // "Last used" is worth a write at most once a minute per session; with the lookup cached,
  // only a request that reads the row can make it.
  if (Date.now() - row.session.lastUsedAt.getTime() > 60_000) {
    const [touched] = await deps.db
      .update(sessions)
      .set({ lastUsedAt: sql`now()`, lastAddress: address ?? row.session.lastAddress })
      .where(eq(sessions.id, row.session.id))
      .returning();
    return { user: row.user, session: touched ?? row.session };
  }
  return row;
}

async function revokeSessionRow(deps: Deps, sessionId: string, reason: string): Promise<void> {
  await deps.db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokeReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
  deps.auth.forget({ sessionId });
}

/**
 * Ends one of the user's sessions (logout, or revoking a device from the sessions list).
 * @throws {AppError} `session_not_found` when it is not the user's or has already ended.
 */
export async function revokeSession(deps: Deps, userId: string, sessionId: string, reason: string): Promise<void> {
  const ended = await deps.db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokeReason: reason })
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  deps.auth.forget({ sessionId });
  if (ended.length === 0) throw new AppError("session_not_found", "No such session.");
}

/**
 * Ends every session of the user but `keepSessionId`; returns how many ended. Personal access
 * tokens are not sessions to the user: they are revoked from their own list.
 */
export async function revokeOtherSessions(
  deps: Deps,
  userId: string,
  keepSessionId: string,
  reason: string,
): Promise<number> {
  const ended = await deps.db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokeReason: reason })
    .where(and(eq(sessions.userId, userId), ne(sessions.id, keepSessionId), isNull(sessions.revokedAt), notToken()))
    .returning({ id: sessions.id });
  for (const { id } of ended) deps.auth.forget({ sessionId: id });
  return ended.length;
}

/** Ends every session of the user (suspension, password reset); returns how many ended. */
export async function revokeAllSessions(
  deps: Pick<Deps, "db" | "auth">,
  userId: string,
  reason: string,
): Promise<number> {
  const ended = await deps.db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokeReason: reason })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  deps.auth.forget({ userId });
  return ended.length;
}

/** Not the session of a personal access token. */
function notToken() {
  return sql`not exists (select 1 from ${personalAccessTokens} where ${personalAccessTokens.sessionId} = ${sessions.id})`;
}

/** The user's logins that can still be used (not their tokens), most recently used first. */
export async function listSessions(deps: Deps, userId: string): Promise<Session[]> {
  return await deps.db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`), notToken()))
    .orderBy(desc(sessions.lastUsedAt));
}

/**
 * Deletes ended sessions (revoked or expired, with their refresh tokens by cascade) and expired
 * refresh tokens of live sessions, in one statement. Run periodically.
 * @returns How many sessions were deleted.
 */
export async function purgeSessions(deps: Pick<Deps, "db">): Promise<number> {
  const [row] = await queryRows<{ sessions: number }>(
    deps.db,
    sql`with ended as (
          delete from ${sessions}
          where ${or(lt(sessions.expiresAt, sql`now()`), sql`${sessions.revokedAt} is not null`)}
          returning 1
        ), stale as (
          delete from ${refreshTokens} where ${lt(refreshTokens.expiresAt, sql`now()`)} returning 1
        )
        select (select count(*) from ended)::int as sessions, (select count(*) from stale)::int as tokens`,
  );
  return row?.sessions ?? 0;
}

/**
 * Which of these sessions are live: not revoked, not expired, and their user (and a bot's
 * owner) not suspended. The stream closes the connections of the others.
 */
export async function liveSessions(deps: Pick<Deps, "db">, ids: readonly string[]): Promise<Set<string>> {
  const owners = alias(users, "owners");
  const live = await deps.db
    .select({ id: sessions.id })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(owners, eq(owners.id, users.botOwnerId))
    .where(
      and(
        inArray(sessions.id, [...ids]),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, sql`now()`),
        isNull(users.suspendedAt),
        isNull(owners.suspendedAt),
      ),
    );
  return new Set(live.map((s) => s.id));
}

const browsers: readonly [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, "Edge"],
  [/\b(OPR|Opera)\//, "Opera"],
  [/\b(Firefox|FxiOS)\//, "Firefox"],
  [/\b(Chrome|CriOS|Chromium)\//, "Chrome"],
  [/\bSafari\//, "Safari"],
];
const systems: readonly [RegExp, string][] = [
  [/\bAndroid\b/, "Android"],
  [/\b(iPhone|iPad|iPod)\b/, "iOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bLinux\b/, "Linux"],
];

/** A short label for a device from its User-Agent, such as "Firefox on Linux". */
export function deviceLabelFrom(userAgent: string | undefined): string {
  if (!userAgent) return "Unknown device";
  const browser =
    browsers.find(([pattern]) => pattern.test(userAgent))?.[1] ??
    (userAgent.split(/[\s/]/)[0] ?? "").replace(/[^\w.-]/g, "").slice(0, 40);
  const system = systems.find(([pattern]) => pattern.test(userAgent))?.[1];
  const label = system ? `${browser || "Browser"} on ${system}` : browser;
  return label || "Unknown device";
}
