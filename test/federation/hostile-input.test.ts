import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { AS, type HostileWorld, type Json, PUBLIC, startHostileWorld } from "../helpers/hostile.ts";
import { Peer } from "../helpers/peer.ts";
import { call, eventually, sleep } from "../helpers/stream.ts";

// What an attacker's server sends that is not a forgery but is built to hurt: signatures the
// verifier chokes on, ids that squat on another server's, documents in disguise, activities
// sized to burn CPU, block-list evasions, and activities in the wrong order (issue 12).

describe("hostile input from other servers", () => {
  let world: HostileWorld;

  beforeAll(async () => {
    world = await startHostileWorld("hostile-input");
  }, 60_000);

  afterAll(async () => {
    await world?.close();
  });

  beforeEach(() => {
    onTestFailed(() => console.error(world?.server.output().slice(-6000)));
  });

  async function expectAlive() {
    expect((await call(world.server, null, "GET", "/healthz")).status).toBe(200);
    expect(world.server.child.exitCode).toBeNull();
  }

  it("answers a draft-cavage signature made with an Ed25519 key with 401, not a server error", async () => {
    const { evil, roomInbox, createNote } = world;
    // The actor publishes an Ed25519 key as its `publicKey`, and signs with it the draft-cavage way.
    const edward = await evil.actor("edward");
    (edward.document.publicKey as Json).publicKeyPem = await exportEd25519Pem(edward.ed25519.publicKey);
    for (const algorithm of ["ed25519-sha512", "hs2019"] as const) {
      const { create } = createNote(edward, `edward signs with ${algorithm}`);
      const res = await evil.send(edward, roomInbox, create, { ed25519: algorithm });
      expect(res.status, res.body).toBe(401);
      expect(res.json?.code).toBe("unauthenticated");
    }
    await expectAlive();
    await world.nowhere("edward signs");
  });

  it("answers a signed delivery whose Date is empty or not a date with 401", async () => {
    const { honest, felix, roomInbox, createNote } = world;
    for (const date of ["", "yesterday", "Sun, 99 Foo 2026 99:99:99 GMT", "+999999-01-01T00:00:00Z"]) {
      const { create } = createNote(felix, `dated ${JSON.stringify(date)}`);
      const res = await honest.send(felix, roomInbox, create, { headers: { date } });
      expect(res.status, `${JSON.stringify(date)}: ${res.body}`).toBe(401);
      expect(res.json?.code).toBe("unauthenticated");
    }
    await expectAlive();
    await world.nowhere("dated ");
  });

  it("refuses an activity whose id is on another server than its actor, and takes the genuine one after", async () => {
    const { honest, evil, felix, mallory, roomInbox, createNote } = world;
    const { create } = createNote(felix, "the genuine words");
    // mallory squats on the id felix's activity will have.
    const forged = { ...createNote(mallory, "squatted").create, id: create.id };
    const res = await evil.send(mallory, roomInbox, forged);
    expect(res.status, res.body).toBe(403);
    expect((await honest.send(felix, roomInbox, create)).status).toBe(202);
    await eventually("the genuine message", async () =>
      (await world.history()).find((m) => m.content === "the genuine words"),
    );
    await world.nowhere("squatted");
  });

  it("does not take an actor document served as anything but ActivityPub", async () => {
    const { evil, roomInbox, createNote, sql } = world;
    for (const contentType of ["application/octet-stream", "text/plain", "application/json"]) {
      const name = `disguised${contentType.replace(/\W/g, "")}`;
      const actor = await evil.actor(name);
      evil.serve(new URL(actor.id).pathname, actor.document, { contentType });
      const { create } = createNote(actor, `posted by ${name}`);
      const res = await evil.send(actor, roomInbox, create);
      expect(res.status, `${contentType}: ${res.body}`).toBe(401);
      const rows = await sql`select count(*)::int as count from actors where iri = ${actor.id}`;
      expect(rows[0]?.count, contentType).toBe(0);
    }
    await world.nowhere("posted by disguised");
  });

  it("refuses an activity with more tags, files or recipients than any real one, before parsing it", async () => {
    const { honest, felix, roomInbox, createNote } = world;
    const tags = Array.from({ length: 12_000 }, (_, i) => ({
      type: "Hashtag",
      href: `${honest.url}/tags/t${i}`,
      name: `#t${i}`,
    }));
    const oversized: [string, Json][] = [
      ["12,000 tags", createNote(felix, "tagged to death", { tag: tags }).create],
      [
        "500 attachments",
        createNote(felix, "attached to death", {
          attachment: Array.from({ length: 500 }, (_, i) => ({
            type: "Document",
            url: `${honest.url}/f/${i}.png`,
          })),
        }).create,
      ],
      [
        "5,000 recipients",
        {
          ...createNote(felix, "addressed to death").create,
          cc: [PUBLIC, ...Array.from({ length: 5000 }, (_, i) => `${honest.url}/users/u${i}`)],
        },
      ],
    ];
    for (const [what, activity] of oversized) {
      const started = Date.now();
      const res = await honest.send(felix, roomInbox, activity);
      expect(res.status, `${what}: ${res.body}`).toBe(400);
      expect(res.json?.code, what).toBe("bad_request");
      // Refused on the raw JSON: far sooner than the seconds JSON-LD took over it.
      expect(Date.now() - started, what).toBeLessThan(5000);
    }
    await expectAlive();
    await world.nowhere("to death");
  });

  it("refuses a blocked server whatever way its address is written", async () => {
    const { honest, felix, roomInbox, createNote, sql } = world;
    const target = await Peer.start();
    const port = new URL(target.url).port;
    try {
      await sql`insert into blocked_servers (host, reason) values (${`127.0.0.1:${port}`}, 'test')`;
      const spellings = [
        `http://[::ffff:127.0.0.1]:${port}/users/x`,
        `http://[::ffff:7f00:1]:${port}/users/x`,
        `http://2130706433:${port}/users/x`,
        `http://0x7f.0.0.1:${port}/users/x`,
        `http://127.1:${port}/users/x`,
      ];
      for (const iri of spellings) {
        const { create } = createNote(felix, `mentions ${iri}`, { tag: [{ type: "Mention", href: iri }] });
        const res = await honest.send(felix, roomInbox, create);
        expect(res.status, `${iri}: ${res.body}`).toBe(403);
        expect(res.json?.code).toBe("server_blocked");
      }
    } finally {
      await sql`delete from blocked_servers where host = ${`127.0.0.1:${port}`}`;
      await target.close();
    }
    await world.nowhere("mentions http");
  });

  it("ends with the newest text when an Update arrives before its Create", async () => {
    const { honest, felix, roomInbox, createNote } = world;
    const { create, note } = createNote(felix, "first version");
    const update = {
      "@context": AS,
      id: `${note.id}#updates/1`,
      type: "Update",
      actor: felix.id,
      to: [world.room.url],
      object: { ...note, content: "<p>second version</p>", updated: new Date(Date.now() + 1000).toISOString() },
    };
    expect((await honest.send(felix, roomInbox, update)).status).toBe(202);
    expect((await honest.send(felix, roomInbox, create)).status).toBe(202);
    await world.marker();
    const message = (await world.history()).find((m) => m.url === note.id);
    expect(message).toMatchObject({ content: "second version" });
    expect(message?.editedAt).not.toBeNull();
    // The room relayed both, Create first, so member servers end with the newest text too.
    // Waited for by itself: the inbox's workers may take the Update after the marker.
    await honest.receive(
      "the relay of the Update",
      (a) =>
        a.type === "Announce" &&
        (a.object as Json)?.type === "Update" &&
        JSON.stringify(a.object).includes(note.id as string),
    );
    const relayed = honest
      .received("Announce")
      .map((a) => a.object as Json)
      .filter((inner) => JSON.stringify(inner.object).includes(note.id as string))
      .map((inner) => inner.type);
    expect(relayed).toEqual(["Create", "Update"]);
  });

  it("leaves no reaction when an Undo{Like} arrives before its Like", async () => {
    const { honest, felix, roomInbox } = world;
    const message = await world.marker();
    const like = { "@context": AS, id: `${felix.id}#likes/early`, type: "Like", actor: felix.id, object: message.url };
    const undo = { "@context": AS, id: `${felix.id}#likes/early/undo`, type: "Undo", actor: felix.id, object: like };
    expect((await honest.send(felix, roomInbox, undo)).status).toBe(202);
    expect((await honest.send(felix, roomInbox, like)).status).toBe(202);
    await world.marker();
    await sleep(200);
    const after = (await world.history()).find((m) => m.id === message.id);
    expect(after?.reactions).toEqual([]);
  });
});

/** An Ed25519 public key as an SPKI PEM, as a `publicKeyPem` carries it. */
async function exportEd25519Pem(key: CryptoKey): Promise<string> {
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", key)).toString("base64");
  return `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)?.join("\n")}\n-----END PUBLIC KEY-----\n`;
}
