import type { TokenService } from "./accounts/tokens.ts";
import type { Config } from "./config.ts";
import type { DatabaseLike } from "./db/client.ts";

/**
 * What domain functions and handlers need, passed explicitly (no module-level database), so a
 * test or a caller can pass a transaction instead of the pool.
 */
export interface Deps {
  readonly config: Config;
  readonly db: DatabaseLike;
  /** Signs and verifies access tokens. */
  readonly tokens: TokenService;
  /** Signs attachment download URLs (see `urlSigningKey` in secrets.ts). */
  readonly urlKey: Uint8Array;
}
