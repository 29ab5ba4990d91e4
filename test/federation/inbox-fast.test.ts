import { KeyObject } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { eddsaJcsProof } from "../../federation/proofs.ts";
import { AS, type HostileWorld, type Json, startHostileWorld } from "../helpers/hostile.ts";
import { type PeerActor, prove } from "../helpers/peer.ts";
import { eventually } from "../helpers/stream.ts";

// The shared inbox's fast path (issue 14, federation/inbox-fast.ts) against a real server
// process: a relayed `Create{Note}` it takes is stored once; every forgery in the fast path's
// own shape, each breaking one check, must be refused or handed to the full path, which drops
// it. A check the fast path skipped would store the forged message here.

const token = "metrics-token-for-the-fast-path-test";

describe("the inbox's fast path for relayed messages", () => {
  let world: HostileWorld;
  let seq = 0;

  beforeAll(async () => {
    world = await startHostileWorld("inboxfast", { METRICS_TOKEN: token });
  }, 180_000);

  afterAll(async () => {
    await world?.close();
  });

  beforeEach(() => {
    onTestFailed(() => console.error(world?.server.output().slice(-6000)));
  });

  /** How many relayed activities the fast path counted with this outcome. */
  const fast = async (outcome: string) => {
    const res = await fetch(`${world.server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    const line = (await res.text())
      .split("\n")
      .find((l) => l.startsWith(`fedchat_inbox_fast_path_total{outcome="${outcome}"}`));
    return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
  };

  /** felix's `Create` of a note in club, as the club relays it. */
  const noteIn = (text: string, extra: Json = {}) => {
    const { create } = world.createNote(world.felix, text, { context: world.club.id, to: [world.club.id], ...extra });
    create.to = [world.club.id];
    delete create.cc;
    delete (create.object as Json).cc;
    return create;
  };

  const announce = (object: Json, id = `${world.club.id}/history/${++seq}`) => ({
    "@context": AS,
    id,
    type: "Announce",
    actor: world.club.id,
    to: [`${world.club.id}/followers`],
    object,
  });

  const mirrored = async (text: string) =>
    (await world.history(world.bob, world.mirror.id)).filter((m) => m.content === text);

  it("stores a relayed note at once, and a replay of it never again", async () => {
    const stored = await fast("stored");
    const signed = await prove(world.felix, noteIn("fast and once"));
    const first = announce(signed);
    expect((await world.honest.send(world.club, world.sharedInbox, first)).status).toBe(202);
    // Answered once committed: no waiting for a queue.
    expect(await mirrored("fast and once")).toHaveLength(1);
    expect(await fast("stored")).toBe(stored + 1);

    const replayed = await fast("replayed");
    expect((await world.honest.send(world.club, world.sharedInbox, first)).status).toBe(202);
    expect(await fast("replayed")).toBe(replayed + 1);
    // The same note under another Announce id: known, kept once.
    expect((await world.honest.send(world.club, world.sharedInbox, announce(signed))).status).toBe(202);
    expect(await mirrored("fast and once")).toHaveLength(1);
  });

  it("drops a relayed note whose proof was made over other words", async () => {
    const stored = await fast("stored");
    const signed = await prove(world.felix, noteIn("before forging fast"));
    (signed.object as Json).content = "<p>forged fast relay</p>";
    expect((await world.honest.send(world.club, world.sharedInbox, announce(signed))).status).toBe(202);
    await world.nowhere("forged fast relay");
    expect(await fast("stored")).toBe(stored);
  });

  it("drops a proof by a key of the author's server that another actor controls", async () => {
    // Same origin as felix, so only the key's controller tells them apart.
    const other: PeerActor = await world.honest.actor(`other${++seq}`);
    const signed = await prove(
      { ...world.felix, ed25519: other.ed25519, proofKeyId: other.proofKeyId },
      noteIn("controlled by another"),
    );
    expect((await world.honest.send(world.club, world.sharedInbox, announce(signed))).status).toBe(202);
    await world.nowhere("controlled by another");
  });

  it("drops a note its author's activity does not own", async () => {
    const other = await world.honest.actor(`ghost${++seq}`);
    // Proved by felix, but the note is someone else's.
    const signed = await prove(world.felix, noteIn("a note felix does not own", { attributedTo: other.id }));
    expect((await world.honest.send(world.club, world.sharedInbox, announce(signed))).status).toBe(202);
    await world.nowhere("a note felix does not own");
  });

  it("refuses an Announce signed by another than the Group", async () => {
    const signed = await prove(world.felix, noteIn("signed by felix, not the club"));
    const res = await world.honest.send(world.felix, world.sharedInbox, announce(signed));
    expect(res.status, res.body).toBe(401);
    // A signed header changed after signing: the signature no longer verifies.
    const again = await prove(world.felix, noteIn("a header changed in transit"));
    const tampered = await world.honest.send(world.club, world.sharedInbox, announce(again), {
      headers: { date: new Date(Date.now() - 60_000).toUTCString() },
    });
    expect(tampered.status).toBe(401);
    await world.nowhere("signed by felix, not the club");
    await world.nowhere("a header changed in transit");
  });

  it("ignores an Announce by a Group that is not a room we mirror", async () => {
    const stranger = await world.honest.actor(`stranger${++seq}`, { type: "Group" });
    const signed = await prove(world.felix, noteIn("relayed by a stranger group"));
    const relayed = { ...announce(signed, `${stranger.id}/history/1`), actor: stranger.id };
    expect((await world.honest.send(stranger, world.sharedInbox, relayed)).status).toBe(202);
    await world.nowhere("relayed by a stranger group");
  });

  it("leaves a context that redefines a term it reads to the full path", async () => {
    const declined = await fast("declined");
    const create = noteIn("words under another name");
    create["@context"] = [AS, "https://w3id.org/security/data-integrity/v1", { content: "https://evil.example/ns#c" }];
    // Proved over the JSON as it is (Fedify's prover would read it through JSON-LD first).
    const key = { keyId: new URL(world.felix.proofKeyId), keyObject: KeyObject.from(world.felix.ed25519.privateKey) };
    const signed = { ...create, proof: eddsaJcsProof(create, key) };
    expect((await world.honest.send(world.club, world.sharedInbox, announce(signed))).status).toBe(202);
    await eventually("the full path to take it", async () => ((await fast("declined")) > declined ? true : undefined));
    // Read through JSON-LD, the note has no content: nothing is stored.
    await world.nowhere("words under another name");
  });
});
