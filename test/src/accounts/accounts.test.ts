import { type Algorithm, hash } from "@node-rs/argon2";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changePassword, login, register as signUp, updateProfile } from "../../../src/accounts/accounts.ts";
import { passwordParameters } from "../../../src/accounts/passwords.ts";
import { authenticate, authUserColumns, purgeSessions, refreshSession } from "../../../src/accounts/sessions.ts";
import { loadConfig } from "../../../src/config.ts";
import { refreshTokens, sessions, users } from "../../../src/db/schema.ts";
import type { Deps } from "../../../src/deps.ts";
import type { AppError } from "../../../src/errors.ts";
import { createTestDatabase, type TestDatabase, testDatabaseKind } from "../../helpers/db.ts";
import { testDeps } from "../../helpers/secrets.ts";

/** Signs up on a server open to sign-up: the new account's first session. */
async function register(...args: Parameters<typeof signUp>) {
  const issued = await signUp(...args);
  if (issued == null) throw new Error("expected an open server to start a session");
  return issued;
}

let database: TestDatabase;
let deps: Deps;
const client = { deviceLabel: "test", address: "203.0.113.1" };

beforeAll(async () => {
  database = await createTestDatabase();
  const config = loadConfig({ ORIGIN: "https://chat.example" });
  deps = await testDeps(config, database.db);
});
afterAll(async () => database.close());

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error: AppError) => error.code,
  );

describe(`accounts on ${testDatabaseKind}`, () => {
  it("gives exactly one of several concurrent registrations of one name the account", async () => {
    const results = await Promise.all(
      ["race", "RACE", "Race"].map((username) => codeOf(register(deps, { username, password: "password1" }, client))),
    );
    expect(results.sort()).toEqual(["accepted", "username_taken", "username_taken"]);
    expect(await database.db.select().from(users).where(eq(users.username, "race"))).toHaveLength(1);
  });

  it("rehashes a password stored with weaker parameters at the next login", async () => {
    await register(deps, { username: "legacy", password: "old but fine" }, client);
    const weak = await hash("old but fine", {
      algorithm: 2 as Algorithm.Argon2id,
      memoryCost: 4096,
      timeCost: 1,
      parallelism: 1,
    });
    await database.db.update(users).set({ passwordHash: weak }).where(eq(users.username, "legacy"));
    await login(deps, { username: "legacy", password: "old but fine" }, client);
    const [row] = await database.db
      .select({ hash: users.passwordHash })
      .from(users)
      .where(eq(users.username, "legacy"));
    expect(row?.hash).toMatch(
      new RegExp(`^\\$argon2id\\$v=19\\$m=${passwordParameters.memoryCost},t=${passwordParameters.timeCost},p=1\\$`),
    );
    expect(await codeOf(login(deps, { username: "legacy", password: "old but fine" }, client))).toBe("accepted");
  });

  it("answers an unknown user exactly like a wrong password", async () => {
    await register(deps, { username: "known", password: "right password" }, client);
    const unknown = await login(deps, { username: "nobody_here", password: "x" }, client).catch((e: AppError) => e);
    const wrong = await login(deps, { username: "known", password: "wrong password" }, client).catch(
      (e: AppError) => e,
    );
    expect(unknown).toMatchObject({ code: "invalid_credentials", message: "Wrong username or password." });
    expect(wrong).toMatchObject({ code: "invalid_credentials", message: (unknown as AppError).message });
  });

  it("treats two concurrent refreshes with one token as reuse: at most one wins and the session ends", async () => {
    const issued = await register(deps, { username: "twotabs", password: "password1" }, client);
    const attempts = await Promise.all([
      refreshSession(deps, issued.refreshToken, client).catch((e: AppError) => e),
      refreshSession(deps, issued.refreshToken, client).catch((e: AppError) => e),
    ]);
    // Which one loses depends on timing: the loser finds the token used and ends the session,
    // and the winner may or may not have finished first. Either way nothing survives.
    const refused = attempts.filter((a): a is AppError => a instanceof Error);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.every((e) => e.code === "invalid_refresh_token")).toBe(true);
    const [session] = await database.db.select().from(sessions).where(eq(sessions.id, issued.session.id));
    expect(session?.revokeReason).toBe("refresh_token_reused");
    for (const attempt of attempts) {
      if (attempt instanceof Error) continue;
      expect(await codeOf(authenticate(deps, attempt.accessToken))).toBe("unauthenticated");
      expect(await codeOf(refreshSession(deps, attempt.refreshToken, client))).toBe("invalid_refresh_token");
    }
  });

  it("purges ended sessions and expired refresh tokens in one statement", async () => {
    const live = await register(deps, { username: "purge_live", password: "password1" }, client);
    const expired = await login(deps, { username: "purge_live", password: "password1" }, client);
    const revoked = await login(deps, { username: "purge_live", password: "password1" }, client);
    await database.db
      .update(sessions)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(sessions.id, expired.session.id));
    await database.db.update(sessions).set({ revokedAt: sql`now()` }).where(eq(sessions.id, revoked.session.id));
    // A live session's used refresh token, once expired, goes too; its current one stays.
    const next = await refreshSession(deps, live.refreshToken, client);
    await database.db
      .update(refreshTokens)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(sql`${refreshTokens.usedAt} is not null`);
    expect(await purgeSessions(deps)).toBeGreaterThanOrEqual(2);
    const left = await database.db.select({ id: sessions.id }).from(sessions);
    expect(left.map((s) => s.id)).toContain(live.session.id);
    expect(left.map((s) => s.id)).not.toContain(expired.session.id);
    expect(left.map((s) => s.id)).not.toContain(revoked.session.id);
    const tokens = await database.db.select().from(refreshTokens).where(eq(refreshTokens.sessionId, live.session.id));
    expect(tokens).toHaveLength(1);
    expect(await codeOf(refreshSession(deps, next.refreshToken, client))).toBe("accepted");
  });

  it("stores only hashes of refresh tokens", async () => {
    const issued = await register(deps, { username: "hashed", password: "password1" }, client);
    const rows = await database.db.select().from(refreshTokens).where(eq(refreshTokens.sessionId, issued.session.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.tokenHash).not.toBe(issued.refreshToken);
    expect(Buffer.from(issued.refreshToken, "base64url")).toHaveLength(32);
  });

  it("hands out users without the password hash or private keys, and checks passwords by id", async () => {
    const registered = await register(deps, { username: "nosecrets", password: "password1" }, client);
    const loggedIn = await login(deps, { username: "nosecrets", password: "password1" }, client);
    const refreshed = await refreshSession(deps, loggedIn.refreshToken, client);
    const { user } = await authenticate(deps, refreshed.accessToken);
    const updated = await updateProfile(deps, user, { bio: "no secrets here" });
    expect(updated.bio).toBe("no secrets here");
    for (const handedOut of [registered.user, loggedIn.user, refreshed.user, user, updated]) {
      expect(Object.keys(handedOut).sort()).toEqual(Object.keys(authUserColumns).sort());
    }
    const change = (currentPassword: string) =>
      changePassword(deps, user.id, refreshed.session.id, { currentPassword, newPassword: "password2" });
    expect(await codeOf(change("wrong password"))).toBe("invalid_credentials");
    expect(await change("password1")).toEqual({ revokedSessions: 1 });
    expect(await codeOf(login(deps, { username: "nosecrets", password: "password2" }, client))).toBe("accepted");
  });
});
