import { type Algorithm, hash, verify } from "@node-rs/argon2";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import {
  countUsers,
  decodeJwt,
  expectProblem,
  firefoxOnLinux,
  loginUser,
  peek,
  refreshCookie,
  refreshCookieName,
  registerUser,
  rows,
  type TokensBody,
} from "./support.ts";

// argon2's verify, counted: a login with an unknown username must verify a password as well.
vi.mock("@node-rs/argon2", async (original) => {
  const real = await original<typeof import("@node-rs/argon2")>();
  return { ...real, verify: vi.fn(real.verify) };
});

let t: TestInstance;

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
});
afterAll(async () => {
  await t?.dispose();
});

const register = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  t.request("/api/v1/auth/register", json("POST", body, headers));

const login = (username: string, password: string) =>
  t.request("/api/v1/auth/login", json("POST", { username, password, refreshTokenIn: "body" }));

/** Registration with this body is refused with `code`, and no account appears. */
async function expectRefused(body: Record<string, unknown>, status: number, code: string) {
  const before = await countUsers(t);
  const problem = await expectProblem(await register(body), status, code);
  expect(await countUsers(t)).toBe(before);
  return problem;
}

const thirtyDays = 30 * 24 * 60 * 60;

describe("registration", () => {
  it("creates the account and its first session: 201, a 15-minute access token and a refresh cookie", async () => {
    const res = await register(
      { username: "alice", password: "correct horse battery" },
      { "user-agent": firefoxOnLinux },
    );
    expect(res.status, await peek(res)).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as TokensBody;
    expect(body.user).toMatchObject({
      username: "alice",
      handle: "alice@chat.example",
      displayName: "alice",
      bio: "",
      color: null,
      avatarUrl: null,
      url: "https://chat.example/users/alice",
    });
    expect(body.expiresIn).toBe(900);
    expect(body.refreshToken).toBeUndefined();

    const { header, payload } = decodeJwt(body.accessToken);
    expect(header).toMatchObject({ alg: "EdDSA", typ: "at+jwt" });
    expect(payload).toMatchObject({ iss: "https://chat.example", aud: "https://chat.example/api", sub: body.user.id });
    expect(payload.sid).toEqual(expect.any(String));
    expect(payload.jti).toEqual(expect.any(String));
    expect(Number(payload.exp) - Number(payload.iat)).toBe(900);

    const cookie = refreshCookie(res);
    expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{43,}$/); // at least 256 bits
    expect(cookie?.attributes).toMatchObject({ httponly: "", secure: "", samesite: "Strict", path: "/api/v1/auth" });
    const maxAge = Number(cookie?.attributes["max-age"]);
    expect(maxAge).toBeGreaterThan(thirtyDays - 60);
    expect(maxAge).toBeLessThanOrEqual(thirtyDays);

    const me = await t.request("/api/v1/me", { headers: bearer(body.accessToken) });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { id: string }).id).toBe(body.user.id);
  });

  it("delivers the refresh token in the body, and sets no cookie, when asked", async () => {
    const res = await register({ username: "bodyclient", password: "correct horse battery", refreshTokenIn: "body" });
    expect(res.status).toBe(201);
    const body = (await res.json()) as TokensBody;
    expect(body.refreshToken).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(refreshCookie(res, refreshCookieName)).toBeUndefined();
  });

  it("stores the username lowercased, and refuses the same name in another case as username_taken", async () => {
    const { user } = await registerUser(t, "Carol_1", "carol's password");
    expect(user.username).toBe("carol_1");
    for (const username of ["carol_1", "CAROL_1", "cArOl_1"]) {
      await expectRefused({ username, password: "an intruder's password" }, 409, "username_taken");
    }
    expect((await login("carol_1", "an intruder's password")).status).toBe(401);
    expect((await login("carol_1", "carol's password")).status).toBe(200);
  });

  it("lets exactly one of several simultaneous registrations of a name succeed", async () => {
    const before = await countUsers(t);
    const results = await Promise.all(
      ["racer", "Racer", "RACER"].map((username) => register({ username, password: `${username}'s password` })),
    );
    const statuses = results.map((res) => res.status).sort();
    expect(statuses).toEqual([201, 409, 409]);
    for (const res of results.filter((r) => r.status === 409)) await expectProblem(res, 409, "username_taken");
    expect(await countUsers(t)).toBe(before + 1);
  });

  it("accepts usernames of 3 and of 32 characters of a-z, 0-9 and _", async () => {
    await registerUser(t, "a_1");
    await registerUser(t, `z${"9".repeat(30)}_`);
  });

  it.each([
    ["too short", "ab"],
    ["too long", "a".repeat(33)],
    ["with a dash", "al-ice"],
    ["with a space", "al ice"],
    ["with a dot", "al.ice"],
    ["with a letter outside a-z", "ålice"],
    ["with a Kelvin sign that lowercases to k", "\u212Aelvin"],
    ["with a trailing newline", "alice2\n"],
    ["empty", ""],
  ])("refuses a username %s with validation_failed and creates nothing", async (_, username) => {
    const problem = await expectRefused({ username, password: "correct horse battery" }, 422, "validation_failed");
    expect(problem.details).toContainEqual(expect.objectContaining({ path: "username" }));
  });

  it.each(["admin", "Admin", "root", "actor", "users", "api", "chat.example"])(
    "refuses the reserved name %s with validation_failed and creates nothing",
    async (username) => {
      const problem = await expectRefused({ username, password: "correct horse battery" }, 422, "validation_failed");
      expect(problem.details).toContainEqual(expect.objectContaining({ path: "username" }));
      expect((await login(username, "correct horse battery")).status).toBe(401);
    },
  );

  it("refuses passwords of 7 and of 257 characters, and accepts 8 and 256", async () => {
    for (const password of ["1234567", "x".repeat(257)]) {
      const problem = await expectRefused({ username: "dave", password }, 422, "validation_failed");
      expect(problem.details).toContainEqual(expect.objectContaining({ path: "password" }));
    }
    expect((await login("dave", "1234567")).status).toBe(401);
    await registerUser(t, "dave", "12345678");
    await registerUser(t, "dave_long", "y".repeat(256));
    expect((await login("dave_long", "y".repeat(256))).status).toBe(200);
  });

  it("refuses a display name of 10,000 characters", async () => {
    const problem = await expectRefused(
      { username: "erin", password: "correct horse battery", displayName: "E".repeat(10_000) },
      422,
      "validation_failed",
    );
    expect(problem.details).toContainEqual(expect.objectContaining({ path: "displayName" }));
  });

  it("counts a display name's length in code points: 64 emoji are accepted, 65 are not", async () => {
    await expectRefused(
      { username: "emoji65", password: "correct horse battery", displayName: "😀".repeat(65) },
      422,
      "validation_failed",
    );
    const { user } = await registerUser(t, "emoji64", undefined, { displayName: "😀".repeat(64) });
    expect(user.displayName).toBe("😀".repeat(64));
  });

  it("refuses a display name made only of bidi overrides and zero-width characters", async () => {
    const problem = await expectRefused(
      {
        username: "frank",
        password: "correct horse battery",
        displayName: "\u202E\u200B\u200D\u200C\u2066\u2069\uFEFF",
      },
      422,
      "validation_failed",
    );
    expect(problem.details).toContainEqual(expect.objectContaining({ path: "displayName" }));
  });

  it("removes bidi overrides, zero-width runs and control characters from a display name, keeping emoji joiners", async () => {
    const { user, accessToken } = await registerUser(t, "grace", undefined, {
      displayName: "\u202EGrace\u200B\u200B Hopper\u200D\u200D\u200C \u2066👩\u200D💻\u2069\u0007",
    });
    expect(user.displayName).toBe("Grace Hopper 👩\u200D💻");
    const me = (await (await t.request("/api/v1/me", { headers: bearer(accessToken) })).json()) as {
      displayName: string;
    };
    expect(me.displayName).toBe("Grace Hopper 👩\u200D💻");
    const [row] = await rows<{ display_name: string }>(t, sql`select display_name from users where username = 'grace'`);
    expect(row?.display_name).toBe("Grace Hopper 👩\u200D💻");
  });

  it("answers a body that is not JSON with unsupported_media_type or malformed_json", async () => {
    const before = await countUsers(t);
    await expectProblem(
      await t.request("/api/v1/auth/register", { method: "POST", body: "username=heidi&password=12345678" }),
      415,
      "unsupported_media_type",
    );
    await expectProblem(
      await t.request("/api/v1/auth/register", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"username": "heidi",',
      }),
      400,
      "malformed_json",
    );
    expect(await countUsers(t)).toBe(before);
  });
});

