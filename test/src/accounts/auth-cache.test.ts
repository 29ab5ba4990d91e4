import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { changePassword, createAccount, updateProfile } from "../../../src/accounts/accounts.ts";
import { deleteUser, suspendUser } from "../../../src/accounts/admin.ts";
import { AuthCache } from "../../../src/accounts/auth-cache.ts";
import {
  authenticate,
  authUserColumns,
  refreshSession,
  revokeOtherSessions,
  revokeSession,
  startSession,
} from "../../../src/accounts/sessions.ts";
import { type AccessClaims, accessTokenSeconds } from "../../../src/accounts/tokens.ts";
import { type Config, loadConfig } from "../../../src/config.ts";
import type { Deps } from "../../../src/deps.ts";
import type { AppError } from "../../../src/errors.ts";
import { createTestDatabase, type TestDatabase, testDatabaseKind } from "../../helpers/db.ts";
import { testDeps, testSecrets } from "../../helpers/secrets.ts";

/** A short `sessionCacheMs`, so that waiting it out costs little. */
const ttl = 300;
const client = { deviceLabel: "test", address: "203.0.113.1" };
const secrets = testSecrets();

let database: TestDatabase;
let config: Config;
/** One server's two processes on one database: same keys, a cache each. */
let here: Deps;
let there: Deps;

beforeAll(async () => {
  database = await createTestDatabase();
  config = loadConfig({ ORIGIN: "https://chat.example" });
  here = await testDeps(config, database.db, { secrets, auth: { sessionCacheMs: ttl } });
  there = await testDeps(config, database.db, { secrets, auth: { sessionCacheMs: ttl } });
});
afterAll(async () => database.close());
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error: AppError) => error.code,
  );

let accounts = 0;
/** A new account with one session. */
async function loggedIn(deps: Deps = here) {
  const username = `user${++accounts}`;
  const user = await createAccount(deps, { username, password: "a password" });
  return { username, ...(await startSession(deps, user, client)) };
}

