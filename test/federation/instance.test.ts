import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInstance, type Instance } from "../../federation/instance.ts";
import { loadConfig } from "../../src/config.ts";
import { serverKeys } from "../../src/db/schema.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testSecrets } from "../helpers/secrets.ts";

let database: TestDatabase;
let instance: Instance;
const origin = "https://chat.example";

beforeAll(async () => {
  database = await createTestDatabase();
  instance = await createInstance(loadConfig({ ORIGIN: origin, QUEUE_WORKERS: "0" }), {
    database,
    secrets: testSecrets(),
  });
});
afterAll(async () => {
  await instance.close();
  await database.close();
});

const get = (path: string, accept = "application/activity+json") =>
  instance.app.request(new URL(path, origin), { headers: { accept } });

describe("the assembled instance", () => {
  it("is ready once the database is migrated", async () => {
    const res = await get("/readyz", "application/json");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: "ready",
      checks: { shutdown: "ok", database: "ok", migrations: "ok" },
    });
  });

  it("serves NodeInfo 2.1, discoverable from /.well-known/nodeinfo", async () => {
    const wellKnown = await get("/.well-known/nodeinfo", "application/json");
    expect(wellKnown.status).toBe(200);
    const links = (await wellKnown.json()) as { links: { rel: string; href: string }[] };
    expect(links.links).toContainEqual({
      rel: "http://nodeinfo.diaspora.software/ns/schema/2.1",
      href: `${origin}/nodeinfo/2.1`,
      type: expect.stringMatching(/^application\/json/),
    });
    const res = await get("/nodeinfo/2.1", "application/json");
    expect(res.status).toBe(200);
    const info = (await res.json()) as Record<string, unknown>;
    expect(info).toMatchObject({
      version: "2.1",
      software: { name: "fedchat", version: expect.stringMatching(/^\d+\.\d+\.\d+/) },
      protocols: ["activitypub"],
      openRegistrations: true,
      usage: { users: { total: 0 } },
    });
  });

  it("serves the instance actor with an RSA key and an Ed25519 multikey", async () => {
    const res = await get("/actor");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/activity\+json/);
    const actor = (await res.json()) as Record<string, unknown>;
    expect(actor).toMatchObject({
      id: `${origin}/actor`,
      type: "Application",
      preferredUsername: "chat.example",
      inbox: `${origin}/actor/inbox`,
      endpoints: { sharedInbox: `${origin}/inbox` },
      publicKey: { owner: `${origin}/actor`, publicKeyPem: expect.stringContaining("BEGIN PUBLIC KEY") },
    });
    const methods = actor.assertionMethod as { type: string; publicKeyMultibase: string }[];
    expect(methods.map((m) => m.publicKeyMultibase[0])).toEqual(["z", "z"]);
  });

  it("keeps the instance keys in the database, one pair per purpose", async () => {
    const first = (await (await get("/actor")).json()) as { publicKey: { publicKeyPem: string } };
    const second = (await (await get("/actor")).json()) as { publicKey: { publicKeyPem: string } };
    expect(second.publicKey.publicKeyPem).toBe(first.publicKey.publicKeyPem);
    const rows = await database.db.select({ purpose: serverKeys.purpose }).from(serverKeys);
    expect(rows.map((r) => r.purpose).sort()).toEqual(["instance:ed25519", "instance:rsa"]);
  });

  it("finds the instance actor by WebFinger", async () => {
    const res = await get("/.well-known/webfinger?resource=acct:chat.example@chat.example", "application/jrd+json");
    expect(res.status).toBe(200);
    const jrd = (await res.json()) as { subject: string; links: { rel: string; href?: string }[] };
    expect(jrd.subject).toBe("acct:chat.example@chat.example");
    expect(jrd.links).toContainEqual(
      expect.objectContaining({ rel: "self", href: `${origin}/actor`, type: "application/activity+json" }),
    );
  });

  it("answers unknown actors and unknown WebFinger accounts with not_found problems", async () => {
    const actor = await get("/users/nobody");
    expect(actor.status).toBe(404);
    expect((await actor.json()) as object).toMatchObject({ code: "not_found" });
    const finger = await get("/.well-known/webfinger?resource=acct:nobody@chat.example", "application/jrd+json");
    expect(finger.status).toBe(404);
    expect(finger.headers.get("content-type")).toBe("application/problem+json");
  });

  it("gives a browser asking for an unknown page a not_found problem, not a 406", async () => {
    const res = await get("/somewhere", "text/html,application/xhtml+xml");
    expect(res.status).toBe(404);
    expect((await res.json()) as object).toMatchObject({ code: "not_found" });
  });

  it("refuses a malformed delivery to an inbox with a coded problem and queues nothing", async () => {
    const post = (path: string, body: string, type = "application/activity+json") =>
      instance.app.request(new URL(path, origin), { method: "POST", headers: { "content-type": type }, body });
    const malformed = await post("/inbox", '{"type": "Create",');
    expect(malformed.status).toBe(400);
    expect((await malformed.json()) as object).toMatchObject({ code: "malformed_json" });
    const notUtf8 = await instance.app.request(new URL("/actor/inbox", origin), {
      method: "POST",
      headers: { "content-type": "application/activity+json" },
      body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    });
    expect(notUtf8.status).toBe(400);
    const wrongType = await post("/inbox", "{}", "text/plain");
    expect(wrongType.status).toBe(415);
    const unsigned = await post(
      "/inbox",
      JSON.stringify({
        "@context": "https://www.w3.org/ns/activitystreams",
        id: "https://elsewhere.example/activities/1",
        type: "Follow",
        actor: "https://elsewhere.example/users/x",
        object: `${origin}/actor`,
      }),
    );
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get("content-type")).toBe("application/problem+json");
    expect((await unsigned.json()) as object).toMatchObject({ code: "unauthenticated" });
    expect(await instance.queue.getDepth()).toMatchObject({ queued: 0 });
  });

  // Last: draining is one-way.
  it("stops being ready once it drains for a shutdown", async () => {
    instance.drain();
    const res = await get("/readyz", "application/json");
    expect(res.status).toBe(503);
    expect((await res.json()) as object).toMatchObject({ code: "not_ready", details: { shutdown: "shutting down" } });
  });
});
