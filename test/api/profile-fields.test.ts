import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events } from "../../src/db/schema.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { type PageServer, startPageServer } from "../helpers/pages.ts";
import { type ApiUser, expectProblem, type LoggedIn, registerUser } from "./support.ts";

let t: TestInstance;
let pages: PageServer;
let alice: LoggedIn;

beforeAll(async () => {
  pages = await startPageServer();
  // The page server is on loopback: let the bounded fetcher reach it, as the previews tests do.
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100", FEDERATION_ALLOW_PRIVATE_ADDRESS: "true" });
  alice = await registerUser(t, "alice", undefined, { displayName: "Alice" });
});
afterAll(async () => {
  await t?.dispose();
  await pages?.close();
});

const patchFields = (fields: unknown) => t.request("/api/v1/me", json("PATCH", { fields }, bearer(alice.accessToken)));

async function me(): Promise<ApiUser> {
  const res = await t.request("/api/v1/me", { headers: bearer(alice.accessToken) });
  expect(res.status).toBe(200);
  return (await res.json()) as ApiUser;
}

const profileUrl = () => `${t.deps.config.origin}/users/alice`;
const page = (path: string, to: string) => `${pages.origin}${path}?to=${encodeURIComponent(to)}`;

describe("profile fields", () => {
  it("starts with none, and sets up to four labels and values in order", async () => {
    expect((await me()).fields).toEqual([]);
    const res = await patchFields([
      { name: "Pronouns", value: "she/her" },
      { name: "  Site ", value: " https://example.com/alice " },
    ]);
    expect(res.status).toBe(200);
    const body = (await res.json()) as ApiUser;
    expect(body.fields).toEqual([
      { name: "Pronouns", value: "she/her", verifiedAt: null },
      { name: "Site", value: "https://example.com/alice", verifiedAt: null },
    ]);
    // Anyone sees them on the public profile.
    const other = await t.request("/api/v1/users/alice");
    expect(((await other.json()) as ApiUser).fields.map((f) => f.name)).toEqual(["Pronouns", "Site"]);
  });

  it("refuses more than four, empty or overlong labels and values, and non-text", async () => {
    const field = { name: "a", value: "b" };
    for (const fields of [
      [field, field, field, field, field],
      [{ name: "", value: "b" }],
      [{ name: "a", value: "\u200b " }],
      [{ name: "x".repeat(256), value: "b" }],
      [{ name: "a", value: "y".repeat(256) }],
      [{ name: "a" }],
      [{ name: 1, value: "b" }],
      "not a list",
    ]) {
      await expectProblem(await patchFields(fields), 422, "validation_failed");
    }
    expect((await me()).fields).toHaveLength(2);
    expect((await patchFields([field, field, field, field])).status).toBe(200);
    expect((await me()).fields).toHaveLength(4);
  });

  it("tells who sees the user once per real change, and an empty list clears them", async () => {
    const count = async () => (await t.deps.db.select().from(events).where(eq(events.type, "profile.updated"))).length;
    const fields = [{ name: "Pronouns", value: "they/them" }];
    expect((await patchFields(fields)).status).toBe(200);
    const after = await count();
    // The same fields again: no event, no Update{Person}.
    expect((await patchFields(fields)).status).toBe(200);
    expect(await count()).toBe(after);
    expect((await patchFields([])).status).toBe(200);
    expect(await count()).toBe(after + 1);
    expect((await me()).fields).toEqual([]);
  });

  it("verifies a link whose page links back with rel=me, through the bounded fetcher", async () => {
    const res = await patchFields([
      { name: "Home", value: page("/me", profileUrl()) },
      { name: "Head", value: page("/me-link", profileUrl()) },
      { name: "Plain", value: page("/not-me", profileUrl()) },
      { name: "Elsewhere", value: page("/me", `${t.deps.config.origin}/users/bob`) },
    ]);
    expect(res.status).toBe(200);
    // The answer comes before the pages are fetched.
    await t.deps.profileLinks.settled();
    const fields = (await me()).fields;
    expect(fields.map((f) => [f.name, f.verifiedAt != null])).toEqual([
      ["Home", true],
      ["Head", true],
      ["Plain", false],
      ["Elsewhere", false],
    ]);
    // Reordered and relabelled, a verified link stays verified and is not fetched again.
    const hits = pages.hits.get(`/me?to=${encodeURIComponent(profileUrl())}`);
    expect(
      (
        await patchFields([
          { name: "Website", value: page("/me", profileUrl()) },
          { name: "Plain", value: page("/not-me", profileUrl()) },
        ])
      ).status,
    ).toBe(200);
    await t.deps.profileLinks.settled();
    const again = (await me()).fields;
    expect(again.map((f) => [f.name, f.verifiedAt != null])).toEqual([
      ["Website", true],
      ["Plain", false],
    ]);
    expect(pages.hits.get(`/me?to=${encodeURIComponent(profileUrl())}`)).toBe(hits);
  });

  it("leaves unverified a link that cannot be fetched or is not a page, and still answers", async () => {
    const res = await patchFields([
      { name: "Gone", value: `${pages.origin}/nothing-here` },
      { name: "File", value: `${pages.origin}/file` },
      { name: "Mail", value: "mailto:alice@example.com" },
    ]);
    expect(res.status).toBe(200);
    await t.deps.profileLinks.settled();
    expect((await me()).fields.every((f) => f.verifiedAt == null)).toBe(true);
  });
});
