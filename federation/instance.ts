import type { Federation } from "@fedify/fedify";
import type { Hono } from "hono";
import { AuthCache } from "../src/accounts/auth-cache.ts";
import { ExportMaker, purgeExports } from "../src/accounts/exports.ts";
import { ProfileLinkVerifier } from "../src/accounts/profile-links.ts";
import { purgeSessions } from "../src/accounts/sessions.ts";
import { createTokenService } from "../src/accounts/tokens.ts";
import { purgeInteractions } from "../src/bots/interactions.ts";
import { BotHookPusher } from "../src/bots/pusher.ts";
import type { Config } from "../src/config.ts";
import { connectionStates, type DatabaseHandle, openDatabase, ping } from "../src/db/client.ts";
import { migrateDatabase, migrationStatus } from "../src/db/migrate.ts";
import { deliveryBacklog, purgeOutbox } from "../src/delivery/streams.ts";
import type { Deps, Federator } from "../src/deps.ts";
import { createApp, type Env, type Readiness } from "../src/http/app.ts";
import { purgeRateLimits } from "../src/http/rate-limit.ts";
import { RateLimiter } from "../src/http/rate-limiter.ts";
import { logger } from "../src/log.ts";
import { purgeEarlyEdits } from "../src/messages/remote.ts";
import { enforceRetention } from "../src/messages/retention.ts";
import { SendBatcher } from "../src/messages/send-batch.ts";
import { SendContextCache } from "../src/messages/send-context.ts";
import { Metrics, topDestinations } from "../src/metrics.ts";
import { purgeLinkPreviews } from "../src/previews/fetch.ts";
import { LinkPreviewer } from "../src/previews/previewer.ts";
import { type Secrets, urlSigningKey } from "../src/secrets.ts";
import { purgeEvents } from "../src/stream/events.ts";
import { Hub } from "../src/stream/hub.ts";
import { DeliveryWorker } from "./delivery.ts";
import { createChatFederation } from "./federation.ts";
import { gapWatcher } from "./inbox-fast.ts";
import { PostgresKvStore } from "./kv.ts";
import { fedifyMiddleware } from "./middleware.ts";
import { createFederator } from "./port.ts";
import { Publisher } from "./publisher.ts";
import { PostgresMessageQueue } from "./queue.ts";
import { RelayBatcher } from "./relay-batch.ts";
import { roomIdentifier } from "./rooms.ts";
import { createTracerProvider } from "./tracing.ts";
import { WorkGate } from "./work-gate.ts";

/** One running server: its app, its federation, and how to stop it. */
export interface Instance {
  readonly config: Config;
  readonly deps: Deps;
  readonly database: DatabaseHandle;
  readonly federation: Federation<Deps>;
  readonly queue: PostgresMessageQueue;
  readonly app: Hono<Env>;
  /** This process's live stream. */
  readonly hub: Hub;
  /** Starts this process's queue workers (`QUEUE_WORKERS` of them; none when 0). */
  startWorkers(): void;
  /** Stops sending deliveries (positions written back): first at shutdown, while our keys are still served. */
  stopDeliveries(): Promise<void>;
  /** Marks the instance as shutting down: `/readyz` answers 503 from now on. */
  drain(): void;
  /** Stops the workers (letting in-flight messages finish), the periodic jobs and the database. */
  close(): Promise<void>;
}

const log = logger("instance");

/**
 * The composition root: opens and migrates the database, then wires the domain, the HTTP app
 * and Fedify together. It lives in federation/ because it is the one place that needs both
 * layers; src/ never imports federation/. The Node entry, the Deno entry and tests call it.
 * @param config The parsed configuration.
 * @param options `secrets` (see src/secrets.ts); `database` to reuse an open database (tests).
 */
