import { KeyObject } from "node:crypto";
import { generateCryptoKeyPair, verifyObject } from "@fedify/fedify";
import { Create, Multikey, Note, Person } from "@fedify/vocab";
import { describe, expect, it } from "vitest";
import { base58, canonicalJson, eddsaJcsProof } from "../../federation/proofs.ts";

describe("proofs made over the JSON as sent (eddsa-jcs-2022)", () => {
  it("canonicalises as RFC 8785 does and encodes base58 as multibase does", () => {
    expect(canonicalJson({ b: [1, "é", null, true], a: { "\u20ac": 1, "\r": 2, "1": 3 } })).toBe(
      '{"a":{"\\r":2,"1":3,"€":1},"b":[1,"é",null,true]}',
    );
    expect(canonicalJson({ n: 1e21, f: 0.1, z: -0 })).toBe('{"f":0.1,"n":1e+21,"z":0}');
    expect(base58(new Uint8Array([0, 0, 1, 2, 3]))).toBe("11Ldp");
    expect(base58(new TextEncoder().encode("hello world"))).toBe("StV1DL6CwTryKyV");
  });

  it("verify with Fedify, as our rooms' relays embed them, and fail once the text changes", async () => {
    const actor = "https://a.example/users/alice";
    const keyId = new URL(`${actor}#multikey-2`);
    const pair = await generateCryptoKeyPair("Ed25519");
    const person = new Person({
      id: new URL(actor),
      assertionMethods: [new Multikey({ id: keyId, controller: new URL(actor), publicKey: pair.publicKey })],
    });
    const served = await person.toJsonLd({ format: "compact" });
    const documentLoader = async (url: string) => {
      if (!url.startsWith(actor)) throw new Error(`not served: ${url}`);
      return { contextUrl: null, documentUrl: url, document: served };
    };
    const create = new Create({
      id: new URL("https://a.example/messages/1#create"),
      actor: new URL(actor),
      to: new URL("https://a.example/rooms/r"),
      object: new Note({
        id: new URL("https://a.example/messages/1"),
        attribution: new URL(actor),
        content: "<p>héllo “world”</p>",
        to: new URL("https://a.example/rooms/r"),
      }),
    });
    const json = (await create.toJsonLd({ format: "compact" })) as Record<string, unknown>;
    const signed = { ...json, proof: eddsaJcsProof(json, { keyId, keyObject: KeyObject.from(pair.privateKey) }) };
    const verified = await verifyObject(Create, JSON.parse(JSON.stringify(signed)), { documentLoader });
    expect(verified?.id?.href).toBe("https://a.example/messages/1#create");
    const tampered = structuredClone(signed) as unknown as { object: { content: string } };
    tampered.object.content = "<p>hello</p>";
    expect(await verifyObject(Create, tampered, { documentLoader })).toBeNull();
  });
});
