import { randomUUID } from "node:crypto";
import { and, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { DatabaseLike } from "../db/client.ts";
import { presence, roomMembers } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { logger } from "../log.ts";
import { ephemeralChannel } from "./events.ts";

/** A presence row older than this belongs to a process that is gone. */
export const presenceFreshSeconds = 30;
/** A user whose last connection closed stays online this long (a reload is not a departure). */
export const presenceGraceMs = 5000;
/**
 * How long another server's word that a user is online holds unless it says so again: it
 * repeats it every {@link remotePresenceRepeatMs}, and a server that goes away stops.
 */
export const remotePresenceSeconds = 300;
/** How often this server repeats to other servers who of its users is online. */
export const remotePresenceRepeatMs = 120_000;

const log = logger("stream");

/** The actors among `actorIds` that have a live stream on some server process. */
export async function onlineActors(db: DatabaseLike, actorIds: readonly string[]): Promise<Set<string>> {
  if (actorIds.length === 0) return new Set();
  const rows = await db
    .selectDistinct({ actorId: presence.actorId })
    .from(presence)
    .where(
      and(
        inArray(presence.actorId, [...actorIds]),
        gt(presence.seenAt, sql`now() - make_interval(secs => ${presenceFreshSeconds})`),
      ),
    );
  return new Set(rows.map((r) => r.actorId));
}

/** Tells every process that a user came online or went offline. */
async function announce(db: DatabaseLike, actorId: string, status: "online" | "offline"): Promise<void> {
  const payload = JSON.stringify({ type: "presence", actorId, data: { actorId, status } });
  await db.execute(sql`select pg_notify(${ephemeralChannel}, ${payload})`);
}

/** Whether the actor has a fresh presence row other than `nodeId`'s. */
async function onlineElsewhere(db: DatabaseLike, actorId: string, nodeId: string): Promise<boolean> {
  const [row] = await db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(presence)
    .where(
      and(
        eq(presence.actorId, actorId),
        sql`${presence.nodeId} <> ${nodeId}`,
        gt(presence.seenAt, sql`now() - make_interval(secs => ${presenceFreshSeconds})`),
      ),
    );
  return (row?.n ?? 0) > 0;
}

/**
 * What another server tells of its users' presence: kept as rows of a node named by its
 * origin, fresh for {@link remotePresenceSeconds} (the heartbeat of the processes here forgets
 * them after that, and announces the departure), and announced here when it changes something.
 * @param actorIds Stored actors of that origin, each a member of some room here.
 */
export async function recordRemotePresence(
  db: DatabaseLike,
  origin: string,
  actorIds: readonly string[],
  status: "online" | "offline",
): Promise<void> {
  const holdsFor = remotePresenceSeconds - presenceFreshSeconds;
  for (const actorId of actorIds) {
    const before = await onlineElsewhere(db, actorId, origin);
    if (status === "online") {
      const [row] = await db
        .insert(presence)
        .values({ actorId, nodeId: origin, seenAt: sql`now() + make_interval(secs => ${holdsFor})` })
        .onConflictDoUpdate({
          target: [presence.actorId, presence.nodeId],
          set: { seenAt: sql`now() + make_interval(secs => ${holdsFor})` },
        })
        // Whether the row is new: `xmax` is 0 for an inserted row (a Postgres detail).
        .returning({ inserted: sql<boolean>`(xmax = 0)` });
      if (!before && row?.inserted) await announce(db, actorId, "online");
    } else {
      const gone = await db
        .delete(presence)
        .where(and(eq(presence.actorId, actorId), eq(presence.nodeId, origin)))
        .returning({ actorId: presence.actorId });
      if (!before && gone.length > 0) await announce(db, actorId, "offline");
    }
  }
}

/** What presence needs of the hub that holds this process's connections. */
export interface PresenceHost {
  /** Whether the actor has a connection open in this process. */
  isConnected(actorId: string): boolean;
  /**
   * Writes a presence change to each connection in this process of someone other than
   * `actorId` who is in one of the rooms, once each.
   */
  sendPresence(roomIds: readonly string[], actorId: string, data: unknown): void;
}

/**
 * Presence: online while any process holds a connection of the user. Each process keeps a row
 * per connected user in `presence`, refreshed by {@link Presence.beat}; changes are announced on
 * the ephemeral channel, and every process hands them to its own connections
 * ({@link Presence.deliver}).
 */
export class Presence {
  readonly #deps: Deps;
  readonly #host: PresenceHost;
  #stopped = false;
  /** This process, in the presence table. */
  readonly #nodeId = randomUUID();
  readonly #goingOffline = new Map<string, ReturnType<typeof setTimeout>>();
  /** When this process last repeated its users' presence to other servers. */
  #repeatedAt = Date.now();

  constructor(deps: Deps, host: PresenceHost) {
    this.#deps = deps;
    this.#host = host;
  }

  /** Forgets pending departures and, the first time, deletes this process's rows. */
  async stop(): Promise<void> {
    for (const timer of this.#goingOffline.values()) clearTimeout(timer);
    this.#goingOffline.clear();
    if (!this.#stopped)
      await this.#deps.db
        .delete(presence)
        .where(eq(presence.nodeId, this.#nodeId))
        .catch(() => {});
    this.#stopped = true;
  }

  /** Whether another process, or another server, has a fresh presence row for the actor. */
  async #elsewhere(actorId: string): Promise<boolean> {
    return await onlineElsewhere(this.#deps.db, actorId, this.#nodeId);
  }

  /** The actor's first connection in this process opened. */
  async arrived(actorId: string): Promise<void> {
    const pending = this.#goingOffline.get(actorId);
    if (pending) {
      // Back within the grace period: nobody was told they left.
      clearTimeout(pending);
      this.#goingOffline.delete(actorId);
      return;
    }
    try {
      const known = await this.#elsewhere(actorId);
      await this.#deps.db
        .insert(presence)
        .values({ actorId, nodeId: this.#nodeId })
        .onConflictDoUpdate({ target: [presence.actorId, presence.nodeId], set: { seenAt: sql`now()` } });
      if (!known) await this.#announce(actorId, "online");
    } catch (error) {
      log.warn("Recording presence failed: {error}", { error });
    }
  }

  /** The actor's last connection in this process closed: they leave after {@link presenceGraceMs}. */
  left(actorId: string): void {
    this.#goingOffline.set(
      actorId,
      setTimeout(() => {
        this.#goingOffline.delete(actorId);
        if (!this.#host.isConnected(actorId)) void this.#depart(actorId);
      }, presenceGraceMs),
    );
  }

  async #depart(actorId: string): Promise<void> {
    try {
      await this.#deps.db.delete(presence).where(and(eq(presence.actorId, actorId), eq(presence.nodeId, this.#nodeId)));
      if (!(await this.#elsewhere(actorId))) await this.#announce(actorId, "offline");
    } catch (error) {
      log.warn("Recording presence failed: {error}", { error });
    }
  }

  async #announce(actorId: string, status: "online" | "offline"): Promise<void> {
    await announce(this.#deps.db, actorId, status);
    // Other servers that share a room with the user learn it too, best effort.
    this.#deps.federation?.sendPresence([actorId], status).catch((error: unknown) => {
      log.debug("Presence could not be told to other servers: {error}", { error });
    });
  }

  /**
   * Keeps this process's rows fresh, and announces users whose only process went away.
   * @param local The actors connected in this process.
   */
  async beat(local: string[]): Promise<void> {
    try {
      if (local.length > 0) {
        await this.#deps.db
          .update(presence)
          .set({ seenAt: sql`now()` })
          .where(and(eq(presence.nodeId, this.#nodeId), inArray(presence.actorId, local)));
        if (Date.now() - this.#repeatedAt >= remotePresenceRepeatMs) {
          this.#repeatedAt = Date.now();
          this.#deps.federation?.sendPresence(local, "online").catch((error: unknown) => {
            log.debug("Presence could not be repeated to other servers: {error}", { error });
          });
        }
      }
      const stale = await this.#deps.db
        .delete(presence)
        .where(lte(presence.seenAt, sql`now() - make_interval(secs => ${presenceFreshSeconds})`))
        .returning({ actorId: presence.actorId });
      for (const actorId of new Set(stale.map((row) => row.actorId))) {
        if (!this.#host.isConnected(actorId) && !(await this.#elsewhere(actorId)))
          await this.#announce(actorId, "offline");
      }
    } catch (error) {
      log.warn("The presence heartbeat failed: {error}", { error });
    }
  }

  /** A presence change goes to everyone else who shares a room with the user, once each. */
  async deliver(actorId: string, data: unknown): Promise<void> {
    try {
      const rows = await this.#deps.db
        .select({ roomId: roomMembers.roomId })
        .from(roomMembers)
        .where(eq(roomMembers.actorId, actorId));
      this.#host.sendPresence(
        rows.map((row) => row.roomId),
        actorId,
        data,
      );
    } catch (error) {
      log.warn("Delivering presence failed: {error}", { error });
    }
  }
}
