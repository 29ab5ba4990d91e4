import { generateKeyPairSync, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "drizzle-orm";
import { CompactEncrypt, importJWK, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import {
  createKeyedInstance,
  decodeJwt,
  expectProblem,
  type LoggedIn,
  loginUser,
  peek,
  refreshCookie,
  refreshCookieName,
  registerUser,
  type TokensBody,
  whoAmI,
} from "./support.ts";

let t: TestInstance;

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
});
afterAll(async () => {
  await t?.dispose();
});

const login = (username: string, password: string, extra: Record<string, unknown> = {}) =>
  t.request("/api/v1/auth/login", json("POST", { username, password, ...extra }));

const refreshWithCookie = (value: string) =>
  t.request("/api/v1/auth/refresh", json("POST", {}, { cookie: `${refreshCookieName}=${value}` }));

const refreshWithBody = (refreshToken: string) => t.request("/api/v1/auth/refresh", json("POST", { refreshToken }));

describe("login", () => {
  it("logs in with any case of the username; each login is a session of its own", async () => {
    const { user } = await registerUser(t, "mallory", "mallory's password");
    const res = await login("MALLORY", "mallory's password");
    expect(res.status, await peek(res)).toBe(200);
    const first = (await res.json()) as TokensBody;
    expect(first.user.id).toBe(user.id);
    expect(first.expiresIn).toBe(900);
    expect(refreshCookie(res)?.attributes).toMatchObject({ httponly: "", secure: "", samesite: "Strict" });
    const second = await loginUser(t, "mallory", "mallory's password");
    expect(decodeJwt(second.accessToken).payload.sid).not.toBe(decodeJwt(first.accessToken).payload.sid);
    expect(await whoAmI(t, first.accessToken)).toEqual({ status: 200 });
    expect(await whoAmI(t, second.accessToken)).toEqual({ status: 200 });
  });

  it("refuses a username with a NUL byte as invalid text, not with a server error", async () => {
    const res = await login("ali\u0000ce", "a password");
    expect(res.status, await peek(res)).toBe(422);
    await expectProblem(res, 422, "validation_failed");
  });

  it("answers a wrong password with invalid_credentials and no cookie", async () => {
    await registerUser(t, "niaj", "niaj's password");
    const res = await login("niaj", "not niaj's password");
    await expectProblem(res, 401, "invalid_credentials");
    expect(res.headers.getSetCookie()).toEqual([]);
  });
});

