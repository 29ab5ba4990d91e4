import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { loadSecrets } from "../../src/secrets.ts";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "fedchat-secrets-"));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe("loadSecrets", () => {
  it("generates the token signing key on first start, private to the owner", () => {
    const secrets = loadSecrets(loadConfig({ DATA_DIR: dataDir }));
    expect(secrets.jwtPrivateKey).toMatchObject({ kty: "OKP", crv: "Ed25519" });
    expect(typeof secrets.jwtPrivateKey.d).toBe("string");
    const file = join(dataDir, "secrets", "jwt-signing-key.jwk.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, "secrets")).mode & 0o777).toBe(0o700);
  });

  it("keeps the same key across starts", () => {
    const first = loadSecrets(loadConfig({ DATA_DIR: dataDir }));
    const second = loadSecrets(loadConfig({ DATA_DIR: dataDir }));
    expect(second.jwtPrivateKey).toEqual(first.jwtPrivateKey);
  });

  it("tightens a key file that others can read", () => {
    loadSecrets(loadConfig({ DATA_DIR: dataDir }));
    const file = join(dataDir, "secrets", "jwt-signing-key.jwk.json");
    chmodSync(file, 0o644);
    loadSecrets(loadConfig({ DATA_DIR: dataDir }));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("uses JWT_PRIVATE_KEY when given and writes nothing", () => {
    const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
    const secrets = loadSecrets(loadConfig({ DATA_DIR: dataDir, JWT_PRIVATE_KEY: JSON.stringify(jwk) }));
    expect(secrets.jwtPrivateKey).toEqual(jwk);
    expect(() => readFileSync(join(dataDir, "secrets", "jwt-signing-key.jwk.json"))).toThrow();
  });

  it.each([
    "not json",
    JSON.stringify({ kty: "OKP", crv: "Ed25519", x: "abc" }),
    JSON.stringify(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" })),
  ])("refuses a malformed JWT_PRIVATE_KEY, naming it", (value) => {
    expect(() => loadSecrets(loadConfig({ DATA_DIR: dataDir, JWT_PRIVATE_KEY: value }))).toThrowError(
      expect.objectContaining({ name: "ConfigError", message: expect.stringContaining("JWT_PRIVATE_KEY") }) as Error,
    );
    expect(ConfigError).toBeDefined();
  });
});