export async function createInstance(
  config: Config,
  options: { secrets: Secrets; database?: DatabaseHandle },
): Promise<Instance> {
  const database =
    options.database ??
    (await openDatabase({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
    }));
  try {
    await migrateDatabase(database);
  } catch (error) {
    if (options.database == null) await database.close();
    throw error;
  }
  let federator: Federator | undefined;
  const deps: Deps = {
    config,
    db: database.db,
    tokens: await createTokenService(options.secrets.jwtPrivateKey, config.origin),
    limits: new RateLimiter(database.db),
    auth: new AuthCache(),
    // Set below, once the federation that implements it exists.
    get federation() {
      return federator;
    },
    urlKey: urlSigningKey(options.secrets),
    sends: new SendBatcher(database.db),
    sendContexts: new SendContextCache(),
    previews: new LinkPreviewer(),
    profileLinks: new ProfileLinkVerifier(),
    exports: new ExportMaker(),
    metrics: new Metrics({ process: true }),
  };
  const kv = new PostgresKvStore(database.db);
  const queue = new PostgresMessageQueue(database, {
    pollIntervalMs: config.queuePollIntervalMs,
    concurrency: Math.max(1, config.queueWorkers),
  });
  const tracerProvider = createTracerProvider(config);
  const federation = createChatFederation({
    tracerProvider,
    origin: config.origin,
    kv,
    queue,
    allowPrivateAddress: config.allowPrivateAddress,
    instanceName: config.instanceName,
  });
  federator = createFederator(federation, deps);
  const publisher = new Publisher(federation, deps);
  const groups = federation.createContext(new URL(config.origin), deps);
  const delivery = new DeliveryWorker(deps, (roomId) => groups.getActorUri(roomIdentifier(roomId)), tracerProvider);

  let draining = false;
  const readiness = async (): Promise<Readiness> => {
    const checks: Record<string, string> = {};
    checks.shutdown = draining ? "shutting down" : "ok";
    try {
      await ping(database.db);
      checks.database = "ok";
      const migrations = await migrationStatus(database.db);
      checks.migrations = migrations.upToDate ? "ok" : `${migrations.applied} of ${migrations.expected} applied`;
    } catch {
      checks.database = "unreachable";
    }
    return { ready: Object.values(checks).every((v) => v === "ok"), checks };
  };

  const hub = new Hub(deps, database);
  await hub.start();
  deps.metrics.watch({
    openStreams: () => hub.size,
    deliveryBacklog: () => deliveryBacklog(deps.db, topDestinations),
    queueDepth: () => queue.depth(),
    databaseConnections: () => connectionStates(database),
    poolSize: database.driver === "postgres" ? config.databasePoolSize : 1,
  });
  const inboxGate = new WorkGate(config.inboxConcurrency);
  // Messages relayed into mirrors, taken by the inbox's fast path, are stored in batches.
  const relayBatcher = new RelayBatcher(deps, gapWatcher(federation, deps));
  const app = createApp(deps, {
    readiness,
    hub,
    frontends: [fedifyMiddleware(federation, inboxGate, relayBatcher)],
  });

  const workers = new AbortController();
  let working: Promise<void> | undefined;
  // Housekeeping: each is one statement, harmless when several processes run it.
  const purge = setInterval(
    () => {
      for (const [what, job] of [
        ["cache entries", () => kv.purgeExpired()],
        ["sessions", () => purgeSessions(deps)],
        ["rate limit counters", () => purgeRateLimits(deps)],
        ["stream events", () => purgeEvents(deps.db)],
        ["early edits", () => purgeEarlyEdits(deps)],
        ["delivered activities", () => purgeOutbox(deps.db)],
        ["link previews", () => purgeLinkPreviews(deps)],
        ["data exports", () => purgeExports(deps)],
        ["command interactions", () => purgeInteractions(deps)],
      ] as const) {
        job().catch((error) => log.warn("Purging expired {what} failed: {error}", { what, error }));
      }
    },
    10 * 60 * 1000,
  );
  purge.unref?.();
  // Room retention: a bounded run a minute (src/messages/retention.ts), one at a time.
  let retentionRun: Promise<unknown> | undefined;
  let retention: ReturnType<typeof setInterval> | undefined;
  const runRetention = () => {
    retentionRun ??= enforceRetention(deps)
      .catch((error) => log.warn("The retention job failed: {error}", { error }))
      .finally(() => {
        retentionRun = undefined;
      });
  };
  deps.limits.start();
  // Pushes room events to bots' URLs; safe in every process (see src/bots/pusher.ts).
  const botPusher = new BotHookPusher(deps);
  await botPusher.start(database);

  return {
    config,
    deps,
    database,
    federation,
    queue,
    app,
    hub,
    startWorkers() {
      if (working != null || config.queueWorkers === 0) return;
      working = federation.startQueue(deps, { signal: workers.signal });
      publisher
        .start(database)
        .catch((error) => log.error("The federation publisher did not start: {error}", { error }));
      delivery.start(database).catch((error) => log.error("The delivery streams did not start: {error}", { error }));
      deps.exports.start(deps);
      retention = setInterval(runRetention, 60_000);
      retention.unref?.();
      log.info("Started {count} queue workers.", { count: config.queueWorkers });
    },
    async stopDeliveries() {
      await delivery.stop();
    },
    drain() {
      draining = true;
    },
    async close() {
      draining = true;
      clearInterval(purge);
      clearInterval(retention);
      await retentionRun;
      await hub.stop();
      await botPusher.stop();
      // Card and profile link fetches are bounded by their deadline; they write to the database, which closes below.
      await deps.previews.settled();
      await deps.profileLinks.settled();
      await deps.exports.stop();
      // Hits counted since the last sync still count for the other processes.
      await deps.limits.stop();
      await publisher.stop();
      await delivery.stop();
      workers.abort();
      await working;
      await queue.close();
      // Sends the spans still in the batch.
      await tracerProvider?.shutdown().catch((error) => log.warn("Sending the last traces failed: {error}", { error }));
      if (options.database == null) await database.close();
    },
  };
}
