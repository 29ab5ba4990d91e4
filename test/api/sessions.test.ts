import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { decodeJwt, expectProblem, firefoxOnLinux, type LoggedIn, loginUser, registerUser, whoAmI } from "./support.ts";

let t: TestInstance;

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
});
afterAll(async () => {
  await t?.dispose();
});

interface ApiSession {
  id: string;
  deviceLabel: string;
  createdAt: string;
  lastUsedAt: string;
  address: string | null;
  current: boolean;
}

async function listSessions(session: LoggedIn): Promise<ApiSession[]> {
  const res = await t.request("/api/v1/auth/sessions", { headers: bearer(session.accessToken) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { sessions: ApiSession[] }).sessions;
}

const sessionId = (session: LoggedIn) => String(decodeJwt(session.accessToken).payload.sid);

const revoke = (session: LoggedIn, id: string) =>
  t.request(`/api/v1/auth/sessions/${id}`, { method: "DELETE", headers: bearer(session.accessToken) });

const chromeOnAndroid =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

describe("the sessions list", () => {
  it("shows each device with its label, times and address, and marks the current one", async () => {
    const started = Date.now();
    const firefox = await registerUser(t, "alice", undefined, {}, { "user-agent": firefoxOnLinux });
    const phone = await loginUser(t, "alice", undefined, {}, { "user-agent": chromeOnAndroid }, "198.51.100.23");
    const named = await loginUser(
      t,
      "alice",
      undefined,
      { deviceLabel: "Work \u202Elaptop" },
      { "user-agent": firefoxOnLinux },
    );
    const script = await loginUser(t, "alice");
    const curl = await loginUser(t, "alice", undefined, {}, { "user-agent": "curl/8.5.0" });

    const sessions = await listSessions(phone);
    const byId = new Map(sessions.map((s) => [s.id, s]));
    expect(sessions).toHaveLength(5);
    expect(byId.get(sessionId(curl))?.deviceLabel).toBe("curl");
    expect(byId.get(sessionId(firefox))).toMatchObject({ deviceLabel: "Firefox on Linux", address: "203.0.113.10" });
    expect(byId.get(sessionId(phone))).toMatchObject({ deviceLabel: "Chrome on Android", address: "198.51.100.23" });
    expect(byId.get(sessionId(named))?.deviceLabel).toBe("Work laptop");
    expect(byId.get(sessionId(script))?.deviceLabel).toBe("Unknown device");
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([sessionId(phone)]);
    for (const session of sessions) {
      expect(Date.parse(session.createdAt)).toBeGreaterThanOrEqual(started - 5000);
      expect(Date.parse(session.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(session.createdAt));
    }
    const fromScript = await listSessions(script);
    expect(fromScript.filter((s) => s.current).map((s) => s.id)).toEqual([sessionId(script)]);
  });

  it("shows only the user's own sessions", async () => {
    const bob = await registerUser(t, "bob");
    await loginUser(t, "bob");
    const carol = await registerUser(t, "carol");
    expect(await listSessions(bob)).toHaveLength(2);
    expect((await listSessions(carol)).map((s) => s.id)).toEqual([sessionId(carol)]);
  });

  it("requires a session", async () => {
    await expectProblem(await t.request("/api/v1/auth/sessions"), 401, "unauthenticated");
  });
});

describe("revoking sessions", () => {
  it("ends one session: its access and refresh tokens stop working at once", async () => {
    const keep = await registerUser(t, "dave");
    const stolen = await loginUser(t, "dave");
    expect(await whoAmI(t, stolen.accessToken)).toEqual({ status: 200 });
    const res = await revoke(keep, sessionId(stolen));
    expect(res.status).toBe(204);
    expect(await whoAmI(t, stolen.accessToken)).toEqual({ status: 401, code: "unauthenticated" });
    await expectProblem(
      await t.request("/api/v1/auth/refresh", json("POST", { refreshToken: stolen.refreshToken })),
      401,
      "invalid_refresh_token",
    );
    expect((await listSessions(keep)).map((s) => s.id)).toEqual([sessionId(keep)]);
    expect(await whoAmI(t, keep.accessToken)).toEqual({ status: 200 });
    await expectProblem(await revoke(keep, sessionId(stolen)), 404, "session_not_found");
  });

  it("cannot end another user's session, and says it does not exist", async () => {
    const erin = await registerUser(t, "erin");
    const frank = await registerUser(t, "frank");
    await expectProblem(await revoke(erin, sessionId(frank)), 404, "session_not_found");
    expect(await whoAmI(t, frank.accessToken)).toEqual({ status: 200 });
    await expectProblem(await revoke(erin, "not-a-session-id"), 422, "validation_failed");
    await expectProblem(
      await t.request(`/api/v1/auth/sessions/${sessionId(frank)}`, { method: "DELETE" }),
      401,
      "unauthenticated",
    );
    expect(await whoAmI(t, frank.accessToken)).toEqual({ status: 200 });
  });

  it("ends every other session and keeps the current one", async () => {
    const current = await registerUser(t, "grace");
    const others = [await loginUser(t, "grace"), await loginUser(t, "grace"), await loginUser(t, "grace")];
    const bystander = await registerUser(t, "heidi");
    const res = await t.request("/api/v1/auth/sessions", { method: "DELETE", headers: bearer(current.accessToken) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revokedSessions: 3 });
    for (const other of others) {
      expect(await whoAmI(t, other.accessToken)).toEqual({ status: 401, code: "unauthenticated" });
    }
    expect(await whoAmI(t, current.accessToken)).toEqual({ status: 200 });
    expect(await whoAmI(t, bystander.accessToken)).toEqual({ status: 200 });
    const left = await listSessions(current);
    expect(left).toEqual([expect.objectContaining({ id: sessionId(current), current: true })]);
    const again = await t.request("/api/v1/auth/sessions", { method: "DELETE", headers: bearer(current.accessToken) });
    expect(await again.json()).toEqual({ revokedSessions: 0 });
  });
});
