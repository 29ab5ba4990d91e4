/** Access rules by address (issue 19, item 3): CIDR allow and deny lists, IPv4 and IPv6. */
import { count, eq } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listAccessRules, normalizeCidr, removeAccessRule } from "../../src/access/rules.ts";
import { setRole } from "../../src/accounts/admin.ts";
import { runAdminOn } from "../../src/admin.ts";
import { accessRules, users } from "../../src/db/schema.ts";
import { createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { apiClient, type Client, expectProblem } from "./support.ts";

let t: TestInstance;
let admin: Client;
let plain: Client;
const { signUp, call, ok } = apiClient(() => t);

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
  admin = await signUp("warden");
  plain = await signUp("plain");
  await setRole(t.deps, admin.username, "admin");
});
afterAll(async () => {
  await t?.dispose();
});
afterEach(async () => {
  // Through the domain, so this process forgets them at once.
  for (const rule of await listAccessRules(t.deps)) await removeAccessRule(t.deps, rule.id);
});

const rule = (body: Record<string, unknown>) => call("POST", "/admin/access-rules", admin, body);
const register = (username: string, address: string) =>
  t.request(
    "/api/v1/auth/register",
    json("POST", { username, password: "correct horse battery", refreshTokenIn: "body" }),
    address,
  );
const login = (username: string, address: string) =>
  t.request(
    "/api/v1/auth/login",
    json("POST", { username, password: "correct horse battery", refreshTokenIn: "body" }),
    address,
  );
const usersNamed = async (username: string) =>
  (await t.deps.db.select({ n: count() }).from(users).where(eq(users.username, username)))[0]?.n;