describe("refresh tokens", () => {
  it("rotate on every use; replaying the first one ends that session at once but not the others", async () => {
    await registerUser(t, "olivia", "olivia's password");
    const browser = await login("olivia", "olivia's password");
    expect(browser.status).toBe(200);
    const browserTokens = (await browser.json()) as TokensBody;
    const phone = await loginUser(t, "olivia", "olivia's password");
    const first = refreshCookie(browser)?.value ?? "";
    expect(first).not.toBe("");

    const once = await refreshWithCookie(first);
    expect(once.status, await peek(once)).toBe(200);
    const second = refreshCookie(once);
    expect(second?.value).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(second?.value).not.toBe(first);
    expect(second?.attributes).toMatchObject({ httponly: "", secure: "", samesite: "Strict", path: "/api/v1/auth" });
    expect(((await once.json()) as TokensBody).refreshToken).toBeUndefined();

    const twice = await refreshWithCookie(second?.value ?? "");
    expect(twice.status).toBe(200);
    const third = refreshCookie(twice)?.value ?? "";
    expect(new Set([first, second?.value, third]).size).toBe(3);
    const latest = (await twice.json()) as TokensBody;
    expect(latest.accessToken).not.toBe(browserTokens.accessToken);
    expect(decodeJwt(latest.accessToken).payload.sid).toBe(decodeJwt(browserTokens.accessToken).payload.sid);
    expect(await whoAmI(t, latest.accessToken)).toEqual({ status: 200 });

    const replay = await refreshWithCookie(first);
    await expectProblem(replay, 401, "invalid_refresh_token");
    expect(refreshCookie(replay)?.attributes["max-age"]).toBe("0");

    expect(await whoAmI(t, latest.accessToken)).toEqual({ status: 401, code: "unauthenticated" });
    expect(await whoAmI(t, browserTokens.accessToken)).toEqual({ status: 401, code: "unauthenticated" });
    await expectProblem(await refreshWithCookie(third), 401, "invalid_refresh_token");

    expect(await whoAmI(t, phone.accessToken)).toEqual({ status: 200 });
    const phoneRefresh = await refreshWithBody(phone.refreshToken);
    expect(phoneRefresh.status).toBe(200);
  });

  it("given in the body, come back in the body and work once", async () => {
    const session = await registerUser(t, "peggy", "peggy's password");
    const res = await refreshWithBody(session.refreshToken);
    expect(res.status, await peek(res)).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.getSetCookie()).toEqual([]);
    const next = (await res.json()) as TokensBody;
    expect(next.refreshToken).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(next.refreshToken).not.toBe(session.refreshToken);
    expect(next.user.username).toBe("peggy");
    expect(next.expiresIn).toBe(900);
    await expectProblem(await refreshWithBody(session.refreshToken), 401, "invalid_refresh_token");
    await expectProblem(await refreshWithBody(next.refreshToken ?? ""), 401, "invalid_refresh_token");
    expect(await whoAmI(t, next.accessToken)).toEqual({ status: 401, code: "unauthenticated" });
  });

  it("refuses a refresh token past its end, and an access token of a session past its end", async () => {
    const session = await registerUser(t, "xavier", "xavier's password");
    const sid = String(decodeJwt(session.accessToken).payload.sid);
    await t.database.db.execute(
      sql`update refresh_tokens set expires_at = now() - interval '1 second' where session_id = ${sid}`,
    );
    await expectProblem(await refreshWithBody(session.refreshToken), 401, "invalid_refresh_token");
    expect(await whoAmI(t, session.accessToken)).toEqual({ status: 200 });
    await t.database.db.execute(sql`update sessions set expires_at = now() - interval '1 second' where id = ${sid}`);
    // Changed behind the server's back (as another process would): it notices within the TTL.
    await sleep(t.deps.auth.sessionCacheMs);
    expect(await whoAmI(t, session.accessToken)).toEqual({ status: 401, code: "unauthenticated" });
  });

  it("refuses an unknown or missing refresh token without ending anything", async () => {
    const session = await registerUser(t, "quentin", "quentin's password");
    await expectProblem(await refreshWithBody(randomBytes(32).toString("base64url")), 401, "invalid_refresh_token");
    await expectProblem(await refreshWithCookie("not-a-token"), 401, "invalid_refresh_token");
    await expectProblem(await t.request("/api/v1/auth/refresh", json("POST", {})), 401, "invalid_refresh_token");
    expect(await whoAmI(t, session.accessToken)).toEqual({ status: 200 });
    expect((await refreshWithBody(session.refreshToken)).status).toBe(200);
  });
});

