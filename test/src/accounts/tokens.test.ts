import { generateKeyPairSync } from "node:crypto";
import { CompactEncrypt, generateKeyPair, importJWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createTokenService, type TokenService } from "../../../src/accounts/tokens.ts";
import type { AppError } from "../../../src/errors.ts";

const origin = "https://chat.example";
const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
let tokens: TokenService;

beforeAll(async () => {
  tokens = await createTokenService(jwk, origin);
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);
const validClaims = () => ({
  iss: origin,
  aud: `${origin}/api`,
  sub: "user-1",
  sid: "session-1",
  jti: "abc",
  iat: now(),
  exp: now() + 600,
});

async function codeOf(token: string): Promise<string> {
  try {
    await tokens.verify(token);
    return "accepted";
  } catch (error) {
    return (error as AppError).code;
  }
}

/** Signs claims with the server's own key, varying one thing at a time. */
async function signed(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: "EdDSA", typ: "at+jwt" },
) {
  const key = await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA");
  return await new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
}

describe("access tokens", () => {
  it("round-trips the user and session", async () => {
    const { accessToken, expiresIn } = await tokens.issue("user-1", "session-1");
    expect(expiresIn).toBe(900);
    expect(await tokens.verify(accessToken)).toMatchObject({ userId: "user-1", sessionId: "session-1" });
    const [header, payload] = accessToken
      .split(".")
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, "base64url").toString()));
    expect(header).toEqual({ alg: "EdDSA", typ: "at+jwt" });
    expect(payload.exp - payload.iat).toBe(900);
    expect(payload).toMatchObject({ iss: origin, aud: `${origin}/api`, sub: "user-1", sid: "session-1" });
    expect(typeof payload.jti).toBe("string");
    expect((await tokens.verify(accessToken)).expiresAt).toEqual(new Date(payload.exp * 1000));
  });

  it("accepts a hand-made token with every claim right (the checks below vary one thing)", async () => {
    expect(await codeOf(await signed(validClaims()))).toBe("accepted");
  });

  it("refuses alg: none", async () => {
    const token = `${b64({ alg: "none", typ: "at+jwt" })}.${b64(validClaims())}.`;
    expect(await codeOf(token)).toBe("unauthenticated");
  });

  it("refuses HMAC signed with the public key (algorithm confusion)", async () => {
    const { d: _, ...publicJwk } = jwk;
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const token = await new SignJWT(validClaims()).setProtectedHeader({ alg: "HS256", typ: "at+jwt" }).sign(secret);
    expect(await codeOf(token)).toBe("unauthenticated");
  });

  it("refuses an RSA-signed token", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT(validClaims()).setProtectedHeader({ alg: "RS256", typ: "at+jwt" }).sign(privateKey);
    expect(await codeOf(token)).toBe("unauthenticated");
  });

  it("refuses an encrypted token", async () => {
    const { publicKey } = await generateKeyPair("RSA-OAEP-256");
    const token = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(validClaims())))
      .setProtectedHeader({ alg: "RSA-OAEP-256", enc: "A256GCM", typ: "at+jwt" })
      .encrypt(publicKey);
    expect(await codeOf(token)).toBe("unauthenticated");
  });

  it("refuses a token signed by another Ed25519 key", async () => {
    const other = await createTokenService(generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }), origin);
    expect(await codeOf((await other.issue("user-1", "session-1")).accessToken)).toBe("unauthenticated");
  });

  it.each([
    ["another issuer", { iss: "https://evil.example" }],
    ["another audience", { aud: "https://chat.example/other" }],
    ["no subject", { sub: undefined }],
    ["no session", { sid: undefined }],
    ["no token id", { jti: undefined }],
    ["no issued-at", { iat: undefined }],
    ["no expiry", { exp: undefined }],
    ["a non-string session", { sid: 42 }],
  ])("refuses %s", async (_, change) => {
    expect(await codeOf(await signed({ ...validClaims(), ...change }))).toBe("unauthenticated");
  });

  it("refuses a token of another type", async () => {
    expect(await codeOf(await signed(validClaims(), { alg: "EdDSA", typ: "JWT" }))).toBe("unauthenticated");
    expect(await codeOf(await signed(validClaims(), { alg: "EdDSA" }))).toBe("unauthenticated");
  });

  it("says token_expired for an expired token, so clients know to refresh", async () => {
    expect(await codeOf(await signed({ ...validClaims(), iat: now() - 1000, exp: now() - 60 }))).toBe("token_expired");
  });

  it.each(["", "garbage", "a.b.c", "a.b", `${b64({ alg: "EdDSA" })}.e30.`])(
    "refuses the malformed %j",
    async (token) => {
      expect(await codeOf(token)).toBe("unauthenticated");
    },
  );
});
