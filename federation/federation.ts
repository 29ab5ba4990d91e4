import {
  createExponentialBackoffPolicy,
  createFederation,
  exportJwk,
  type Federation,
  generateCryptoKeyPair,
  importJwk,
  type KvStore,
  type MessageQueue,
} from "@fedify/fedify";
import { Application, Endpoints, Tombstone } from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import type { TracerProvider } from "@opentelemetry/api";
import { eq } from "drizzle-orm";
import { findUser, userCounts } from "../src/accounts/accounts.ts";
import { serverKeys } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { publicLocalMessageCount } from "../src/messages/counts.ts";
import { roomKeyPairs } from "../src/rooms/keys.ts";
import { software } from "../src/version.ts";
import { contextLoader } from "./contexts.ts";
import { guardFetches } from "./fetch.ts";
import { historyDispatchers } from "./history.ts";
import { inboxHandlers } from "./inbox.ts";
import { countedListeners } from "./inbox-metrics.ts";
import { dropUnreachableMembers } from "./remote.ts";
import { roomCollections } from "./room-collections.ts";
import { roomIdentifier, roomOf, toGroup } from "./rooms.ts";
import { deletedUserOf, keyPairsOf, toPerson, userIdentifier, userOf } from "./users.ts";

/** The identifier of the instance actor in the shared actor dispatcher. */
export const instanceActorIdentifier = "actor";

/** Options of {@link createChatFederation}. */
export interface ChatFederationOptions {
  readonly origin: string;
  readonly kv: KvStore;
  readonly queue: MessageQueue;
  /** Lets Fedify reach loopback and private addresses: tests only. */
  readonly allowPrivateAddress: boolean;
  readonly instanceName: string;
  /** Where Fedify's spans go (see tracing.ts); the global provider when absent. */
  readonly tracerProvider?: TracerProvider | undefined;
}

/**
 * Deliveries are retried with exponential backoff up to 6 hours apart, 28 attempts: at least
 * three and a half days in all, so a peer that is down over a long weekend still gets
 * everything. (Fedify's default gives up after about half an hour.)
 */
export const outboxRetryPolicy = createExponentialBackoffPolicy({
  initialDelay: { seconds: 1 },
  maxDelay: { hours: 6 },
  maxAttempts: 28,
});

/**
 * Makes {@link contextLoader} the loader of every JSON-LD context Fedify reads. Fedify takes a
 * `contextLoaderFactory` option only without `allowPrivateAddress` and `userAgent`, which we
 * need (tests reach loopback peers; every request names the software), so the factory its
 * constructor built is replaced. Checked, so that a Fedify that no longer has it fails at
 * startup instead of fetching contexts again.
 */
function useContextLoader(federation: Federation<Deps>): void {
  const internals = federation as unknown as { contextLoaderFactory?: unknown };
  if (typeof internals.contextLoaderFactory !== "function") {
    throw new Error("This Fedify has no contextLoaderFactory to replace: see federation/contexts.ts.");
  }
  internals.contextLoaderFactory = () => contextLoader;
}

type KeyPurpose = "instance:rsa" | "instance:ed25519";

/**
 * The server's own key pairs, generated on first use by whichever process gets there first
 * (insert-or-nothing, then read back, so concurrent processes agree on one key).
 */
async function serverKeyPair(deps: Deps, purpose: KeyPurpose): Promise<CryptoKeyPair> {
  let [row] = await deps.db.select().from(serverKeys).where(eq(serverKeys.purpose, purpose));
  if (row == null) {
    const pair = await generateCryptoKeyPair(purpose === "instance:rsa" ? "RSASSA-PKCS1-v1_5" : "Ed25519");
    await deps.db
      .insert(serverKeys)
      .values({ purpose, privateKey: await exportJwk(pair.privateKey), publicKey: await exportJwk(pair.publicKey) })
      .onConflictDoNothing();
    [row] = await deps.db.select().from(serverKeys).where(eq(serverKeys.purpose, purpose));
    if (row == null) throw new Error(`The ${purpose} key could not be stored.`);
  }
  return {
    privateKey: await importJwk(row.privateKey as JsonWebKey, "private"),
    publicKey: await importJwk(row.publicKey as JsonWebKey, "public"),
  };
}

/**
 * Builds the one Fedify `Federation` of this server: durable KV store and queue, our retry
 * policy, NodeInfo, and the shared actor dispatcher (Fedify allows one; users and rooms join
 * the instance actor there as their issues land).
 */
