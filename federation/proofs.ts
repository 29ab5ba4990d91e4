/**
 * Object Integrity Proofs (FEP-8b32, `eddsa-jcs-2022`) made over JSON as it will be sent:
 * Fedify's `signObject` compacts the activity through JSON-LD to prove it, and the caller then
 * compacts it again to send it (about 10 ms a message); here the JSON is compacted once and
 * the proof is made over it with node:crypto. Receivers check the proof on the JSON as they get
 * it (without `proof`), which Fedify's `verifyProof` does.
 * @module
 */
import { createHash, type KeyObject, sign, verify } from "node:crypto";

/** JSON Canonicalization Scheme (RFC 8785) for plain JSON values: sorted keys, ES serialisation. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  // Default sort compares UTF-16 code units, as RFC 8785 orders keys.
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** Base58 (the Bitcoin alphabet), as multibase `z` strings carry bytes. */
export function base58(bytes: Uint8Array): string {
  let n = 0n;
  for (const byte of bytes) n = n * 256n + BigInt(byte);
  let out = "";
  while (n > 0n) {
    out = (base58Alphabet[Number(n % 58n)] as string) + out;
    n /= 58n;
  }
  for (const byte of bytes) {
    if (byte !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/** The bytes of a Base58 string (the Bitcoin alphabet); undefined when it is not one. */
export function fromBase58(text: string): Uint8Array | undefined {
  let n = 0n;
  for (const char of text) {
    const digit = base58Alphabet.indexOf(char);
    if (digit < 0) return undefined;
    n = n * 58n + BigInt(digit);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n % 256n));
    n /= 256n;
  }
  for (const char of text) {
    if (char !== "1") break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/**
 * Whether an `eddsa-jcs-2022` proof verifies over a document as received (without its
 * `proof`): the check {@link eddsaJcsProof} makes proofs for, and Fedify's `verifyProof` makes
 * first, on the canonical JSON rather than through JSON-LD.
 * @param created The proof's `created` as Fedify reads it back (a Temporal instant's string).
 */
export function verifyEddsaJcs(
  document: Record<string, unknown>,
  proof: { cryptosuite: string; verificationMethod: string; proofPurpose: string; proofValue: string },
  created: string,
  publicKey: KeyObject,
): boolean {
  const signature = proof.proofValue.startsWith("z") ? fromBase58(proof.proofValue.slice(1)) : undefined;
  if (signature == null || signature.length !== 64) return false;
  const options = {
    "@context": document["@context"],
    type: "DataIntegrityProof",
    cryptosuite: proof.cryptosuite,
    verificationMethod: proof.verificationMethod,
    proofPurpose: proof.proofPurpose,
    created,
  };
  const { proof: _, ...unsigned } = document;
  const digest = Buffer.concat([sha256(canonicalJson(options)), sha256(canonicalJson(unsigned))]);
  return verify(null, digest, publicKey, signature);
}

/**
 * The `proof` of a compacted JSON-LD document by an Ed25519 key: the SHA-256 of the canonical
 * proof options (with the document's `@context`) and of the canonical document, signed.
 * `created` is whole seconds, so that it reads back as written.
 */
export function eddsaJcsProof(
  document: Record<string, unknown>,
  key: { keyId: URL; keyObject: KeyObject },
  at = new Date(),
): Record<string, unknown> {
  const created = new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
  const options = {
    type: "DataIntegrityProof",
    cryptosuite: "eddsa-jcs-2022",
    verificationMethod: key.keyId.href,
    proofPurpose: "assertionMethod",
    created,
  };
  const { proof: _, ...unsigned } = document;
  const digest = Buffer.concat([
    sha256(canonicalJson({ "@context": document["@context"], ...options })),
    sha256(canonicalJson(unsigned)),
  ]);
  return { ...options, proofValue: `z${base58(sign(null, digest, key.keyObject))}` };
}
