/** An actor's two key pairs as JWK: RSA for HTTP signatures, Ed25519 for integrity proofs. */
export interface ActorKeys {
  readonly rsaPrivateKey: JsonWebKey;
  readonly rsaPublicKey: JsonWebKey;
  readonly ed25519PrivateKey: JsonWebKey;
  readonly ed25519PublicKey: JsonWebKey;
}

/**
 * Makes an actor's key pairs with WebCrypto: RSASSA-PKCS1-v1_5 2048-bit with SHA-256 (what
 * Mastodon verifies HTTP signatures with) and Ed25519 (FEP-8b32 object integrity proofs).
 */
export async function generateActorKeys(): Promise<ActorKeys> {
  const [rsa, ed25519] = await Promise.all([
    crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    ),
    crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as Promise<CryptoKeyPair>,
  ]);
  const [rsaPrivateKey, rsaPublicKey, ed25519PrivateKey, ed25519PublicKey] = await Promise.all([
    crypto.subtle.exportKey("jwk", rsa.privateKey),
    crypto.subtle.exportKey("jwk", rsa.publicKey),
    crypto.subtle.exportKey("jwk", ed25519.privateKey),
    crypto.subtle.exportKey("jwk", ed25519.publicKey),
  ]);
  return { rsaPrivateKey, rsaPublicKey, ed25519PrivateKey, ed25519PublicKey };
}