export function createChatFederation(options: ChatFederationOptions): Federation<Deps> {
  guardFetches();
  const federation = createFederation<Deps>({
    kv: options.kv,
    queue: options.queue,
    manuallyStartQueue: true,
    origin: options.origin,
    allowPrivateAddress: options.allowPrivateAddress,
    ...(options.tracerProvider ? { tracerProvider: options.tracerProvider } : {}),
    userAgent: { software: `${software.name}/${software.version}`, url: options.origin },
    outboxRetryPolicy,
    // A server that keeps failing is left alone for a while instead of being hammered; what
    // it misses is held (four days) and sent once it answers again.
    circuitBreaker: {
      failureThreshold: 20,
      failureWindow: { minutes: 10 },
      recoveryDelay: { minutes: 2 },
      heldActivityTtl: { days: 4 },
    },
  });

  useContextLoader(federation);

  const instanceHandle = new URL(options.origin).hostname;
  const keyCache = new Map<KeyPurpose, Promise<CryptoKeyPair>>();
  const cachedKeyPair = (deps: Deps, purpose: KeyPurpose) => {
    let pending = keyCache.get(purpose);
    if (pending == null) {
      pending = serverKeyPair(deps, purpose);
      pending.catch(() => keyCache.delete(purpose));
      keyCache.set(purpose, pending);
    }
    return pending;
  };

  federation
    .setActorDispatcher("/{+identifier}", async (ctx, identifier) => {
      if (identifier !== instanceActorIdentifier) {
        const user = await userOf(ctx.data, identifier);
        if (user) return toPerson(ctx, identifier, user);
        // A deleted account answers 410 Gone, as Mastodon's do.
        const gone = await deletedUserOf(ctx.data, identifier);
        if (gone?.deletedAt) {
          return new Tombstone({
            id: ctx.getActorUri(identifier),
            deleted: Temporal.Instant.fromEpochMilliseconds(gone.deletedAt.getTime()),
          });
        }
        const room = await roomOf(ctx.data, identifier);
        return room ? toGroup(ctx, identifier, room) : null;
      }
      const keys = await ctx.getActorKeyPairs(identifier);
      return new Application({
        id: ctx.getActorUri(identifier),
        preferredUsername: instanceHandle,
        name: options.instanceName,
        summary: `The instance actor of ${options.instanceName}: it signs this server's own requests.`,
        url: new URL("/", ctx.origin),
        inbox: ctx.getInboxUri(identifier),
        outbox: ctx.getOutboxUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        manuallyApprovesFollowers: true,
        publicKey: keys[0]?.cryptographicKey,
        assertionMethods: keys.map((k) => k.multikey),
      });
    })
    .mapHandle(async (ctx, username) => {
      if (username === instanceHandle) return instanceActorIdentifier;
      const user = await findUser(ctx.data, username);
      if (user) return userIdentifier(user.username);
      const room = await roomOf(ctx.data, roomIdentifier(username.toLowerCase()));
      return room?.visibility === "public" ? roomIdentifier(room.id) : null;
    })
    .setKeyPairsDispatcher(async (ctx, identifier) => {
      if (identifier === instanceActorIdentifier) {
        return [await cachedKeyPair(ctx.data, "instance:rsa"), await cachedKeyPair(ctx.data, "instance:ed25519")];
      }
      const user = (await userOf(ctx.data, identifier)) ?? (await deletedUserOf(ctx.data, identifier));
      if (user) return await keyPairsOf(user);
      const room = await roomOf(ctx.data, identifier);
      return room ? await keyPairsOf(await roomKeyPairs(ctx.data, room.id)) : [];
    });

  inboxHandlers(
    countedListeners(federation.setInboxListeners("/{+identifier}/inbox", "/inbox").withIdempotency("global")),
  );
  historyDispatchers(federation);
  roomCollections(federation);

  // A member whose inbox answers 404 or 410 for good is gone: they leave the room.
  federation.setOutboxPermanentFailureHandler(async (ctx, { inbox, activity }) => {
    const room = activity.actorId ? /\/rooms\/([0-9a-f-]{36})$/.exec(activity.actorId.pathname)?.[1] : undefined;
    if (room == null) return;
    await dropUnreachableMembers(ctx.data, room, inbox);
  });

  federation.setNodeInfoDispatcher("/nodeinfo/2.1", async (ctx) => {
    const users = await userCounts(ctx.data);
    return {
      software: {
        name: software.name,
        version: software.version,
      },
      protocols: ["activitypub"],
      services: { inbound: [], outbound: [] },
      openRegistrations: true,
      usage: {
        users: { total: users.total, activeHalfyear: users.halfYear, activeMonth: users.month },
        localPosts: await publicLocalMessageCount(ctx.data),
        localComments: 0,
      },
      metadata: { nodeName: options.instanceName },
    };
  });

  return federation;
}
