/** Registration modes (issue 19, item 3): open, by approval, closed; admins and the command line. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setRole } from "../../src/accounts/admin.ts";
import { runAdminOn } from "../../src/admin.ts";
import { createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { apiClient, type Client, expectProblem } from "./support.ts";

let t: TestInstance;
let admin: Client;
let plain: Client;
const { signUp, call, ok } = apiClient(() => t);

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
  admin = await signUp("keeper");
  plain = await signUp("someone");
  await setRole(t.deps, admin.username, "admin");
});
afterAll(async () => {
  await t?.dispose();
});

const password = "correct horse battery";
const register = (username: string) =>
  t.request("/api/v1/auth/register", json("POST", { username, password, refreshTokenIn: "body" }));
const login = (username: string, secret = password) =>
  t.request("/api/v1/auth/login", json("POST", { username, password: secret, refreshTokenIn: "body" }));
const setMode = async (mode: string) =>
  await ok<{ mode: string }>(await call("PUT", "/admin/registrations", admin, { mode }));
const instance = async () =>
  (await (await t.request("/api/v1/instance")).json()) as { users: number; registrations: string };

describe("registration modes", () => {
  it("are open by default, and closed refuses every sign-up", async () => {
    expect((await instance()).registrations).toBe("open");
    await setMode("closed");
    expect((await instance()).registrations).toBe("closed");
    await expectProblem(await register("too_late"), 403, "registrations_closed");
    await expectProblem(await login("too_late"), 401, "invalid_credentials");
    // Those who have accounts still log in.
    expect((await login(plain.username)).status).toBe(200);
    await setMode("open");
    expect((await register("in_time")).status).toBe(201);
  });

  it("by approval: the account waits, unseen and unable to log in, until an admin lets it in", async () => {
    await setMode("approval");
    const before = (await instance()).users;
    const answer = await register("hopeful");
    expect(answer.status).toBe(202);
    expect(await answer.json()).toEqual({ status: "awaiting_approval" });
    // Only its password learns that it waits; a wrong one learns nothing.
    await expectProblem(await login("hopeful"), 403, "account_pending");
    await expectProblem(await login("hopeful", "not the password"), 401, "invalid_credentials");
    await expectProblem(await call("GET", "/users/hopeful", plain), 404, "user_not_found");
    await expectProblem(await call("POST", "/dms", plain, { users: ["hopeful"] }), 404, "user_not_found");
    expect((await instance()).users).toBe(before);
    // The name is taken meanwhile.
    await expectProblem(await register("hopeful"), 409, "username_taken");

    const listed = await ok<{ mode: string; awaiting: { id: string; username: string; awaitingSince: string }[] }>(
      await call("GET", "/admin/registrations", admin),
    );
    expect(listed.mode).toBe("approval");
    const waiting = listed.awaiting.find((u) => u.username === "hopeful");
    expect(waiting?.awaitingSince).toMatch(/^\d{4}-/);
    await ok(await call("POST", `/admin/registrations/${waiting?.id}/approve`, admin), 204);
    expect((await login("hopeful")).status).toBe(200);
    expect((await instance()).users).toBe(before + 1);
    // Approved is approved: nothing waits under that id any more.
    await expectProblem(
      await call("POST", `/admin/registrations/${waiting?.id}/approve`, admin),
      404,
      "user_not_found",
    );

    // A refused sign-up is deleted, and its name is free again.
    await register("spammer");
    const { awaiting } = await ok<{ awaiting: { id: string; username: string }[] }>(
      await call("GET", "/admin/registrations", admin),
    );
    const spam = awaiting.find((u) => u.username === "spammer");
    await ok(await call("DELETE", `/admin/registrations/${spam?.id}`, admin), 204);
    await expectProblem(await login("spammer"), 401, "invalid_credentials");
    await setMode("open");
    expect((await register("spammer")).status).toBe(201);
  });

  it("are for admins, and validated", async () => {
    await expectProblem(await call("GET", "/admin/registrations", plain), 403, "admin_only");
    await expectProblem(await call("PUT", "/admin/registrations", plain, { mode: "closed" }), 403, "admin_only");
    await expectProblem(await call("PUT", "/admin/registrations", admin, { mode: "invite" }), 422, "validation_failed");
    expect((await instance()).registrations).toBe("open");
  });

  it("are set from the command line, which approves too", async () => {
    const run = async (...args: string[]) => {
      let out = "";
      const status = await runAdminOn(t.deps, args, {
        out: (text) => {
          out += text;
        },
        err: () => {},
      });
      return { status, out };
    };
    expect((await run("registrations", "approval")).out).toContain("Registrations: approval.");
    expect((await register("by_cli")).status).toBe(202);
    expect((await run("registrations")).out).toMatch(/by_cli\twaiting since/);
    expect((await run("users:approve", "by_cli")).status).toBe(0);
    expect((await login("by_cli")).status).toBe(200);
    expect((await run("registrations", "sometimes")).status).toBe(2);
    expect((await run("registrations", "open")).out).toContain("Registrations: open.");
  });
});
