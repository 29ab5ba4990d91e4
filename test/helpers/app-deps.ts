/**
 * What the HTTP layer's unit tests give `createApp`: a configuration and nothing behind it
 * but what every request touches, the metrics and an access-rules table with no rules (the one
 * query the app makes before an API request). Routes that need the database have none.
 */
import type { Config } from "../../src/config.ts";
import type { DatabaseLike } from "../../src/db/client.ts";
import type { Deps } from "../../src/deps.ts";
import { SendContextCache } from "../../src/messages/send-context.ts";
import { Metrics } from "../../src/metrics.ts";

export function appDeps(config: Config): Deps {
  const noAccessRules = { select: () => ({ from: () => ({ orderBy: () => ({ limit: async () => [] }) }) }) };
  return {
    config,
    db: noAccessRules as unknown as DatabaseLike,
    tokens: {},
    metrics: new Metrics(),
    sendContexts: new SendContextCache(),
  } as unknown as Deps;
}
