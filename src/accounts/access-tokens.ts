/**
 * Personal access tokens (schema-tokens.ts): made by a user for their own scripts or for a bot
 * they own, shown once, stored as a SHA-256, checked on every request with one indexed query
 * (no cache: a revocation counts at once in every process), revocable.
 * @module
 */
import { randomBytes } from "node:crypto";
import { and, count, desc, eq, gt, isNull, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { uuidv7 } from "uuidv7";
import type { DatabaseLike } from "../db/client.ts";
import { type PersonalAccessToken, personalAccessTokens, sessions, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { botOf } from "./bots.ts";
import { type Authenticated, type AuthUser, authUserColumns, hashToken } from "./sessions.ts";
import { personalTokenPrefix } from "./token-scopes.ts";

/** How many live tokens one user may have made (for themselves and their bots together). */
export const maxTokensPerOwner = 50;
/** A bot's owner, in the authentication query. */
const owners = alias(users, "owners");
/** The session end of a token that does not expire. */
const never = new Date("9999-12-31T00:00:00Z");

/** A token as its owner sees it in a list: never the secret. */
export interface AccessTokenView {
  readonly token: PersonalAccessToken;
  /** Who the token acts as: its owner, or one of their bots. */
  readonly user: AuthUser;
  readonly lastUsedAt: Date;
}

/** What a request authenticated by a personal access token carries. */
export interface TokenAuthenticated extends Authenticated {
  readonly token: Pick<PersonalAccessToken, "id" | "scopes">;
}

/**
 * Makes a token for the owner, or for a bot of theirs (`botId`). The secret is returned here
 * and never again: `fct_` and 32 random bytes, base64url.
 * @throws {AppError} `bot_not_found`; `forbidden` for a bot making tokens; `token_limit_reached`.
 */
export async function createAccessToken(
  deps: Pick<Deps, "db">,
  owner: AuthUser,
  input: { name: string; scopes: readonly string[]; expiresAt: Date | null; botId?: string | undefined },
): Promise<AccessTokenView & { secret: string }> {
  if (owner.botOwnerId != null) throw new AppError("forbidden", "A bot cannot make tokens.");
  const user = input.botId != null ? await botOf(deps, owner.id, input.botId) : owner;
  const secret = `${personalTokenPrefix}${randomBytes(32).toString("base64url")}`;
  const created = await deps.db.transaction(async (tx) => {
    // Counted under the owner's row lock, so two requests at once cannot both pass the limit.
    await tx.select({ id: users.id }).from(users).where(eq(users.id, owner.id)).for("update");
    const [live] = await tx
      .select({ n: count() })
      .from(personalAccessTokens)
      .innerJoin(sessions, eq(sessions.id, personalAccessTokens.sessionId))
      .where(and(eq(personalAccessTokens.ownerId, owner.id), liveSession()));
    if (Number(live?.n ?? 0) >= maxTokensPerOwner) {
      throw new AppError("token_limit_reached", `At most ${maxTokensPerOwner} tokens; revoke some first.`);
    }
    const [session] = await tx
      .insert(sessions)
      .values({
        id: uuidv7(),
        userId: user.id,
        deviceLabel: `Token: ${input.name}`,
        expiresAt: input.expiresAt ?? never,
      })
      .returning();
    if (session == null) throw new Error("The token's session was not written.");
    const [token] = await tx
      .insert(personalAccessTokens)
      .values({
        id: uuidv7(),
        ownerId: owner.id,
        sessionId: session.id,
        name: input.name,
        scopes: [...input.scopes],
        tokenHash: hashToken(secret),
        prefix: secret.slice(0, personalTokenPrefix.length + 4),
        expiresAt: input.expiresAt,
      })
      .returning();
    if (token == null) throw new Error("The token was not written.");
    return { token, lastUsedAt: session.lastUsedAt };
  });
  return { ...created, user, secret };
}

function liveSession() {
  return and(isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`));
}

/** The owner's live tokens (for themselves and their bots), newest first. */
export async function listAccessTokens(deps: Pick<Deps, "db">, ownerId: string): Promise<AccessTokenView[]> {
  return await deps.db
    .select({ token: personalAccessTokens, user: authUserColumns, lastUsedAt: sessions.lastUsedAt })
    .from(personalAccessTokens)
    .innerJoin(sessions, eq(sessions.id, personalAccessTokens.sessionId))
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(personalAccessTokens.ownerId, ownerId), liveSession()))
    .orderBy(desc(personalAccessTokens.createdAt));
}

/**
 * Revokes one of the owner's tokens: its session is revoked, which every process checks on
 * the token's next request, and the hub closes its streams at its next session check.
 * @throws {AppError} `token_not_found` when it is not the owner's or has already ended.
 */
export async function revokeAccessToken(
  deps: Pick<Deps, "db" | "auth">,
  ownerId: string,
  tokenId: string,
): Promise<void> {
  const ended = await deps.db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokeReason: "token_revoked" })
    .where(
      and(
        isNull(sessions.revokedAt),
        sql`${sessions.id} = (select ${personalAccessTokens.sessionId} from ${personalAccessTokens}
          where ${personalAccessTokens.id} = ${tokenId} and ${personalAccessTokens.ownerId} = ${ownerId})`,
      ),
    )
    .returning({ id: sessions.id });
  const [session] = ended;
  if (session == null) throw new AppError("token_not_found", "No such token.");
  deps.auth.forget({ sessionId: session.id });
}

/** The token lookup, built once per database: drizzle's query building is not free. */
function lookupStatement(db: DatabaseLike) {
  return db
    .select({
      user: authUserColumns,
      session: sessions,
      token: { id: personalAccessTokens.id, scopes: personalAccessTokens.scopes },
    })
    .from(personalAccessTokens)
    .innerJoin(sessions, eq(sessions.id, personalAccessTokens.sessionId))
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(owners, eq(owners.id, users.botOwnerId))
    .where(
      and(
        eq(personalAccessTokens.tokenHash, sql.placeholder("hash")),
        liveSession(),
        isNull(users.suspendedAt),
        isNull(owners.suspendedAt),
      ),
    )
    .prepare("fedchat_access_token");
}

const lookupStatements = new WeakMap<DatabaseLike, ReturnType<typeof lookupStatement>>();

/**
 * Authenticates a personal access token: one query on the token's hash, with its session and
 * user (a revoked or expired token, a suspended user, or a bot whose owner is suspended, is
 * refused). Not cached, so that a revocation holds everywhere at once; "last used" is written
 * at most once a minute.
 * @throws {AppError} `unauthenticated`.
 */
export async function authenticateAccessToken(
  deps: Pick<Deps, "db">,
  secret: string,
  address: string | undefined,
): Promise<TokenAuthenticated> {
  let statement = lookupStatements.get(deps.db);
  if (statement == null) {
    statement = lookupStatement(deps.db);
    lookupStatements.set(deps.db, statement);
  }
  const [row] = await statement.execute({ hash: hashToken(secret) });
  if (row == null) {
    throw new AppError("unauthenticated", "The personal access token is unknown, expired or revoked.", {
      headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
    });
  }
  if (Date.now() - row.session.lastUsedAt.getTime() > 60_000) {
    await deps.db
      .update(sessions)
      .set({ lastUsedAt: sql`now()`, lastAddress: address ?? row.session.lastAddress })
      .where(eq(sessions.id, row.session.id));
  }
  return row;
}

/**
 * Revokes every token the owner made, for themselves and their bots (a password change: whoever
 * knew the old password may have made some). Returns how many.
 */
export async function revokeOwnedTokens(deps: Pick<Deps, "db" | "auth">, ownerId: string): Promise<number> {
  const ended = await deps.db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokeReason: "password_changed" })
    .where(
      and(
        isNull(sessions.revokedAt),
        sql`${sessions.id} in (select ${personalAccessTokens.sessionId} from ${personalAccessTokens}
          where ${personalAccessTokens.ownerId} = ${ownerId})`,
      ),
    )
    .returning({ id: sessions.id });
  for (const { id } of ended) deps.auth.forget({ sessionId: id });
  return ended.length;
}
