import { createHash, generateKeyPairSync, KeyObject } from "node:crypto";
import { cavage, createSigner, httpbis } from "http-message-signatures";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { type Federated, startFederated } from "../helpers/federated.ts";
import type { Peer, PeerActor } from "../helpers/peer.ts";
import type { ServerProcess } from "../helpers/server.ts";
import { eventually, ok, register, roomMessages, type User } from "../helpers/stream.ts";

// Issue 15, item 7: deliveries signed by an implementation that is neither Fedify nor ours
// (the `http-message-signatures` package) reach a room through the real inbox of a real server
// process. Our other tests sign with Fedify or test/helpers/peer.ts, the code the verifier
// shares its reading of the specifications with; this one catches where they agree with each
// other and not with RFC 9421 or draft-cavage.
//
// Fedify 2.3 finds the key of an RFC 9421 signature (and of a draft-cavage one) as a
// `CryptographicKey` only: the `keyid` is fetched, and either is that key or is an actor whose
// `publicKey`s include it. An actor's `assertionMethod` Multikeys (FEP-521a) are not looked at,
// so a peer signing with Ed25519 lists that key in `publicKey` too (as Fedify-built servers do
// with all their keys), or serves it as a key document owned by the actor (as this server does
// for its rooms, `<group>/ed25519-key`). Both are tested.

type Json = Record<string, unknown>;
const activityJson = "application/activity+json";

/** How a delivery is signed. */
type Scheme =
  | { kind: "rfc9421"; alg: "rsa-v1_5-sha256" | "ed25519"; key: KeyObject; keyId: string }
  | { kind: "draft-cavage"; key: KeyObject; keyId: string };

const sha256 = (body: string) => createHash("sha256").update(body).digest("base64");

/**
 * The headers of a POST of `body` to `url`, signed by `http-message-signatures`. RFC 9421
 * covers the method, target URI, authority, content type and the RFC 9530 `Content-Digest`;
 * draft-cavage covers `(request-target)`, host, date and the RFC 3230 `Digest`, as Mastodon
 * does.
 */
async function signedHeaders(url: string, body: string, scheme: Scheme): Promise<Record<string, string>> {
  const request = { method: "POST", url, headers: { "content-type": activityJson } as Record<string, string> };
  if (scheme.kind === "rfc9421") {
    request.headers["content-digest"] = `sha-256=:${sha256(body)}:`;
    const signed = await httpbis.signMessage(
      {
        key: createSigner(scheme.key, scheme.alg, scheme.keyId),
        fields: ["@method", "@target-uri", "@authority", "content-type", "content-digest"],
      },
      request,
    );
    return signed.headers as Record<string, string>;
  }
  Object.assign(request.headers, {
    host: new URL(url).host,
    date: new Date().toUTCString(),
    digest: `SHA-256=${sha256(body)}`,
  });
  const signed = await cavage.signMessage(
    {
      key: createSigner(scheme.key, "rsa-v1_5-sha256", scheme.keyId),
      fields: ["@request-target", "host", "date", "digest"],
    },
    request,
  );
  return signed.headers as Record<string, string>;
}

/** POSTs `body` signed with `scheme`; with `sent`, signs `body` but sends `sent` (a tampered delivery). */
async function deliver(
  url: string,
  body: string,
  scheme: Scheme,
  sent = body,
): Promise<{ status: number; body: string }> {
  const headers = await signedHeaders(url, body, scheme);
  const res = await fetch(url, { method: "POST", headers: { ...headers, accept: activityJson }, body: sent });
  return { status: res.status, body: await res.text() };
}

const privateKey = (key: CryptoKey) => KeyObject.from(key);

interface RoomBody {
  id: string;
  url: string;
}
interface MessageBody {
  id: string;
  content: string;
  author: { handle: string } | null;
}

