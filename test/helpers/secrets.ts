import { generateKeyPairSync } from "node:crypto";
import type { Secrets } from "../../src/secrets.ts";

/** Fresh secrets for an instance under test, kept in memory (nothing written to a data folder). */
export function testSecrets(): Secrets {
  return { jwtPrivateKey: generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }) };
}
