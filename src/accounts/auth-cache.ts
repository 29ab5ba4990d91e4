import type { Authenticated } from "./sessions.ts";
import type { AccessClaims } from "./tokens.ts";

/** How the {@link AuthCache} is sized and how long it trusts a session lookup. */
export interface AuthCacheOptions {
  /**
   * How long a session lookup is reused, in milliseconds (default 1000). This bounds how long
   * another process goes on accepting a session that was revoked, or a user who was suspended
   * or renamed, here; 0 reads the database on every request.
   */
  readonly sessionCacheMs?: number;
  /** How many verified access tokens are kept (default 10,000; the least recently used go). */
  readonly maxTokens?: number;
  /** How many session lookups are kept (default 10,000). */
  readonly maxSessions?: number;
}

interface SessionEntry {
  readonly userId: string;
  /** `performance.now()` from which the lookup is made again. */
  readonly until: number;
  /** Shared by every request that arrives while it runs; undefined when the session has ended. */
  readonly lookup: Promise<Authenticated | undefined>;
}

/**
 * What authentication keeps in memory, one per process: the claims of access tokens whose
 * signature was checked (until the token expires), and session lookups (the session with its
 * user, for {@link AuthCacheOptions.sessionCacheMs}). A burst of requests then costs one
 * Ed25519 check per token and one query per session per `sessionCacheMs`.
 *
 * Whatever ends a session or changes a user in this process calls {@link forget}, so it takes
 * effect here at once; other processes see it when their entry runs out.
 */
export class AuthCache {
  /** How long a session lookup is reused, in milliseconds. */
  readonly sessionCacheMs: number;
  readonly #maxTokens: number;
  readonly #maxSessions: number;
  /** In order of last use, the least recently used first. */
  readonly #tokens = new Map<string, AccessClaims>();
  readonly #sessions = new Map<string, SessionEntry>();

  constructor(options: AuthCacheOptions = {}) {
    this.sessionCacheMs = options.sessionCacheMs ?? 1000;
    this.#maxTokens = options.maxTokens ?? 10_000;
    this.#maxSessions = options.maxSessions ?? 10_000;
  }

  /**
   * The claims of an access token: checked by `verify` the first time, then taken from memory
   * until the token expires. An expired token goes back to `verify`, which refuses it with
   * `token_expired` exactly as it would have without the cache.
   * @param verify The signature and claims check (`TokenService.verify`).
   * @throws What `verify` throws; a refused token is not kept.
   */
  async claims(token: string, verify: (token: string) => Promise<AccessClaims>): Promise<AccessClaims> {
    const cached = this.#tokens.get(token);
    if (cached != null) {
      this.#tokens.delete(token);
      if (cached.expiresAt.getTime() > Date.now()) {
        this.#tokens.set(token, cached);
        return cached;
      }
    }
    const claims = await verify(token);
    if (claims.expiresAt.getTime() > Date.now()) {
      if (this.#tokens.size >= this.#maxTokens) {
        const oldest = this.#tokens.keys().next();
        if (!oldest.done) this.#tokens.delete(oldest.value);
      }
      this.#tokens.set(token, claims);
    }
    return claims;
  }

  /**
   * The session of verified claims, with its user: `load` runs when there is no lookup of the
   * session younger than `sessionCacheMs`, and requests that arrive while it runs wait for the
   * same answer. A session found ended (undefined) or a failed lookup is not kept: the next
   * request asks again.
   * @param load Reads the live session and its user; undefined when it has ended.
   */
  async session(
    claims: AccessClaims,
    load: () => Promise<Authenticated | undefined>,
  ): Promise<Authenticated | undefined> {
    const { sessionId } = claims;
    const now = performance.now();
    let entry = this.#sessions.get(sessionId);
    if (entry == null || entry.until <= now) {
      const fresh: SessionEntry = { userId: claims.userId, until: now + this.sessionCacheMs, lookup: load() };
      this.#storeSession(sessionId, fresh, now);
      const drop = () => {
        if (this.#sessions.get(sessionId) === fresh) this.#sessions.delete(sessionId);
      };
      fresh.lookup.then((found) => {
        if (found == null) drop();
      }, drop);
      entry = fresh;
    }
    return await entry.lookup;
  }

  /**
   * Drops the session lookups of a session, of a user, or both, so the next request reads
   * them again. Call it after the change is written: a lookup made before the write is dropped
   * with the rest. (Called inside a transaction that has not committed yet, a request in
   * between may keep the old answer for up to `sessionCacheMs`, as another process would.)
   */
  forget(which: { readonly sessionId?: string; readonly userId?: string }): void {
    if (which.sessionId != null) this.#sessions.delete(which.sessionId);
    if (which.userId != null) {
      for (const [sessionId, entry] of this.#sessions) {
        if (entry.userId === which.userId) this.#sessions.delete(sessionId);
      }
    }
  }

  /** Forgets every session lookup and every verified token. */
  clear(): void {
    this.#sessions.clear();
    this.#tokens.clear();
  }

  #storeSession(sessionId: string, entry: SessionEntry, now: number): void {
    this.#sessions.delete(sessionId);
    if (this.#sessions.size >= this.#maxSessions) {
      for (const [id, old] of this.#sessions) if (old.until <= now) this.#sessions.delete(id);
      if (this.#sessions.size >= this.#maxSessions) {
        // Still full of live entries: the oldest lookup goes (the map keeps insertion order).
        const oldest = this.#sessions.keys().next();
        if (!oldest.done) this.#sessions.delete(oldest.value);
      }
    }
    this.#sessions.set(sessionId, entry);
  }
}
