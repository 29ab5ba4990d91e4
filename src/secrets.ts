import { generateKeyPairSync, hkdfSync, randomUUID } from "node:crypto";
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Config, ConfigError } from "./config.ts";
import { logger } from "./log.ts";

/** Secrets the server needs, from the environment or generated into the data folder. */
export interface Secrets {
  /** Ed25519 private key (JWK) that signs access tokens. */
  readonly jwtPrivateKey: JsonWebKey;
}

const log = logger("secrets");

function isEd25519PrivateJwk(value: unknown): value is JsonWebKey {
  const jwk = value as Record<string, unknown> | null;
  return (
    typeof jwk === "object" &&
    jwk !== null &&
    jwk.kty === "OKP" &&
    jwk.crv === "Ed25519" &&
    typeof jwk.d === "string" &&
    typeof jwk.x === "string"
  );
}

function parseJwk(text: string, where: string): JsonWebKey {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError([`${where}: expected an Ed25519 private key as JWK JSON`]);
  }
  if (!isEd25519PrivateJwk(value)) throw new ConfigError([`${where}: expected an Ed25519 private key as JWK JSON`]);
  return value;
}

/**
 * Reads the secret from `DATA_DIR/secrets/<name>`, creating it with `generate()` on first
 * start. The folder is 0700 and the file 0600; a file that others can read is tightened and
 * reported. Two processes starting at once end up with one secret.
 */
function fileSecret(dataDir: string, name: string, generate: () => string): string {
  const dir = join(dataDir, "secrets");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  if (!existsSync(path)) {
    // Written whole under a temporary name, then linked into place: link fails if another
    // process got there first, and nobody ever reads a half-written file.
    const temporary = `${path}.${process.pid}.${randomUUID()}`;
    writeFileSync(temporary, generate(), { mode: 0o600, flag: "wx" });
    try {
      linkSync(temporary, path);
      log.info("Generated {path}.", { path });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      unlinkSync(temporary);
    }
  }
  if (process.platform !== "win32" && (statSync(path).mode & 0o077) !== 0) {
    log.warn("{path} was readable by other users; its permissions are now 0600.", { path });
    chmodSync(path, 0o600);
  }
  return readFileSync(path, "utf8");
}

/**
 * Loads the server's secrets: each from its environment variable when given, else from the
 * data folder, generated there on first start.
 * @throws {ConfigError} when a given or stored secret is malformed.
 */
export function loadSecrets(config: Config): Secrets {
  const jwtPrivateKey =
    config.jwtPrivateKey != null
      ? parseJwk(config.jwtPrivateKey, "JWT_PRIVATE_KEY")
      : parseJwk(
          fileSecret(config.dataDir, "jwt-signing-key.jwk.json", () =>
            JSON.stringify(generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" })),
          ),
          join(config.dataDir, "secrets", "jwt-signing-key.jwk.json"),
        );
  return { jwtPrivateKey };
}

/**
 * The HMAC key that signs attachment download URLs. It is derived (HKDF-SHA256) from the token
 * signing key, so every process that shares that key shares this one, and no second secret has
 * to be distributed; the derivation is one-way, so URLs reveal nothing about the token key.
 */
export function urlSigningKey(secrets: Secrets): Uint8Array {
  const seed = secrets.jwtPrivateKey.d;
  if (seed == null) throw new ConfigError(["JWT_PRIVATE_KEY: expected an Ed25519 private key as JWK JSON"]);
  return new Uint8Array(hkdfSync("sha256", Buffer.from(seed, "base64url"), "", "fedchat attachment URLs", 32));
}