describe(`the authentication cache on ${testDatabaseKind}`, () => {
  it("checks a token's signature once, then takes it from memory", async () => {
    const deps = await testDeps(config, database.db, { secrets });
    const { accessToken } = await loggedIn(deps);
    const verify = vi.spyOn(deps.tokens, "verify");
    for (let i = 0; i < 5; i++) expect(await codeOf(authenticate(deps, accessToken))).toBe("accepted");
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it("reads a session once for a burst of concurrent requests", async () => {
    const { accessToken } = await loggedIn();
    const deps = await testDeps(config, database.db, { secrets });
    // The lookup is a prepared statement (built once per database): count the reads it makes.
    const session = deps.auth.session.bind(deps.auth);
    let reads = 0;
    vi.spyOn(deps.auth, "session").mockImplementation((claims, load) =>
      session(claims, () => {
        reads++;
        return load();
      }),
    );
    const results = await Promise.all(Array.from({ length: 20 }, () => codeOf(authenticate(deps, accessToken))));
    expect(results.every((r) => r === "accepted")).toBe(true);
    expect(reads).toBe(1);
  });

  it("refuses a cached token once it has expired, with token_expired", async () => {
    const { accessToken } = await loggedIn();
    expect(await codeOf(authenticate(here, accessToken))).toBe("accepted");
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + (accessTokenSeconds + 60) * 1000);
    expect(await codeOf(authenticate(here, accessToken))).toBe("token_expired");
  });

  it("reuses a session lookup until sessionCacheMs runs out or it is forgotten", async () => {
    const { accessToken, session, user } = await loggedIn();
    const slow = await testDeps(config, database.db, { secrets, auth: { sessionCacheMs: 60_000 } });
    expect(await codeOf(authenticate(slow, accessToken))).toBe("accepted");
    // Another process revokes the session: this one's cache does not hear of it...
    await revokeSession(here, user.id, session.id, "revoked");
    expect(await codeOf(authenticate(slow, accessToken))).toBe("accepted");
    // ...until its entry runs out (or, in the revoking process, is forgotten).
    slow.auth.forget({ userId: user.id });
    expect(await codeOf(authenticate(slow, accessToken))).toBe("unauthenticated");
  });

  it("refuses a revoked session at once in the revoking process, and within the TTL in another", async () => {
    const { accessToken, session, user } = await loggedIn();
    expect(await codeOf(authenticate(here, accessToken))).toBe("accepted");
    expect(await codeOf(authenticate(there, accessToken))).toBe("accepted");
    await revokeSession(here, user.id, session.id, "logout");
    expect(await codeOf(authenticate(here, accessToken))).toBe("unauthenticated");
    await sleep(ttl);
    expect(await codeOf(authenticate(there, accessToken))).toBe("unauthenticated");
  });

  it("refuses a suspended user's sessions at once here, and within the TTL in another process", async () => {
    const { accessToken, username } = await loggedIn();
    expect(await codeOf(authenticate(here, accessToken))).toBe("accepted");
    expect(await codeOf(authenticate(there, accessToken))).toBe("accepted");
    await suspendUser(here, username);
    expect(await codeOf(authenticate(here, accessToken))).toBe("unauthenticated");
    await sleep(ttl);
    expect(await codeOf(authenticate(there, accessToken))).toBe("unauthenticated");
  });

  it("refuses a deleted user's sessions at once", async () => {
    const { accessToken, username } = await loggedIn();
    expect(await codeOf(authenticate(here, accessToken))).toBe("accepted");
    await deleteUser(here, username);
    expect(await codeOf(authenticate(here, accessToken))).toBe("unauthenticated");
  });

  it("ends the other sessions at once on a password change or 'log out elsewhere'", async () => {
    const first = await loggedIn();
    const second = await startSession(here, first.user, client);
    const third = await startSession(here, first.user, client);
    for (const s of [first, second, third]) expect(await codeOf(authenticate(here, s.accessToken))).toBe("accepted");
    await changePassword(here, first.user.id, first.session.id, {
      currentPassword: "a password",
      newPassword: "another password",
    });
    expect(await codeOf(authenticate(here, first.accessToken))).toBe("accepted");
    expect(await codeOf(authenticate(here, second.accessToken))).toBe("unauthenticated");
    expect(await codeOf(authenticate(here, third.accessToken))).toBe("unauthenticated");

    const fourth = await startSession(here, first.user, client);
    expect(await codeOf(authenticate(here, fourth.accessToken))).toBe("accepted");
    await revokeOtherSessions(here, first.user.id, first.session.id, "revoked");
    expect(await codeOf(authenticate(here, fourth.accessToken))).toBe("unauthenticated");
  });

  it("follows a refresh, and ends the session at once when a used refresh token comes back", async () => {
    const issued = await loggedIn();
    expect(await codeOf(authenticate(here, issued.accessToken))).toBe("accepted");
    const next = await refreshSession(here, issued.refreshToken, client);
    expect(await codeOf(authenticate(here, next.accessToken))).toBe("accepted");
    // Presenting the used refresh token again ends the session, here at once.
    expect(await codeOf(refreshSession(here, issued.refreshToken, client))).toBe("invalid_refresh_token");
    expect(await codeOf(authenticate(here, next.accessToken))).toBe("unauthenticated");
  });

  it("shows a profile change at once here, and within the TTL in another process", async () => {
    const { accessToken, user } = await loggedIn();
    expect((await authenticate(here, accessToken)).user.displayName).toBe(user.username);
    expect((await authenticate(there, accessToken)).user.displayName).toBe(user.username);
    await updateProfile(here, user, { displayName: "New Name" });
    expect((await authenticate(here, accessToken)).user.displayName).toBe("New Name");
    await sleep(ttl);
    expect((await authenticate(there, accessToken)).user.displayName).toBe("New Name");
  });

  it("keeps no password hash or private key in a cached lookup", async () => {
    const { accessToken } = await loggedIn();
    const deps = await testDeps(config, database.db, { secrets, auth: { sessionCacheMs: 60_000 } });
    const first = await authenticate(deps, accessToken);
    const cached = await authenticate(deps, accessToken);
    expect(cached).toBe(first);
    expect(Object.keys(cached.user).sort()).toEqual(Object.keys(authUserColumns).sort());
    expect(Object.keys(cached.user).filter((key) => /password|private|hash/i.test(key))).toEqual([]);
  });
});

describe("the token cache", () => {
  const claimsOf = (token: string): AccessClaims => ({
    userId: "u",
    sessionId: token,
    tokenId: token,
    expiresAt: new Date(Date.now() + 60_000),
  });

  it("keeps at most maxTokens, letting the least recently used go", async () => {
    const cache = new AuthCache({ maxTokens: 2 });
    const verify = vi.fn(async (token: string) => claimsOf(token));
    await cache.claims("a", verify);
    await cache.claims("b", verify);
    await cache.claims("a", verify); // a is now the most recently used
    await cache.claims("c", verify); // b goes
    expect(verify.mock.calls.map(([token]) => token)).toEqual(["a", "b", "c"]);
    await cache.claims("a", verify);
    await cache.claims("b", verify);
    expect(verify.mock.calls.map(([token]) => token)).toEqual(["a", "b", "c", "b"]);
  });

  it("keeps no token that failed verification", async () => {
    const cache = new AuthCache();
    const verify = vi.fn(async (): Promise<AccessClaims> => {
      throw new Error("bad signature");
    });
    await expect(cache.claims("x", verify)).rejects.toThrow("bad signature");
    await expect(cache.claims("x", verify)).rejects.toThrow("bad signature");
    expect(verify).toHaveBeenCalledTimes(2);
  });
});
