import { sql } from "drizzle-orm";
import { liveSessions } from "../accounts/sessions.ts";
import type { DatabaseHandle } from "../db/client.ts";
import { isDatabaseUnavailable } from "../db/errors.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { logger } from "../log.ts";
import { roomIdsOf } from "../rooms/members.ts";
import { ephemeralChannel, eventsChannel } from "./events.ts";
import {
  committedHead,
  eventsAfter,
  eventsForReplay,
  lazyData,
  oldestKept,
  type StreamRow,
  serialize,
} from "./log-reader.ts";
import { Presence } from "./presence.ts";
import { purgeTickets, redeemTicket } from "./tickets.ts";

/** Where a stream connection writes; each transport (WebSocket, SSE) provides one. */
export interface StreamSink {
  /** Writes one serialised event; returns false when the client is too far behind. */
  send(text: string): boolean;
  /** Holds writes back until {@link uncork}, to make one system call of several frames. */
  cork?(): void;
  uncork?(): void;
  /** Ends the connection with a code (WebSocket close codes; SSE just ends). */
  close(code: number, reason: string): void;
  /** How the client is connected, for the metrics. */
  readonly transport?: "websocket" | "sse";
}

/** Close codes the server uses. */
export const closeCodes = {
  /** The session ended (logout, revocation, expiry). */
  sessionEnded: 4001,
  /** The client fell too far behind. */
  slowConsumer: 4008,
  /** The server is shutting down; reconnect elsewhere or later. */
  goingAway: 1001,
} as const;

/** How many past events a reconnecting client may replay before it must resync. */
export const replayLimit = 10_000;
/**
 * How often the hub reads the log without being told to: a safety net for notifications that
 * never came, such as those sent while a LISTEN connection that was cut without a word (no
 * reset, no close) looked alive until TCP keepalive noticed. One query on the log's primary
 * key that returns no rows when nothing is new.
 */
export const pullIntervalMs = 5000;

/** At most this many frames to one connection go in one system call. */
const framesPerWrite = 16;

const log = logger("stream");

interface Connection {
  readonly actorId: string;
  readonly sessionId: string;
  readonly sink: StreamSink;
  rooms: Set<string>;
  /** Events that arrived while the replay ran. */
  pending: { position: number; text: string }[] | null;
  lastPosition: number;
}

/**
 * The live stream of one process. Every process LISTENs for new event positions; on each it
 * reads the new events once (one query for all its clients), serialises each once, and
 * writes the same text to every local connection that may see it: members of the event's
 * room, or the actor an event is addressed to. Membership is tracked per connection from the
 * events themselves, so delivery needs no query per recipient. Who is online is kept by
 * {@link Presence}, which the hub tells of arrivals, departures and presence changes.
 */
export class Hub {
  readonly #deps: Deps;
  readonly #database: DatabaseHandle;
  readonly #byRoom = new Map<string, Set<Connection>>();
  readonly #byActor = new Map<string, Set<Connection>>();
  #lastPosition = 0;
  #fetching: Promise<void> | null = null;
  #again = false;
  #unlisten: (() => Promise<void>)[] = [];
  /** Stops feeding the send path's cache (see `deps.sendContexts`); set while started. */
  #unfeed: (() => void) | undefined;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #poller: ReturnType<typeof setInterval> | undefined;
  readonly #pullIntervalMs: number;
  #stopped = false;
  /** During a round of live delivery: the connections written to, and how many frames each. */
  #round: Map<Connection, number> | null = null;
  /** This process's share of presence, told of first and last connections. */
  readonly #presence: Presence;

  /** The database, for checks made before a connection is handed to the hub (access rules). */
  get db(): Deps["db"] {
    return this.#deps.db;
  }