describe("logout", () => {
  it("with the access token: 204, the cookie is cleared and the session's tokens die", async () => {
    const session = await registerUser(t, "rupert", "rupert's password");
    const other = await loginUser(t, "rupert", "rupert's password");
    const res = await t.request("/api/v1/auth/logout", json("POST", {}, bearer(session.accessToken)));
    expect(res.status, await peek(res)).toBe(204);
    const cleared = refreshCookie(res);
    expect(cleared?.value).toBe("");
    // Browsers ignore a __Secure- cookie, even a deletion, that is not Secure.
    expect(cleared?.attributes).toMatchObject({ "max-age": "0", path: "/api/v1/auth", secure: "" });
    expect(await whoAmI(t, session.accessToken)).toEqual({ status: 401, code: "unauthenticated" });
    await expectProblem(await refreshWithBody(session.refreshToken), 401, "invalid_refresh_token");
    expect(await whoAmI(t, other.accessToken)).toEqual({ status: 200 });
  });

  it("with the refresh cookie alone: 204 and the session ends", async () => {
    await registerUser(t, "sybil", "sybil's password");
    const res = await login("sybil", "sybil's password");
    const { accessToken } = (await res.json()) as TokensBody;
    const cookie = refreshCookie(res)?.value ?? "";
    const out = await t.request("/api/v1/auth/logout", json("POST", {}, { cookie: `${refreshCookieName}=${cookie}` }));
    expect(out.status, await peek(out)).toBe(204);
    expect(refreshCookie(out)?.attributes["max-age"]).toBe("0");
    expect(await whoAmI(t, accessToken)).toEqual({ status: 401, code: "unauthenticated" });
  });

  it("with the cookie from another site's page: 403, and the session goes on (refresh too)", async () => {
    await registerUser(t, "cressida", "cressida's password");
    const res = await login("cressida", "cressida's password");
    const { accessToken } = (await res.json()) as TokensBody;
    const cookie = `${refreshCookieName}=${refreshCookie(res)?.value ?? ""}`;
    for (const path of ["/api/v1/auth/logout", "/api/v1/auth/refresh"]) {
      const foreign: Record<string, string>[] = [
        { origin: "https://evil.example" },
        { "sec-fetch-site": "cross-site" },
        { origin: "null" },
      ];
      for (const headers of foreign) {
        const forged = await t.request(path, json("POST", {}, { cookie, ...headers }));
        await expectProblem(forged, 403, "forbidden");
        expect(refreshCookie(forged)).toBeUndefined();
      }
    }
    expect(await whoAmI(t, accessToken)).toEqual({ status: 200 });
    // From our own pages it works.
    const own = await t.request("/api/v1/auth/refresh", json("POST", {}, { cookie, origin: t.origin }));
    expect(own.status, await peek(own)).toBe(200);
  });

  it("without any token is unauthenticated", async () => {
    await expectProblem(await t.request("/api/v1/auth/logout", json("POST", {})), 401, "unauthenticated");
  });
});

describe("password change", () => {
  const change = (session: LoggedIn, currentPassword: string, newPassword: string) =>
    t.request("/api/v1/auth/password", json("POST", { currentPassword, newPassword }, bearer(session.accessToken)));

  it("refuses a wrong current password with invalid_credentials and changes nothing", async () => {
    const session = await registerUser(t, "trent", "trent's password");
    const other = await loginUser(t, "trent", "trent's password");
    await expectProblem(await change(session, "not trent's password", "a new password"), 401, "invalid_credentials");
    await expectProblem(await change(session, "trent's password", "short"), 422, "validation_failed");
    expect(await whoAmI(t, other.accessToken)).toEqual({ status: 200 });
    await expectProblem(await login("trent", "a new password"), 401, "invalid_credentials");
    await loginUser(t, "trent", "trent's password");
  });

  it("requires a session", async () => {
    await expectProblem(
      await t.request("/api/v1/auth/password", json("POST", { currentPassword: "x", newPassword: "new password" })),
      401,
      "unauthenticated",
    );
  });

  it("ends every other session; the new password works and the old one does not", async () => {
    const current = await registerUser(t, "ursula", "ursula's password");
    const laptop = await loginUser(t, "ursula", "ursula's password");
    const phone = await loginUser(t, "ursula", "ursula's password");
    const res = await change(current, "ursula's password", "ursula's new password");
    expect(res.status, await peek(res)).toBe(200);
    expect(await res.json()).toEqual({ revokedSessions: 2 });
    expect(await whoAmI(t, current.accessToken)).toEqual({ status: 200 });
    for (const session of [laptop, phone]) {
      expect(await whoAmI(t, session.accessToken)).toEqual({ status: 401, code: "unauthenticated" });
      await expectProblem(await refreshWithBody(session.refreshToken), 401, "invalid_refresh_token");
    }
    expect((await refreshWithBody(current.refreshToken)).status).toBe(200);
    await expectProblem(await login("ursula", "ursula's password"), 401, "invalid_credentials");
    await loginUser(t, "ursula", "ursula's new password");
  });
});

