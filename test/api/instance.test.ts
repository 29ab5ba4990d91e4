/** GET /api/v1/instance: what anyone may know of the server before signing in. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { registerUser } from "./support.ts";

let t: TestInstance;

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100", INSTANCE_NAME: "Test Town" });
});
afterAll(async () => {
  await t?.dispose();
});

const instance = async () => {
  const res = await t.request("/api/v1/instance");
  expect(res.status).toBe(200);
  return (await res.json()) as { name: string; users: number; registrations: string };
};

describe("the instance", () => {
  it("says its name, that sign-up is open, and how many accounts it has, without a session", async () => {
    expect(await instance()).toEqual({ name: "Test Town", users: 0, registrations: "open" });
    const first = await registerUser(t, "first_one");
    expect((await instance()).users).toBe(1);
    // A bot is not an account of a person.
    const bot = await t.request(
      "/api/v1/bots",
      json("POST", { username: "first_bot", displayName: "First bot" }, bearer(first.accessToken)),
    );
    expect(bot.status).toBe(201);
    expect((await instance()).users).toBe(1);
  });
});