  /**
   * @param options `pullIntervalMs`: how often to read the log unprompted ({@link pullIntervalMs}).
   */
  constructor(deps: Deps, database: DatabaseHandle, options: { pullIntervalMs?: number } = {}) {
    this.#deps = deps;
    this.#database = database;
    this.#pullIntervalMs = options.pullIntervalMs ?? pullIntervalMs;
    this.#presence = new Presence(deps, {
      isConnected: (actorId) => this.#byActor.has(actorId),
      sendPresence: (roomIds, actorId, data) => this.#sendPresence(roomIds, actorId, data),
    });
  }

  /** Starts listening; events before this moment are reachable by replay only. */
  async start(): Promise<void> {
    this.#lastPosition = await committedHead(this.#deps.db);
    // Every event this hub reads from now on reaches the send path's cache first.
    this.#unfeed = this.#deps.sendContexts.feed();
    // A NOTIFY sent while the LISTEN connection is down reaches nobody: whenever the LISTEN is
    // (again) in place, read everything after the last position seen. The first time, that
    // also covers what was committed between reading the head and listening.
    this.#unlisten.push(
      await this.#database.listen(
        eventsChannel,
        () => this.#pull(),
        () => this.#pull(),
      ),
    );
    this.#unlisten.push(await this.#database.listen(ephemeralChannel, (payload) => this.#ephemeral(payload)));
    // Sessions that end (logout, revocation, suspension) lose their streams within seconds.
    this.#sweeper = setInterval(() => void this.sweepSessions(), 2000);
    (this.#sweeper as { unref?: () => void }).unref?.();
    this.#heartbeat = setInterval(() => void this.#presence.beat([...this.#byActor.keys()]), 10_000);
    (this.#heartbeat as { unref?: () => void }).unref?.();
    this.#poller = setInterval(() => this.#pull(), this.#pullIntervalMs);
    (this.#poller as { unref?: () => void }).unref?.();
  }

  /** Closes every connection and stops listening; calling it again does nothing. */
  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    clearInterval(this.#heartbeat);
    clearInterval(this.#poller);
    this.#unfeed?.();
    await this.#presence.stop();
    this.#stopped = true;
    for (const connection of this.#connections()) connection.sink.close(closeCodes.goingAway, "server shutting down");
    this.#byActor.clear();
    this.#byRoom.clear();
    for (const unlisten of this.#unlisten.splice(0)) await unlisten().catch(() => {});
  }

  /** The number of open connections in this process. */
  get size(): number {
    return [...this.#byActor.values()].reduce((n, set) => n + set.size, 0);
  }

  *#connections(): Iterable<Connection> {
    for (const set of this.#byActor.values()) yield* set;
  }

  /**
   * Redeems a stream ticket (tickets.ts) for a connection to this process.
   * @throws {AppError} `unauthenticated` for an unknown, used or expired ticket; `rate_limited`
   *   when the user has `STREAM_MAX_PER_USER` streams open in this process already.
   */
  async redeemTicket(ticket: string): Promise<{ actorId: string; sessionId: string }> {
    const who = await redeemTicket(this.#deps, ticket);
    const open = this.#byActor.get(who.actorId)?.size ?? 0;
    if (open >= this.#deps.config.streamMaxPerUser) {
      throw new AppError("rate_limited", `At most ${this.#deps.config.streamMaxPerUser} streams may be open at once.`, {
        headers: { "Retry-After": "10" },
      });
    }
    return who;
  }

  /**
   * Opens a connection: subscribes it first (buffering), replays what it missed since
   * `since`, then hands over to live delivery with nothing lost or repeated. A position older
   * than the replay window gets `{ type: "resync" }` and live events from now on.
   */
  async connect(who: { actorId: string; sessionId: string }, sink: StreamSink, since?: number): Promise<() => void> {
    if (this.#stopped) {
      sink.close(closeCodes.goingAway, "server shutting down");
      return () => {};
    }
    const connection: Connection = {
      ...who,
      sink,
      rooms: new Set(await roomIdsOf(this.#deps, who.actorId)),
      pending: [],
      lastPosition: since ?? this.#lastPosition,
    };
    this.#add(connection);
    this.#deps.metrics.streamsOpened.inc({ transport: sink.transport ?? "other" });
    try {
      if (since != null) await this.#replay(connection, since);
      else connection.sink.send(JSON.stringify({ type: "ready", position: this.#lastPosition, data: {} }));
    } finally {
      const pending = connection.pending ?? [];
      connection.pending = null;
      for (const item of pending) this.#write(connection, item.position, item.text);
    }
    return () => this.#remove(connection);
  }

  async #replay(connection: Connection, since: number): Promise<void> {
    // The head is the committed counter: another process may have written events this one
    // has not read yet. Replay up to it; live delivery skips what the replay already sent.
    const head = Math.max(this.#lastPosition, await committedHead(this.#deps.db));
    // Events before the oldest kept (all of them, when the log is empty) were purged.
    const firstKept = (await oldestKept(this.#deps.db)) ?? head + 1;
    const tooOld = since < firstKept - 1 || head - since > replayLimit;
    if (tooOld || since > head) {
      connection.lastPosition = head;
      connection.sink.send(JSON.stringify({ type: "resync", position: head, data: {} }));
      return;
    }
    const rooms = [...connection.rooms];
    const rows = await eventsForReplay(this.#deps.db, { since, head, rooms, actorId: connection.actorId });
    for (const row of rows) {
      if (!connection.sink.send(serialize(row, lazyData(row)))) {
        // Too far behind to take its own backlog: it must come back and resume from where
        // it got to, rather than miss the rest silently.
        this.#remove(connection);
        connection.sink.close(closeCodes.slowConsumer, "too far behind; reconnect with your last position");
        return;
      }
    }
    connection.lastPosition = head;
    connection.sink.send(JSON.stringify({ type: "ready", position: head, data: {} }));
  }

  #add(connection: Connection): void {
    const set = this.#byActor.get(connection.actorId) ?? new Set<Connection>();
    this.#byActor.set(connection.actorId, set);
    set.add(connection);
    for (const room of connection.rooms) this.#subscribe(connection, room);
    if (set.size === 1) void this.#presence.arrived(connection.actorId);
  }

  #remove(connection: Connection): void {
    const set = this.#byActor.get(connection.actorId);
    if (!set?.delete(connection)) return;
    for (const room of connection.rooms) this.#unsubscribe(connection, room);
    if (set.size > 0) return;
    this.#byActor.delete(connection.actorId);
    this.#presence.left(connection.actorId);
  }

  #subscribe(connection: Connection, roomId: string): void {
    connection.rooms.add(roomId);
    const set = this.#byRoom.get(roomId) ?? new Set<Connection>();
    this.#byRoom.set(roomId, set);
    set.add(connection);
  }

  #unsubscribe(connection: Connection, roomId: string): void {
    connection.rooms.delete(roomId);
    const set = this.#byRoom.get(roomId);
    set?.delete(connection);
    if (set?.size === 0) this.#byRoom.delete(roomId);
  }

  #write(connection: Connection, position: number, text: string): void {
    if (connection.pending) {
      connection.pending.push({ position, text });
      return;
    }
    if (position !== 0 && position <= connection.lastPosition) return;
    if (position !== 0) connection.lastPosition = position;
    if (this.#round) {
      // A round's frames to one connection leave in one system call, a few at a time (so
      // what waits in memory stays well under the slow-consumer limit).
      const written = this.#round.get(connection) ?? 0;
      if (written === 0) connection.sink.cork?.();
      else if (written % framesPerWrite === 0) {
        connection.sink.uncork?.();
        connection.sink.cork?.();
      }
      this.#round.set(connection, written + 1);
    }
    if (!connection.sink.send(text)) {
      this.#remove(connection);
      connection.sink.close(closeCodes.slowConsumer, "too far behind; reconnect with your last position");
    }
  }

  /** Reads every event after the last one seen, once, however many notifications came. */
  #pull(): void {
    if (this.#fetching) {
      this.#again = true;
      return;
    }
    this.#fetching = (async () => {
      do {
        this.#again = false;
        try {
          const rows = await eventsAfter(this.#deps.db, this.#lastPosition, 1000);
          const round = new Map<Connection, number>();
          this.#round = round;
          try {
            for (const row of rows) this.#dispatch(row);
            if (rows.length > 0) this.#deps.metrics.streamEvents.inc(rows.length);
          } finally {
            this.#round = null;
            for (const connection of round.keys()) connection.sink.uncork?.();
          }
          if (rows.length === 1000) this.#again = true;
        } catch (error) {
          // During an outage every pull fails until the database is back, and the next pull
          // (prompted by the reconnection, or the timer) catches up: nothing to alarm anyone.
          if (isDatabaseUnavailable(error)) log.warn("Reading new stream events failed: {error}", { error });
          else log.error("Reading new stream events failed: {error}", { error });
        }
      } while (this.#again);
      this.#fetching = null;
    })();
  }

  #dispatch(row: StreamRow) {
    this.#lastPosition = Math.max(this.#lastPosition, row.position);
    // A membership, room or profile change empties the send path's cache, in every process.
    this.#deps.sendContexts.observe(row.type);
    const data = lazyData(row);
    let text: string | undefined;
    const write = (connection: Connection) => {
      text ??= serialize(row, data);
      this.#write(connection, row.position, text);
    };
    if (row.roomId == null && row.actorId == null) {
      // For everyone (the server's emoji changed).
      for (const set of this.#byActor.values()) for (const connection of set) write(connection);
      return;
    }
    if (row.roomId == null) {
      if (row.audienceRooms || row.audienceActors) {
        for (const connection of this.#audience(row)) write(connection);
        return;
      }
      const recipients = this.#byActor.get(row.actorId ?? "");
      if (recipients == null) return;
      const roomId = (data() as { roomId?: unknown }).roomId;
      for (const connection of recipients) {
        // A deleted room's members get their own copy; the room is gone for them.
        if (row.type === "room.deleted" && typeof roomId === "string") this.#unsubscribe(connection, roomId);
        write(connection);
      }
      return;
    }
    if (row.type === "member.joined" || row.type === "member.left") {
      const member = data() as { member?: { actor?: { id?: string } }; actorId?: string };
      // A new member's connections subscribe before the event, so they see their own join.
      if (row.type === "member.joined" && member.member?.actor?.id) {
        for (const connection of this.#byActor.get(member.member.actor.id) ?? []) {
          this.#subscribe(connection, row.roomId);
        }
      }
      // Whoever leaves gets the copy addressed to them (as a replay would give them), not this one.
      if (row.type === "member.left" && member.actorId) {
        for (const connection of this.#byActor.get(member.actorId) ?? []) this.#unsubscribe(connection, row.roomId);
      }
    }
    for (const connection of [...(this.#byRoom.get(row.roomId) ?? [])]) write(connection);
  }

  /** The connections here an event with an audience goes to, each once: its actor's, and its rooms' and actors'. */
  #audience(row: StreamRow): Set<Connection> {
    const recipients = new Set<Connection>(this.#byActor.get(row.actorId ?? "") ?? []);
    for (const roomId of row.audienceRooms ?? []) for (const c of this.#byRoom.get(roomId) ?? []) recipients.add(c);
    for (const actorId of row.audienceActors ?? []) for (const c of this.#byActor.get(actorId) ?? []) recipients.add(c);
    return recipients;
  }

  /**
   * Sends an event that is not kept (typing, presence) to every process's room members. One
   * addressed to an actor (`actorId` in the payload, as `command.reply` is) goes to that actor's
   * connections alone.
   */
  async publishEphemeral(roomId: string, type: string, data: unknown): Promise<void> {
    const payload = JSON.stringify({ roomId, type, data });
    await this.#deps.db.execute(sql`select pg_notify(${ephemeralChannel}, ${payload})`);
  }

  #ephemeral(payload: string): void {
    let event: { roomId?: string; actorId?: string; type: string; data: unknown };
    try {
      event = JSON.parse(payload);
    } catch {
      return;
    }
    if (event.type === "presence" && event.actorId) {
      void this.#presence.deliver(event.actorId, event.data);
      return;
    }
    // Addressed to one actor (a bot's answer only its invoker sees): their connections alone.
    const recipients = event.actorId ? this.#byActor.get(event.actorId) : this.#byRoom.get(event.roomId ?? "");
    for (const connection of [...(recipients ?? [])]) {
      // Not replayed, so it carries the connection's own position and moves nothing.
      const text = JSON.stringify({ ...event, position: connection.lastPosition });
      this.#write(connection, 0, text);
    }
  }

  /** Writes a presence change to each connection here of someone else in one of the rooms, once each. */
  #sendPresence(roomIds: readonly string[], actorId: string, data: unknown): void {
    const recipients = new Set<Connection>();
    for (const roomId of roomIds) {
      for (const connection of this.#byRoom.get(roomId) ?? []) {
        if (connection.actorId !== actorId) recipients.add(connection);
      }
    }
    for (const connection of recipients) {
      this.#write(connection, 0, JSON.stringify({ type: "presence", position: connection.lastPosition, data }));
    }
  }

  /** Whether the actor has a local connection subscribed to the room. */
  isSubscribed(actorId: string, roomId: string): boolean {
    return [...(this.#byActor.get(actorId) ?? [])].some((c) => c.rooms.has(roomId));
  }

  /**
   * Closes (4001) the connections whose session has ended, and deletes expired tickets. Runs
   * every two seconds; a test may run it at any moment.
   */
  async sweepSessions(): Promise<void> {
    // Only the connections asked about are judged by the answer: one opened while the query
    // runs has a session the query never saw (and a live one: its ticket was just redeemed).
    const checked = [...this.#connections()];
    const ids = [...new Set(checked.map((c) => c.sessionId))];
    if (ids.length === 0) return;
    try {
      // A bot's session ends with its owner's suspension too (its tokens are refused meanwhile).
      const alive = await liveSessions(this.#deps, ids);
      for (const connection of checked) {
        if (!alive.has(connection.sessionId)) {
          this.#remove(connection);
          connection.sink.close(closeCodes.sessionEnded, "the session has ended");
        }
      }
      await purgeTickets(this.#deps);
    } catch (error) {
      log.warn("Checking stream sessions failed: {error}", { error });
    }
  }
}