describe("access tokens", () => {
  // Two instances share one signing key but not their origin: a token is only good where issued.
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  let k: TestInstance;
  let other: TestInstance;
  let victor: LoggedIn;
  let walter: LoggedIn;
  let claims: { sub: string; sid: string };

  beforeAll(async () => {
    [k, other] = await Promise.all([
      createKeyedInstance({ RATE_LIMIT_FACTOR: "100" }, jwk),
      createKeyedInstance({ ORIGIN: "http://localhost:8080", RATE_LIMIT_FACTOR: "100" }, jwk),
    ]);
    victor = await registerUser(k, "victor", "victor's password");
    walter = await registerUser(k, "walter", "walter's password");
    const { sub, sid } = decodeJwt(victor.accessToken).payload as { sub: string; sid: string };
    claims = { sub, sid };
  });
  afterAll(async () => {
    await Promise.all([k?.dispose(), other?.dispose()]);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const me = (token: string) => k.request("/api/v1/me", { headers: bearer(token) });
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = () => Math.floor(Date.now() / 1000);

  /** A token signed with the server's own key, with these claims and header. */
  async function forge(payload: Record<string, unknown>, header: Record<string, unknown> = { typ: "at+jwt" }) {
    const key = await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA");
    return await new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", ...header }).sign(key);
  }
  const valid = () => ({
    iss: "https://chat.example",
    aud: "https://chat.example/api",
    sub: claims.sub,
    sid: claims.sid,
    jti: randomBytes(16).toString("base64url"),
    iat: now(),
    exp: now() + 900,
  });

  it("a token forged with the server's key and every claim right is accepted (the control)", async () => {
    expect((await me(await forge(valid()))).status).toBe(200);
  });

  it.each([
    ["no Authorization header", undefined],
    ["a malformed JWT", "Bearer not.a.jwt"],
    ["a token that is not a JWT", "Bearer abcdef"],
    ["another scheme", "Basic dmljdG9yOnZpY3Rvcidz"],
  ])("refuses %s with unauthenticated", async (_, authorization) => {
    const res = await k.request("/api/v1/me", authorization ? { headers: { authorization } } : {});
    await expectProblem(res, 401, "unauthenticated");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("refuses a refresh token presented as an access token", async () => {
    await expectProblem(await me(victor.refreshToken), 401, "unauthenticated");
  });

  it("refuses alg: none", async () => {
    const token = `${b64({ alg: "none", typ: "at+jwt" })}.${b64(valid())}.`;
    await expectProblem(await me(token), 401, "unauthenticated");
  });

  it("refuses HS256 tokens keyed with the server's public key or any secret", async () => {
    const { d: _d, ...publicJwk } = jwk;
    const publicBytes = Buffer.from(String(jwk.x), "base64url");
    const secrets = [publicBytes, Buffer.from(JSON.stringify(publicJwk)), Buffer.from(String(jwk.x)), randomBytes(32)];
    for (const secret of secrets) {
      const token = await new SignJWT(valid())
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
        .sign(new Uint8Array(secret));
      await expectProblem(await me(token), 401, "unauthenticated");
    }
  });

  it("refuses RS256 tokens, EdDSA tokens signed with another key, and encrypted tokens", async () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const rs256 = await new SignJWT(valid()).setProtectedHeader({ alg: "RS256", typ: "at+jwt" }).sign(rsa);
    const stranger = generateKeyPairSync("ed25519").privateKey;
    const foreign = await new SignJWT(valid()).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt" }).sign(stranger);
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(valid())))
      .setProtectedHeader({ alg: "dir", enc: "A256GCM", typ: "at+jwt" })
      .encrypt(new Uint8Array(randomBytes(32)));
    expect(jwe.split(".")).toHaveLength(5);
    for (const token of [rs256, foreign, jwe]) await expectProblem(await me(token), 401, "unauthenticated");
  });

  it.each<[string, (c: Record<string, unknown>) => Record<string, unknown>, Record<string, unknown>?]>([
    ["another audience", (c) => ({ ...c, aud: "http://localhost:8080/api" })],
    ["the origin as audience", (c) => ({ ...c, aud: "https://chat.example" })],
    ["another issuer", (c) => ({ ...c, iss: "http://localhost:8080" })],
    ["no session id", ({ sid: _, ...c }) => c],
    ["no token id", ({ jti: _, ...c }) => c],
    ["no issue time", ({ iat: _, ...c }) => c],
    ["no expiry", ({ exp: _, ...c }) => c],
    ["an unknown session", (c) => ({ ...c, sid: "01900000-0000-7000-8000-000000000000" })],
    ["another user's id with this session", (c) => ({ ...c, sub: decodeJwt(walter.accessToken).payload.sub })],
    ["type JWT", (c) => c, { typ: "JWT" }],
    ["no type", (c) => c, {}],
  ])("refuses a token signed with the server's key but with %s", async (_, claimsOf, header) => {
    await expectProblem(await me(await forge(claimsOf(valid()), header)), 401, "unauthenticated");
  });

  it("refuses an expired token with token_expired", async () => {
    const expired = { ...valid(), iat: now() - 20 * 60, exp: now() - 5 * 60 };
    const res = await me(await forge(expired));
    await expectProblem(res, 401, "token_expired");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token"/);
  });

  it("an issued access token works for 15 minutes and then is token_expired", async () => {
    const session = await loginUser(k, "victor", "victor's password");
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 14 * 60 * 1000 });
    expect((await me(session.accessToken)).status).toBe(200);
    vi.setSystemTime(Date.now() + 2 * 60 * 1000);
    await expectProblem(await me(session.accessToken), 401, "token_expired");
  });

  it("a token issued by another instance (same key, other origin) is refused, both ways", async () => {
    const there = await registerUser(other, "victor", "victor's password");
    expect(decodeJwt(there.accessToken).payload.aud).toBe("http://localhost:8080/api");
    expect((await other.request("/api/v1/me", { headers: bearer(there.accessToken) })).status).toBe(200);
    await expectProblem(await me(there.accessToken), 401, "unauthenticated");
    await expectProblem(
      await other.request("/api/v1/me", { headers: bearer(victor.accessToken) }),
      401,
      "unauthenticated",
    );
  });

  it("on an http origin, the refresh cookie is not Secure (and not __Secure-), and the host name is reserved", async () => {
    const res = await other.request("/api/v1/auth/register", json("POST", { username: "wendy", password: "12345678" }));
    expect(res.status).toBe(201);
    expect(refreshCookie(res, refreshCookieName)).toBeUndefined();
    // Its origin has a port: the cookie's name says which, as cookies themselves ignore ports.
    const cookie = refreshCookie(res, "fedchat_refresh_8080");
    expect(cookie?.attributes).toMatchObject({ httponly: "", samesite: "Strict", path: "/api/v1/auth" });
    expect(cookie?.attributes.secure).toBeUndefined();
    const refreshed = await other.request(
      "/api/v1/auth/refresh",
      json("POST", {}, { cookie: `fedchat_refresh_8080=${cookie?.value}` }),
    );
    expect(refreshed.status).toBe(200);
    await expectProblem(
      await other.request("/api/v1/auth/register", json("POST", { username: "localhost", password: "12345678" })),
      422,
      "validation_failed",
    );
  });

  it("never clears the refresh cookie of another instance on the same host (another port)", async () => {
    // An instance on the same host with no port, or another one: its cookie comes along (the
    // browser sends cookies of the host whatever the port), and a failed refresh here clears
    // only this instance's own.
    const res = await other.request(
      "/api/v1/auth/refresh",
      json("POST", {}, { cookie: "fedchat_refresh=theirs; fedchat_refresh_3000=theirs-too" }),
    );
    expect(res.status).toBe(401);
    const cleared = res.headers.getSetCookie().map((c) => c.split("=")[0]);
    expect(cleared.every((name) => name === "fedchat_refresh_8080")).toBe(true);
  });
});
