import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { countUsers, expectProblem, peek, registerUser } from "./support.ts";

// The default RATE_LIMIT_FACTOR: the limits as deployed.
let t: TestInstance;

beforeAll(async () => {
  t = await createTestInstance();
});
afterAll(async () => {
  await t?.dispose();
});

const register = (username: string, address: string) =>
  t.request("/api/v1/auth/register", json("POST", { username, password: "correct horse battery" }), address);

const login = (username: string, password: string, address: string) =>
  t.request("/api/v1/auth/login", json("POST", { username, password }), address);

/** A 429 problem with a Retry-After of whole seconds, at most `window`. */
async function expectRateLimited(res: Response, window: number) {
  await expectProblem(res, 429, "rate_limited");
  const retryAfter = res.headers.get("retry-after") ?? "";
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(window);
}

describe("registration", () => {
  it("allows five per address per hour; the sixth is 429 and creates nothing; another address still works", async () => {
    for (let i = 1; i <= 5; i++) {
      const res = await register(`reg_${i}`, "198.51.100.7");
      expect(res.status, await peek(res)).toBe(201);
    }
    const users = await countUsers(t);
    await expectRateLimited(await register("reg_6", "198.51.100.7"), 3600);
    // The same IPv4 address written as IPv4-mapped IPv6 is the same client.
    await expectRateLimited(await register("reg_6", "::ffff:198.51.100.7"), 3600);
    // Without TRUST_PROXY, X-Forwarded-For is the client's own claim and changes nothing.
    const forwarded = json(
      "POST",
      { username: "reg_6", password: "correct horse battery" },
      {
        "x-forwarded-for": "192.0.2.77",
      },
    );
    await expectRateLimited(await t.request("/api/v1/auth/register", forwarded, "198.51.100.7"), 3600);
    expect(await countUsers(t)).toBe(users);
    expect((await register("reg_6", "198.51.100.8")).status).toBe(201);
  });

  it("counts IPv6 addresses by their /64", async () => {
    const sameNetwork = ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9"];
    for (let i = 1; i <= 5; i++) {
      const res = await register(`six_${i}`, sameNetwork[i % 2] ?? "");
      expect(res.status, await peek(res)).toBe(201);
    }
    await expectRateLimited(await register("six_6", "2001:db8:1:2::1"), 3600);
    await expectRateLimited(await register("six_6", "2001:db8:1:2:ffff::9"), 3600);
    await expectRateLimited(await register("six_6", "2001:0db8:0001:0002:0000:0000:0000:0abc"), 3600);
    expect((await register("six_6", "2001:db8:1:3::1")).status).toBe(201);
  });
});

describe("login", () => {
  it("allows ten attempts per username from one address in five minutes, without locking out the owner elsewhere", async () => {
    expect((await register("victim", "192.0.2.200")).status).toBe(201);
    expect((await register("bystander", "192.0.2.201")).status).toBe(201);
    for (let i = 1; i <= 10; i++) {
      await expectProblem(
        await login(i % 2 ? "victim" : "VICTIM", "wrong password", "192.0.2.66"),
        401,
        "invalid_credentials",
      );
    }
    // The guesser's address is held back, and told for how long...
    const held = await login("victim", "correct horse battery", "192.0.2.66");
    const problem = (await held.clone().json()) as { details?: { retryAfter?: number } };
    await expectRateLimited(held, 300);
    expect(problem.details?.retryAfter).toBe(Number(held.headers.get("retry-after")));
    // ...while the owner, from their own address, is not locked out.
    expect((await login("victim", "correct horse battery", "192.0.2.99")).status).toBe(200);
    expect((await login("bystander", "correct horse battery", "192.0.2.66")).status).toBe(200);
  });

  it("lets wrong passwords from many addresses lock nobody out", async () => {
    expect((await register("famous", "192.0.2.210")).status).toBe(201);
    for (let i = 1; i <= 25; i++) {
      await expectProblem(await login("famous", "wrong password", `198.51.100.${i}`), 401, "invalid_credentials");
    }
    expect((await login("famous", "correct horse battery", "192.0.2.210")).status).toBe(200);
  });

  it("allows thirty attempts per address in five minutes; the thirty-first is 429, other addresses are not affected", async () => {
    expect((await register("roamer", "192.0.2.202")).status).toBe(201);
    const attempts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => login(`unknown_${i}`, "wrong password", "203.0.113.50")),
    );
    expect(attempts.map((res) => res.status)).toEqual(Array(30).fill(401));
    await expectRateLimited(await login("roamer", "correct horse battery", "203.0.113.50"), 300);
    expect((await login("roamer", "correct horse battery", "203.0.113.51")).status).toBe(200);
  });
});

describe("password change", () => {
  it("allows ten attempts per user per hour, so a stolen access token cannot guess the password", async () => {
    const session = await registerUser(t, "guessed", "the real password");
    const change = (currentPassword: string) =>
      t.request(
        "/api/v1/auth/password",
        json("POST", { currentPassword, newPassword: "a new password" }, bearer(session.accessToken)),
        "192.0.2.150",
      );
    for (let i = 1; i <= 10; i++) await expectProblem(await change(`guess ${i}`), 401, "invalid_credentials");
    await expectRateLimited(await change("the real password"), 3600);
    expect((await login("guessed", "the real password", "192.0.2.151")).status).toBe(200);
  });
});

describe("profile changes", () => {
  it("allow thirty an hour per user, avatar changes included; the next is 429 and changes nothing", async () => {
    const session = await registerUser(t, "restless", "correct horse battery");
    const headers = bearer(session.accessToken);
    const patch = (color: string) => t.request("/api/v1/me", json("PATCH", { color }, headers), "192.0.2.160");
    for (let i = 0; i < 30; i++) {
      const res = await patch(`#0000${i.toString(16).padStart(2, "0")}`);
      expect(res.status, await peek(res)).toBe(200);
    }
    await expectRateLimited(await patch("#ffffff"), 3600);
    await expectRateLimited(await t.request("/api/v1/me/avatar", { method: "DELETE", headers }, "192.0.2.161"), 3600);
    const me = await t.request("/api/v1/me", { headers });
    expect(((await me.json()) as { color: string }).color).toBe("#00001d");
    // Someone else's limit is their own.
    const other = await registerUser(t, "calm", "correct horse battery");
    const res = await t.request("/api/v1/me", json("PATCH", { color: "#ffffff" }, bearer(other.accessToken)));
    expect(res.status, await peek(res)).toBe(200);
  });
});