describe("signatures made by an independent implementation (http-message-signatures)", () => {
  let federated: Federated;
  let server: ServerProcess;
  let peer: Peer;
  let alice: User;
  let room: RoomBody;
  /** Signs with RSA (its `publicKey`) and with Ed25519, listed in `publicKey` too. */
  let ada: PeerActor;
  /** Signs with Ed25519 served as a key document of its own, owned by the actor. */
  let bea: PeerActor;
  let beaKeyId: string;
  let serial = 0;

  beforeAll(async () => {
    federated = await startFederated("fedchat-sigs-");
    ({ server, peer } = federated);
    alice = await register(server, "alice");
    room = await ok<RoomBody>(201, server, alice.token, "POST", "/api/v1/rooms", {
      name: "Signatures",
      visibility: "public",
    });

    ada = await peer.actor("ada");
    const edPem = (actor: PeerActor) =>
      KeyObject.from(actor.ed25519.publicKey).export({ type: "spki", format: "pem" }) as string;
    // The Ed25519 key beside the RSA one in `publicKey`, under the id its Multikey has.
    ada.document.publicKey = [
      ada.document.publicKey,
      { id: ada.proofKeyId, type: "CryptographicKey", owner: ada.id, publicKeyPem: edPem(ada) },
    ];

    bea = await peer.actor("bea");
    beaKeyId = `${bea.id}/ed25519-key`;
    peer.serve(new URL(beaKeyId).pathname, {
      "@context": "https://w3id.org/security/v1",
      id: beaKeyId,
      type: "CryptographicKey",
      owner: bea.id,
      publicKeyPem: edPem(bea),
    });
  }, 60_000);

  afterAll(async () => {
    await federated?.close();
  });

  beforeEach(() => {
    onTestFailed(() => console.error(server?.output().slice(-6000)));
  });

  const inbox = () => `${room.url}/inbox`;
  const history = () => roomMessages<MessageBody>(server, alice, room.id);

  /** A `Create{Note}` by `actor` addressed to the room's `Group`, as its JSON body. */
  function create(actor: PeerActor, text: string): string {
    const n = ++serial;
    const note = {
      id: `${actor.id}/notes/${n}`,
      type: "Note",
      attributedTo: actor.id,
      to: [room.url],
      content: `<p>${text}</p>`,
      published: new Date().toISOString(),
    };
    return JSON.stringify({
      "@context": "https://www.w3.org/ns/activitystreams",
      id: `${actor.id}/activities/${n}`,
      type: "Create",
      actor: actor.id,
      to: [room.url],
      object: note,
    });
  }

  /** Delivers a post signed with `scheme` and waits until it is in the room's history. */
  async function accepted(actor: PeerActor, text: string, scheme: Scheme): Promise<MessageBody> {
    const res = await deliver(inbox(), create(actor, text), scheme);
    expect(res.status, res.body).toBe(202);
    return await eventually(`"${text}" in the room`, async () =>
      (await history()).find((m) => m.content.includes(text)),
    );
  }

  const rsa = (actor: PeerActor): Scheme => ({
    kind: "rfc9421",
    alg: "rsa-v1_5-sha256",
    key: privateKey(actor.rsa.privateKey),
    keyId: actor.keyId,
  });
  const ed25519 = (actor: PeerActor, keyId: string): Scheme => ({
    kind: "rfc9421",
    alg: "ed25519",
    key: privateKey(actor.ed25519.privateKey),
    keyId,
  });
  const draftCavage = (actor: PeerActor): Scheme => ({
    kind: "draft-cavage",
    key: privateKey(actor.rsa.privateKey),
    keyId: actor.keyId,
  });

  it("accepts RFC 9421 with RSA (rsa-v1_5-sha256) and a Content-Digest", async () => {
    const headers = await signedHeaders(inbox(), create(ada, "probe"), rsa(ada));
    expect(headers["Signature-Input"]).toMatch(
      /^sig=\("@method" .*"content-digest"\);keyid="[^"]+#main-key";alg="rsa-v1_5-sha256";created=\d+;expires=\d+$/,
    );
    const message = await accepted(ada, "rfc9421 with rsa", rsa(ada));
    expect(message.author?.handle).toBe(`ada@${peer.host}`);
  });

  it("accepts RFC 9421 with Ed25519, the key listed in the actor's publicKey", async () => {
    const message = await accepted(ada, "rfc9421 with ed25519 in publicKey", ed25519(ada, ada.proofKeyId));
    expect(message.author?.handle).toBe(`ada@${peer.host}`);
  });

  it("accepts RFC 9421 with Ed25519, the key a document owned by the actor", async () => {
    const message = await accepted(bea, "rfc9421 with an ed25519 key document", ed25519(bea, beaKeyId));
    expect(message.author?.handle).toBe(`bea@${peer.host}`);
    expect(peer.hitsOn(new URL(beaKeyId).pathname)).toBeGreaterThan(0);
  });

  it("accepts draft-cavage with RSA and a Digest", async () => {
    const headers = await signedHeaders(inbox(), create(ada, "probe"), draftCavage(ada));
    expect(headers.Signature).toMatch(
      /^keyId="[^"]+#main-key",algorithm="rsa-sha256",.*headers="\(request-target\) host date digest",signature="/,
    );
    expect(headers.digest).toMatch(/^SHA-256=/);
    const message = await accepted(ada, "draft-cavage with rsa", draftCavage(ada));
    expect(message.author?.handle).toBe(`ada@${peer.host}`);
  });

  it("refuses a tampered body or a signature by the wrong key (401) and stores nothing", async () => {
    const otherRsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const otherEd25519 = generateKeyPairSync("ed25519").privateKey;
    const cases: [string, PeerActor, Scheme, ((body: string) => string) | undefined][] = [
      ["rfc9421 rsa, tampered", ada, rsa(ada), tamper],
      ["rfc9421 ed25519, tampered", ada, ed25519(ada, ada.proofKeyId), tamper],
      ["draft-cavage, tampered", ada, draftCavage(ada), tamper],
      ["rfc9421 rsa, wrong key", ada, { ...rsa(ada), key: otherRsa }, undefined],
      [
        "rfc9421 ed25519 (publicKey), wrong key",
        ada,
        { ...ed25519(ada, ada.proofKeyId), key: otherEd25519 },
        undefined,
      ],
      ["rfc9421 ed25519 (key document), wrong key", bea, { ...ed25519(bea, beaKeyId), key: otherEd25519 }, undefined],
      ["draft-cavage, wrong key", ada, { ...draftCavage(ada), key: otherRsa }, undefined],
    ];
    for (const [what, actor, scheme, change] of cases) {
      const body = create(actor, `refused: ${what}`);
      const res = await deliver(inbox(), body, scheme, change ? change(body) : body);
      expect(res.status, `${what}: ${res.body}`).toBe(401);
    }
    // Deliveries are handled from a queue: once a later one is in, the refused ones would be too.
    await accepted(ada, "marker after the refused ones", rsa(ada));
    const contents = (await history()).map((m) => m.content).join("\n");
    expect(contents).not.toContain("refused:");
  });
});

/** The same activity with other words: its digest no longer matches the signed one. */
function tamper(body: string): string {
  const json = JSON.parse(body) as Json;
  const note = json.object as Json;
  note.content = `${note.content as string} (altered on the way)`;
  return JSON.stringify(json);
}