describe("password storage", () => {
  it("stores an argon2id PHC string with m >= 19456, t >= 2, p = 1", async () => {
    await registerUser(t, "ivan", "ivan's password");
    const [row] = await rows<{ password_hash: string }>(
      t,
      sql`select password_hash from users where username = 'ivan'`,
    );
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(
      row?.password_hash ?? "",
    );
    expect(match, row?.password_hash).not.toBeNull();
    const [, m, tCost, p] = (match ?? []).map(Number);
    expect(m).toBeGreaterThanOrEqual(19_456);
    expect(tCost).toBeGreaterThanOrEqual(2);
    expect(p).toBe(1);
  });

  it("rehashes a password stored with weaker parameters at the next login", async () => {
    await registerUser(t, "judy", "judy's password");
    const weak = await hash("judy's password", { algorithm: 2 as Algorithm.Argon2id, memoryCost: 4096, timeCost: 1 });
    await t.database.db.execute(sql`update users set password_hash = ${weak} where username = 'judy'`);
    await loginUser(t, "judy", "judy's password");
    const [row] = await rows<{ password_hash: string }>(
      t,
      sql`select password_hash from users where username = 'judy'`,
    );
    expect(row?.password_hash).not.toBe(weak);
    expect(row?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await loginUser(t, "judy", "judy's password");
  });

  it("answers an unknown username exactly like a wrong password, after the same argon2 work", async () => {
    await registerUser(t, "kim", "kim's password");
    const verifications = vi.mocked(verify);
    const attempt = async (username: string) => {
      const before = verifications.mock.calls.length;
      const res = await login(username, "a wrong password");
      const { title, status, detail, code } = (await res.json()) as Record<string, unknown>;
      return {
        answer: { httpStatus: res.status, title, status, detail, code },
        verified: verifications.mock.calls.length - before,
      };
    };
    for (let i = 0; i < 3; i++) {
      const a = await attempt("kim");
      const b = await attempt(`nobody_${i}`);
      expect(b).toEqual(a);
      expect(a).toMatchObject({ answer: { httpStatus: 401, code: "invalid_credentials" }, verified: 1 });
    }
    // The unknown username's check is against a real argon2id hash with today's parameters.
    const [phc] = verifications.mock.calls.at(-1) ?? [];
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it("keeps no plaintext password, refresh token or access token anywhere in the database", async () => {
    const password = "Zebra-Quartz-7741-plaintext";
    const registered = await registerUser(t, "leak_check", password);
    const again = await loginUser(t, "leak_check", password);
    const refreshed = await t.request("/api/v1/auth/refresh", json("POST", { refreshToken: again.refreshToken }));
    expect(refreshed.status).toBe(200);
    const rotated = (await refreshed.json()) as TokensBody;
    const secrets = {
      password,
      registrationRefreshToken: registered.refreshToken,
      registrationAccessToken: registered.accessToken,
      loginRefreshToken: again.refreshToken,
      rotatedRefreshToken: rotated.refreshToken ?? "",
      rotatedAccessToken: rotated.accessToken,
    };
    for (const value of Object.values(secrets)) expect(value.length).toBeGreaterThan(20);

    const tables = await rows<{ schemaname: string; tablename: string }>(
      t,
      sql`select schemaname, tablename from pg_tables
          where schemaname not in ('pg_catalog', 'information_schema') order by 1, 2`,
    );
    expect(tables.map((r) => r.tablename)).toEqual(expect.arrayContaining(["users", "sessions", "refresh_tokens"]));
    let dump = "";
    for (const { schemaname, tablename } of tables) {
      const table = sql.raw(`"${schemaname}"."${tablename}"`);
      const found = await rows<{ row: string }>(t, sql`select row_to_json(t)::text as row from ${table} t`);
      dump += `${found.map((r) => r.row).join("\n")}\n`;
    }
    // The dump is not empty: it holds the user and the refresh tokens' rows.
    expect(dump).toContain('"username":"leak_check"');
    const [tokens] = await rows<{ n: number }>(t, sql`select count(*)::int as n from refresh_tokens`);
    expect(Number(tokens?.n)).toBeGreaterThanOrEqual(3);
    for (const [what, value] of Object.entries(secrets)) {
      expect(dump.includes(value), `${what} is in the database`).toBe(false);
    }
  });
});

describe("the OpenAPI document", () => {
  interface OpenApi {
    openapi: string;
    paths: Record<string, Record<string, { requestBody?: unknown; security?: unknown; responses: object }>>;
  }

  it("is OpenAPI 3.1.0 and describes every /api/v1 and /media route", async () => {
    const res = await t.request("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const doc = (await res.json()) as OpenApi;
    expect(doc.openapi).toBe("3.1.0");
    const routes = new Set(
      t.app.routes
        .filter((r) => r.method !== "ALL" && /^\/(api\/v1|media)\//.test(r.path) && r.path !== "/api/v1/openapi.json")
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`),
    );
    expect(routes.size).toBeGreaterThanOrEqual(14);
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m} ${path}`)),
    );
    expect([...routes].filter((route) => !documented.has(route))).toEqual([]);
    expect(doc.paths["/api/v1/me"]?.get?.security).toEqual([{ bearer: [] }]);
    const operationIds = Object.values(doc.paths).flatMap((operations) =>
      Object.values(operations).map((operation) => (operation as { operationId?: string }).operationId),
    );
    expect(new Set(operationIds).size).toBe(operationIds.length);
  });

  it("documents the registration body from the same schema that validates it", async () => {
    const doc = (await (await t.request("/api/v1/openapi.json")).json()) as OpenApi;
    const body = doc.paths["/api/v1/auth/register"]?.post?.requestBody as {
      content: Record<string, { schema: { required: string[]; properties: Record<string, Record<string, unknown>> } }>;
    };
    const schema = body.content["application/json"]?.schema;
    expect(schema?.required).toEqual(expect.arrayContaining(["username", "password"]));
    const pattern = new RegExp(String(schema?.properties.username?.pattern));
    expect(["alice", "a_1", "Z".repeat(32)].every((u) => pattern.test(u))).toBe(true);
    expect(["ab", "a".repeat(33), "al-ice", "al.ice"].some((u) => pattern.test(u))).toBe(false);
    expect(schema?.properties.password).toMatchObject({ minLength: 8, maxLength: 256 });
    const responses = doc.paths["/api/v1/auth/register"]?.post?.responses as Record<string, { description: string }>;
    expect(responses["201"]).toBeDefined();
    expect(responses["409"]?.description).toContain("username_taken");
  });
});
