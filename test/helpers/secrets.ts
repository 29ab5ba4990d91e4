import { generateKeyPairSync } from "node:crypto";
import { AuthCache, type AuthCacheOptions } from "../../src/accounts/auth-cache.ts";
import { ExportMaker } from "../../src/accounts/exports.ts";
import { ProfileLinkVerifier } from "../../src/accounts/profile-links.ts";
import { createTokenService } from "../../src/accounts/tokens.ts";
import type { Config } from "../../src/config.ts";
import type { DatabaseLike } from "../../src/db/client.ts";
import type { Deps } from "../../src/deps.ts";
import { RateLimiter } from "../../src/http/rate-limiter.ts";
import { SendBatcher } from "../../src/messages/send-batch.ts";
import { SendContextCache } from "../../src/messages/send-context.ts";
import { Metrics } from "../../src/metrics.ts";
import { LinkPreviewer } from "../../src/previews/previewer.ts";
import { type Secrets, urlSigningKey } from "../../src/secrets.ts";

/** Fresh secrets for an instance under test, kept in memory (nothing written to a data folder). */
export function testSecrets(): Secrets {
  return { jwtPrivateKey: generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }) };
}

/**
 * Domain dependencies on a test database, with fresh secrets and an authentication cache of
 * their own.
 * @param options Secrets to use instead of fresh ones (two `Deps` standing for two processes
 *   of one server share them), and the cache's options.
 */
export async function testDeps(
  config: Config,
  db: DatabaseLike,
  options: { secrets?: Secrets; auth?: AuthCacheOptions } = {},
): Promise<Deps> {
  const secrets = options.secrets ?? testSecrets();
  return {
    config,
    db,
    tokens: await createTokenService(secrets.jwtPrivateKey, config.origin),
    // Not started: counts in this process only, which is all a test of the domain needs.
    limits: new RateLimiter(db),
    auth: new AuthCache(options.auth),
    urlKey: urlSigningKey(secrets),
    sends: new SendBatcher(db),
    sendContexts: new SendContextCache(),
    previews: new LinkPreviewer(),
    profileLinks: new ProfileLinkVerifier(),
    exports: new ExportMaker(),
    metrics: new Metrics(),
  };
}
