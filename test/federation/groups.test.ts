import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roomKeys } from "../../src/db/schema.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";

let t: TestInstance;
let headers: Record<string, string>;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
  const res = await t.request("/api/v1/auth/register", json("POST", { username: "gwen", password: "correct horse" }));
  headers = bearer(((await res.json()) as { accessToken: string }).accessToken);
});
afterAll(async () => t.dispose());

async function room(body: Record<string, unknown>) {
  const res = await t.request("/api/v1/rooms", json("POST", body, headers));
  return (await res.json()) as { id: string; url: string; handle: string };
}

const asActivityPub = { accept: "application/activity+json" };

describe("rooms as ActivityPub Groups", () => {
  it("publishes a public room as a Group with its name, topic and both keys", async () => {
    const r = await room({ name: "Chess <club>", topic: "Openings\n\nand <endgames>", visibility: "public" });
    expect(r.url).toBe(`https://chat.example/rooms/${r.id}`);
    const res = await t.request(`/rooms/${r.id}`, { headers: asActivityPub });
    expect(res.status).toBe(200);
    const group = (await res.json()) as Record<string, unknown>;
    expect(group).toMatchObject({
      id: r.url,
      type: "Group",
      preferredUsername: r.id,
      name: "Chess <club>",
      summary: "<p>Openings</p><p>and &#60;endgames&#62;</p>",
      inbox: `${r.url}/inbox`,
      endpoints: { sharedInbox: "https://chat.example/inbox" },
      publicKey: { id: expect.stringContaining(r.url), publicKeyPem: expect.stringContaining("BEGIN PUBLIC KEY") },
    });
    expect((group.assertionMethod as unknown[]).length).toBe(2);
  });

  it("makes the room's keys once and keeps them", async () => {
    const r = await room({ name: "Keys", visibility: "public" });
    const pem = async () =>
      (
        (await (await t.request(`/rooms/${r.id}`, { headers: asActivityPub })).json()) as {
          publicKey: { publicKeyPem: string };
        }
      ).publicKey.publicKeyPem;
    const [first, second] = await Promise.all([pem(), pem()]);
    expect(second).toBe(first);
    expect(await pem()).toBe(first);
    expect(await t.testDatabase.db.select().from(roomKeys).where(eq(roomKeys.roomId, r.id))).toHaveLength(1);
  });

  it("finds a public room by WebFinger under its handle", async () => {
    const r = await room({ name: "Finger", visibility: "public" });
    expect(r.handle).toBe(`${r.id}@chat.example`);
    const res = await t.request(`/.well-known/webfinger?resource=acct:${r.handle}`);
    expect(res.status).toBe(200);
    const jrd = (await res.json()) as { links: { rel: string; href?: string }[] };
    expect(jrd.links).toContainEqual(expect.objectContaining({ rel: "self", href: r.url }));
  });

  it("publishes no deleted room, and a private one only as a name-less Group WebFinger does not find", async () => {
    const hidden = await room({ name: "Hidden", topic: "secret plans", visibility: "private" });
    const gone = await room({ name: "Gone", visibility: "public" });
    await t.request(`/api/v1/rooms/${gone.id}`, { method: "DELETE", headers });
    expect((await t.request(`/rooms/${gone.id}`, { headers: asActivityPub })).status).toBe(404);
    for (const r of [hidden, gone]) {
      expect((await t.request(`/.well-known/webfinger?resource=acct:${r.handle}`)).status).toBe(404);
    }
    const res = await t.request(`/rooms/${hidden.id}`, { headers: asActivityPub });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain("Hidden");
    expect(text).not.toContain("secret plans");
    expect(JSON.parse(text)).toMatchObject({ type: "Group", name: "Private room", manuallyApprovesFollowers: true });
  });

  it.each(["rooms/conv1", "rooms/..%2Fx", `rooms/${"a".repeat(500)}`])(
    "answers the malformed %s with 404",
    async (path) => {
      expect((await t.request(`/${path}`, { headers: asActivityPub })).status).toBe(404);
    },
  );
});