describe("access rules by address", () => {
  it("refuses sign-up from a denied IPv4 network, and no other network", async () => {
    await ok(await rule({ cidr: "127.0.0.2/32", action: "deny", scope: "signup" }), 201);
    await expectProblem(await register("from_two", "127.0.0.2"), 403, "address_denied");
    expect(await usersNamed("from_two")).toBe(0);
    // The same address written as IPv4-mapped IPv6 is the same network.
    await expectProblem(await register("from_two", "::ffff:127.0.0.2"), 403, "address_denied");
    expect((await register("from_one", "127.0.0.1")).status).toBe(201);
    // Sign-up only: the denied address still logs in.
    expect((await login("from_one", "127.0.0.2")).status).toBe(200);
  });

  it("refuses login from a denied IPv6 network, by its prefix", async () => {
    await ok(await rule({ cidr: "2001:db8::/32", action: "deny", scope: "login" }), 201);
    await expectProblem(await login(plain.username, "2001:db8:1234::5"), 403, "address_denied");
    expect((await login(plain.username, "2001:db9::5")).status).toBe(200);
    expect((await login(plain.username, "127.0.0.1")).status).toBe(200);
  });

  it("admits only the allowed networks to the API once there is an allow rule, its admins included", async () => {
    await ok(await rule({ cidr: "10.0.0.0/8", action: "allow", scope: "api" }), 201);
    // The admin's own address is outside it now: admins too are held to the rules.
    await expectProblem(await rule({ cidr: "fd00::/8", action: "allow", scope: "api" }), 403, "address_denied");
    await ok(await call("POST", "/admin/access-rules", admin, { cidr: "fd00::/8", action: "allow" }, "10.1.1.1"), 201);
    await expectProblem(await call("GET", "/me", plain, undefined, "192.0.2.1"), 403, "address_denied");
    await expectProblem(await call("GET", "/me", plain, undefined, "2001:db8::1"), 403, "address_denied");
    await expectProblem(await login(plain.username, "192.0.2.1"), 403, "address_denied");
    expect((await call("GET", "/me", plain, undefined, "10.20.30.40")).status).toBe(200);
    expect((await call("GET", "/me", plain, undefined, "fd12:3456::1")).status).toBe(200);
    // A deny inside an allowed network wins.
    await ok(
      await call("POST", "/admin/access-rules", admin, { cidr: "10.9.0.0/16", action: "deny" }, "10.1.1.1"),
      201,
    );
    await expectProblem(await call("GET", "/me", plain, undefined, "10.9.8.7"), 403, "address_denied");
    // A rule for all of IPv6 is for IPv6 alone: IPv4 clients are not caught by its mapped range.
    await ok(await call("POST", "/admin/access-rules", admin, { cidr: "::/0", action: "deny" }, "10.1.1.1"), 201);
    await expectProblem(await call("GET", "/me", plain, undefined, "fd12:3456::1"), 403, "address_denied");
    expect((await call("GET", "/me", plain, undefined, "10.20.30.40")).status).toBe(200);
    expect((await call("GET", "/me", plain, undefined, "::ffff:10.20.30.40")).status).toBe(200);
    // Only the API: pages and health checks still answer.
    expect((await t.request("/healthz", {}, "192.0.2.1")).status).toBe(200);
  });

  it("holds a rule another process added within two seconds", async () => {
    // This process has read the rules (none) just now.
    expect((await call("GET", "/me", plain, undefined, "198.51.100.7")).status).toBe(200);
    // Written straight to the table, as the command line or another server process does.
    await t.deps.db
      .insert(accessRules)
      .values({ id: uuidv7(), cidr: "198.51.100.0/24", action: "deny", scope: "api", note: "elsewhere" });
    let status = 0;
    for (let i = 0; i < 40 && status !== 403; i++) {
      status = (await call("GET", "/me", plain, undefined, "198.51.100.7")).status;
      if (status !== 403) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(403);
  });

  it("is for admins, validates the network, and keeps it normalised", async () => {
    await expectProblem(await call("GET", "/admin/access-rules", plain), 403, "admin_only");
    await expectProblem(
      await call("POST", "/admin/access-rules", plain, { cidr: "10.0.0.0/8", action: "deny" }),
      403,
      "admin_only",
    );
    for (const cidr of [
      "10.0.0.0/33",
      "10.0.0/8",
      "2001:db8::/129",
      "example.com",
      "10.0.0.0/8/8",
      "fe80::1%eth0",
      " ",
    ]) {
      await expectProblem(await rule({ cidr, action: "deny" }), 422, "validation_failed");
    }
    await expectProblem(await rule({ cidr: "10.0.0.0/8", action: "block" }), 422, "validation_failed");
    await expectProblem(
      await rule({ cidr: "10.0.0.0/8", action: "deny", scope: "everything" }),
      422,
      "validation_failed",
    );
    const made = await ok<{ id: string; cidr: string; scope: string }>(
      await rule({ cidr: "198.18.7.77/15", action: "deny", note: "spam wave" }),
      201,
    );
    expect(made).toMatchObject({ cidr: "198.18.0.0/15", scope: "api" });
    // The same rule again is the one there already.
    const again = await ok<{ id: string }>(await rule({ cidr: "198.18.0.0/15", action: "deny" }), 201);
    expect(again.id).toBe(made.id);
    await expectProblem(await call("DELETE", `/admin/access-rules/${uuidv7()}`, admin), 404, "not_found");
    expect(normalizeCidr("2001:DB8:0:0::1/32")).toBe("2001:db8::/32");
    expect(normalizeCidr("::1")).toBe("::1/128");
    expect(normalizeCidr("::ffff:192.0.2.1/128")).toBe("192.0.2.1/32");
    expect(normalizeCidr("::ffff:192.0.2.0/120")).toBe("192.0.2.0/24");
    expect(normalizeCidr("192.0.2.1")).toBe("192.0.2.1/32");
    expect(normalizeCidr("0.0.0.0/0")).toBe("0.0.0.0/0");
    expect(normalizeCidr("::/0")).toBe("::/0");
  });

  it("is edited from the command line too", async () => {
    const run = async (...args: string[]) => {
      let out = "";
      let err = "";
      const status = await runAdminOn(t.deps, args, {
        out: (text) => {
          out += text;
        },
        err: (text) => {
          err += text;
        },
      });
      return { status, out, err };
    };
    const denied = await run("access:deny", "192.0.2.0/24", "--scope", "signup", "--note", "abuse");
    expect(denied.status, denied.err).toBe(0);
    expect(denied.out).toMatch(/^Denied 192\.0\.2\.0\/24 \(signup\): rule [0-9a-f-]{36}\.\n$/);
    const listed = await run("access:list", "--json");
    const rules = JSON.parse(listed.out) as { id: string; cidr: string; scope: string; note: string }[];
    expect(rules).toMatchObject([{ cidr: "192.0.2.0/24", scope: "signup", note: "abuse" }]);
    await expectProblem(await register("cli_denied", "192.0.2.9"), 403, "address_denied");
    expect((await run("access:deny", "192.0.2.0/24", "--scope", "everything")).status).toBe(2);
    expect((await run("access:deny", "not-a-network")).status).not.toBe(0);
    expect((await run("access:remove", rules[0]?.id ?? "")).status).toBe(0);
    expect((await register("cli_denied", "192.0.2.9")).status).toBe(201);
  });
});
