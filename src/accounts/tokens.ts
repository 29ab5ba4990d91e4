import { randomBytes } from "node:crypto";
import { errors, importJWK, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { AppError } from "../errors.ts";

/** Access tokens live 15 minutes; revoking the session stops them sooner (see sessions.ts). */
export const accessTokenSeconds = 15 * 60;

/** What an access token says, once verified. */
export interface AccessClaims {
  readonly userId: string;
  readonly sessionId: string;
  readonly tokenId: string;
  /** When the token expires (its `exp`); a cached token is not used past this. */
  readonly expiresAt: Date;
}

/** Signs and verifies access tokens (EdDSA JWTs, RFC 9068 `at+jwt`). */
export interface TokenService {
  issue(userId: string, sessionId: string): Promise<{ accessToken: string; expiresIn: number }>;
  /** @throws {AppError} `token_expired` or `unauthenticated`. */
  verify(token: string): Promise<AccessClaims>;
}

/**
 * Creates the token service from the Ed25519 private key.
 * Verification allows exactly one algorithm (EdDSA), so `alg: none`, HMAC-with-the-public-key
 * confusion and RSA tokens fail; compact JWE (encrypted) tokens are refused by the JWS parser.
 * Issuer, audience, type, expiry, and the presence of `sub`, `sid`, `jti` and `iat` are checked.
 * @param privateJwk The Ed25519 private key (JWK).
 * @param origin The server's origin: the issuer, and with `/api` the audience.
 */
export async function createTokenService(privateJwk: JsonWebKey, origin: string): Promise<TokenService> {
  const privateKey = await importJWK({ ...privateJwk, alg: "EdDSA" }, "EdDSA");
  const { d: _d, ...publicJwk } = privateJwk;
  const publicKey = await importJWK({ ...publicJwk, alg: "EdDSA" }, "EdDSA");
  const issuer = origin;
  const audience = `${origin}/api`;
  return {
    async issue(userId, sessionId) {
      const accessToken = await new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt" })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(userId)
        .setJti(randomBytes(16).toString("base64url"))
        .setIssuedAt()
        .setExpirationTime(`${accessTokenSeconds}s`)
        .sign(privateKey);
      return { accessToken, expiresIn: accessTokenSeconds };
    },
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, publicKey, {
          algorithms: ["EdDSA"],
          issuer,
          audience,
          typ: "at+jwt",
          requiredClaims: ["sub", "sid", "jti", "iat", "exp"],
          clockTolerance: 5,
        }));
      } catch (error) {
        if (error instanceof errors.JWTExpired) {
          throw new AppError("token_expired", "The access token has expired; refresh it.", {
            headers: { "WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired"' },
          });
        }
        throw new AppError("unauthenticated", "The access token is not valid.", {
          headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
        });
      }
      const { sub, sid, jti, exp } = payload as { sub: unknown; sid: unknown; jti: unknown; exp: unknown };
      if (typeof sub !== "string" || typeof sid !== "string" || typeof jti !== "string" || typeof exp !== "number") {
        throw new AppError("unauthenticated", "The access token is not valid.");
      }
      return { userId: sub, sessionId: sid, tokenId: jti, expiresAt: new Date(exp * 1000) };
    },
  };
}
