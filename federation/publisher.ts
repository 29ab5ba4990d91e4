import type { Context, Federation } from "@fedify/fedify";
import { type Activity, Add, Block, Delete, Remove, Update } from "@fedify/vocab";
import { and, asc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { DatabaseHandle, DatabaseLike } from "../src/db/client.ts";
import { actors, events, federationCursor, messages, type Room, rooms, type StreamEvent } from "../src/db/schema.ts";
import { type OutboxEntry, queueActivities } from "../src/delivery/streams.ts";
import type { Deps } from "../src/deps.ts";
import { logger } from "../src/log.ts";
import { messageUrl } from "../src/messages/views.ts";
import { eventsChannel } from "../src/stream/events.ts";
import { historyId, messageActivityJson } from "./history.ts";
import { answerActivity } from "./invitations.ts";
import {
  actorIri,
  addressing,
  deleteActivity,
  localActorIri,
  reactionActivity,
  signedJson,
  toNote,
  updateActivity,
} from "./notes.ts";
import { sendAccountDelete, sendProfileUpdate } from "./profiles.ts";
import { recipient, remoteMembers } from "./remote.ts";
import { roomAudience, roomCollectionUri, roomIdentifier, toGroup } from "./rooms.ts";
import { microblogOrigins } from "./software.ts";

const log = logger("publisher");

/** Events read per round. */
const batchSize = 50;
/** The least time from the start of one round to the next, while commits keep coming. */
const roundGapMs = 50;
/** How long a process may hold the cursor before another takes over (it crashed). */
const leaseSeconds = 5;

type Recipient = ReturnType<typeof recipient>;

/**
 * Tells other servers what happened in rooms hosted here. It reads the same event log as the
 * live stream, from a cursor kept in the database, so nothing committed is missed across
 * restarts: each event of a room with members elsewhere becomes an activity of the room's
 * `Group`, written once to the outbox with every inbox it goes to, in the same transaction
 * that moves the cursor. Delivery streams (delivery.ts) take it from there, one per
 * destination. Several processes take turns through a short lease on the cursor row.
 */
export class Publisher {
  readonly #federation: Federation<Deps>;
  readonly #deps: Deps;
  #timer: ReturnType<typeof setInterval> | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(federation: Federation<Deps>, deps: Deps) {
    this.#federation = federation;
    this.#deps = deps;
  }

  /**
   * Starts publishing: at once whenever the log's NOTIFY says something was written, and every
   * `intervalMs` anyway (a notification lost across a reconnect, a lease another process let
   * run out).
   */
  async start(database: DatabaseHandle, intervalMs = 1000): Promise<void> {
    this.#unlisten = await database.listen(eventsChannel, () => this.#kick());
    this.#timer = setInterval(() => this.#kick(), intervalMs);
    this.#kick();
  }

  /**
   * Runs one round now, or one more once the current one is done and {@link roundGapMs} has
   * passed since it began: a busy room's events go out a round per gap, not one round (six
   * statements) per commit.
   */
  #kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    const began = Date.now();
    this.#running = this.publishPending()
      .then(() => undefined)
      .catch((error) => log.warn("Publishing events failed: {error}", { error }))
      .finally(() => {
        if (!this.#again) {
          this.#running = undefined;
          return;
        }
        this.#again = false;
        const wait = Math.max(0, roundGapMs - (Date.now() - began));
        setTimeout(() => {
          this.#running = undefined;
          this.#kick();
        }, wait);
      });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#unlisten?.().catch(() => {});
    await this.#running;
  }

  /** Publishes what the log holds past the cursor; returns how many events were read. */
  async publishPending(): Promise<number> {
    const ctx = this.#federation.createContext(new URL(this.#deps.config.origin), this.#deps);
    const db = this.#deps.db;
    let total = 0;
    for (;;) {
      // A read first: an idle server writes nothing.
      const [pending] = await db
        .select({ position: events.position })
        .from(events)
        .where(gt(events.position, sql`(select ${federationCursor.position} from ${federationCursor} where id = 1)`))
        .limit(1);
      if (pending == null) return total;
      const [cursor] = await db
        .update(federationCursor)
        .set({ leasedUntil: sql`now() + make_interval(secs => ${leaseSeconds})` })
        .where(
          and(
            eq(federationCursor.id, 1),
            or(isNull(federationCursor.leasedUntil), lt(federationCursor.leasedUntil, sql`now()`)),
          ),
        )
        .returning();
      // Another process is publishing: it will get to these events.
      if (cursor == null) return total;
      let last = cursor.position;
      let entries: OutboxEntry[] = [];
      let batchLength = 0;
      try {
        const batch = await db
          .select()
          .from(events)
          .where(gt(events.position, cursor.position))
          .orderBy(asc(events.position))
          .limit(batchSize);
        entries = await outboxEntries(ctx, batch);
        last = batch.at(-1)?.position ?? last;
        batchLength = batch.length;
      } finally {
        // The outbox rows and the cursor move together: a crash before this reads the events again.
        await queueActivities(db, entries, last);
      }
      total += batchLength;
      if (batchLength < batchSize) return total;
    }
  }
}

/** What a batch of events tells other servers: one outbox entry per activity. */
async function outboxEntries(ctx: Context<Deps>, batch: StreamEvent[]): Promise<OutboxEntry[]> {
  const deps = ctx.data;
  const entries: OutboxEntry[] = [];
  const hosted = new Map<string, { room: Room; members: Recipient[] } | null>();
  for (const event of batch) {
    if (event.type === "profile.updated" && event.actorId != null) {
      // Not a room's: the user's own Update{Person}, through Fedify's queue.
      await sendProfileUpdate(ctx, event.actorId, event.position).catch((error) =>
        log.warn("The profile change {position} could not be sent: {error}", { position: event.position, error }),
      );
      continue;
    }
    if (event.type === "account.deleted" && event.actorId != null) {
      const { inboxes } = event.data as { inboxes?: unknown };
      const list = Array.isArray(inboxes) ? inboxes.filter((i): i is string => typeof i === "string") : [];
      await sendAccountDelete(ctx, event.actorId, list, event.position).catch((error) =>
        log.warn("The account deletion {position} could not be sent: {error}", { position: event.position, error }),
      );
      continue;
    }
    const roomId = event.roomId ?? (event.type === "room.deleted" ? (event.data as { roomId?: string }).roomId : null);
    if (roomId == null) continue;
    if (!hosted.has(roomId)) {
      const [room] = await deps.db
        .select()
        .from(rooms)
        .where(and(eq(rooms.id, roomId), isNull(rooms.iri)));
      hosted.set(roomId, room && !room.direct ? { room, members: await remoteMembers(deps, roomId) } : null);
    }
    const target = hosted.get(roomId);
    // Who is in the room is read again after a membership change: someone removed gets
    // nothing said after their removal.
    if (event.type === "member.joined" || event.type === "member.left") hosted.delete(roomId);
    if (target == null) continue;
    const extra = await extraRecipient(deps, event);
    // Rooms nobody elsewhere is in have nothing to tell.
    if (target.members.length === 0 && extra == null) continue;
    try {
      const json = await activityOf(ctx, target.room, event);
      if (json == null) continue;
      const recipients =
        event.type === "room.deleted" ? (extra ? [extra] : []) : [...target.members, ...(extra ? [extra] : [])];
      // One delivery per server that has a shared inbox.
      const inboxes = [...new Set(recipients.map((r) => (r.endpoints?.sharedInbox ?? r.inboxId).href))];
      if (inboxes.length === 0) continue;
      // Receivers number new messages; anything else must arrive in its place.
      const reorderable = event.type === "message.created";
      const boost = reorderable ? await microblogTelling(ctx, target.room, json, inboxes) : undefined;
      const own = boost ? inboxes.filter((inbox) => !boost.inboxes.includes(inbox)) : inboxes;
      const entry = { position: event.position, roomId: target.room.id, reorderable };
      if (own.length > 0) entries.push({ ...entry, body: JSON.stringify(json), inboxes: own });
      if (boost) entries.push({ ...entry, variant: 1, ...boost });
    } catch (error) {
      log.warn("Event {position} ({type}) could not be published: {error}", {
        position: event.position,
        type: event.type,
        error,
      });
    }
  }
  return entries;
}

/**
 * A new message in a public room as microblogs show it: the room's `Announce` of the note by
 * its id (which they fetch), for the inboxes on servers that run one. Undefined when none do.
 */
async function microblogTelling(
  ctx: Context<Deps>,
  room: Room,
  announce: Json,
  inboxes: readonly string[],
): Promise<{ body: string; inboxes: string[] } | undefined> {
  if (room.visibility !== "public" || room.direct) return undefined;
  const micro = await microblogOrigins(ctx.data, [...new Set(inboxes.map((inbox) => new URL(inbox).origin))]);
  const theirs = inboxes.filter((inbox) => micro.has(new URL(inbox).origin));
  const create = announce.object as Json | undefined;
  const note = create?.object;
  const noteId = typeof note === "string" ? note : (note as Json | undefined)?.id;
  if (theirs.length === 0 || typeof noteId !== "string") return undefined;
  const { "@context": context, id, type: _, object: __, ...addressed } = announce;
  const boost = { "@context": context, id: `${id}/note`, type: "Announce", ...addressed, object: noteId };
  return { body: JSON.stringify({ ...boost, published: new Date().toISOString() }), inboxes: theirs };
}

/** A removed member's server hears of the removal (they are no longer a member to send to). */
async function extraRecipient(deps: Deps, event: StreamEvent): Promise<Recipient | undefined> {
  if (event.type !== "member.left" && event.type !== "room.deleted") return undefined;
  const actorId = event.type === "member.left" ? (event.data as { actorId?: string }).actorId : event.actorId;
  if (actorId == null) return undefined;
  const [row] = await deps.db.select().from(actors).where(eq(actors.id, actorId));
  return row?.iri && row.inbox ? recipient(row) : undefined;
}

type Json = Record<string, unknown>;

/**
 * The activity of the room's `Group` that tells other servers about one event, as the JSON
 * sent. What a member did is announced with their activity embedded as it came (relayed from
 * another server) or as signed (a local member): never parsed or compacted again, which is
 * most of what publishing a message costs, and the author's proof verifies as it is.
 */
async function activityOf(ctx: Context<Deps>, room: Room, event: StreamEvent): Promise<Json | undefined> {
  const deps = ctx.data;
  const identifier = roomIdentifier(room.id);
  const group = ctx.getActorUri(identifier);
  const eventId = new URL(`${group.href}/events/${event.position}`);
  // Joins and leaves change the collection the room serves there.
  const members = roomCollectionUri(ctx, "members", identifier);
  const relayed = (event.activity as Json | null) ?? undefined;
  // A public room announces to everyone, as Lemmy does; a private one to its members only.
  const { tos, ccs } = addressing(roomAudience(ctx, room));
  const announce = (object: Json, id = eventId): Json => ({
    "@context": "https://www.w3.org/ns/activitystreams",
    id: id.href,
    type: "Announce",
    actor: group.href,
    object,
    to: tos.map((u) => u.href),
    ...(ccs.length ? { cc: ccs.map((u) => u.href) } : {}),
  });
  const own = async (activity: Activity) =>
    (await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader })) as Json;
  const data = event.data as Record<string, unknown>;
  switch (event.type) {
    case "message.created": {
      const id = (data.message as { id?: string } | undefined)?.id;
      if (id == null) return undefined;
      const [message] = await deps.db.select().from(messages).where(eq(messages.id, id));
      if (message == null) return undefined;
      const object = relayed ?? (await messageActivityJson(ctx, room, message));
      return object ? announce(object, historyId(group, message.seq)) : undefined;
    }
    case "message.updated": {
      if (relayed) return announce(relayed);
      const id = (data.message as { id?: string } | undefined)?.id;
      if (id == null) return undefined;
      const [message] = await deps.db.select().from(messages).where(eq(messages.id, id));
      const author = message ? await localActorIri(deps, message.authorId) : undefined;
      if (message == null || author == null || message.editedAt == null) return undefined;
      const note = await toNote(deps, message, author.iri, roomAudience(ctx, room));
      return announce(await signedJson(ctx, author.identifier, updateActivity(note, author.iri, message.editedAt)));
    }
    case "message.deleted": {
      if (relayed) return announce(relayed);
      const [message] = await deps.db
        .select()
        .from(messages)
        .where(eq(messages.id, String(data.id)));
      if (message == null) return undefined;
      const note = messageUrl(deps, message);
      const author = await localActorIri(deps, message.authorId);
      if (author && data.deletedBy === message.authorId) {
        return announce(await signedJson(ctx, author.identifier, deleteActivity(note, author.iri, group)));
      }
      // A moderator's delete is the room's own.
      return await own(new Delete({ id: eventId, actor: group, object: new URL(note), to: group }));
    }
    case "reaction.added":
    case "reaction.removed": {
      if (relayed) return announce(relayed);
      const actorId = (data.actor as { id?: string } | null)?.id;
      const reactor = actorId ? await localActorIri(deps, actorId) : undefined;
      const [message] = await deps.db
        .select()
        .from(messages)
        .where(eq(messages.id, String(data.messageId)));
      if (reactor == null || message == null) return undefined;
      const note = messageUrl(deps, message);
      const reaction = await reactionActivity(
        deps,
        reactor.iri,
        note,
        String(data.emoji),
        event.type === "reaction.added",
        group,
      );
      return announce(await signedJson(ctx, reactor.identifier, reaction));
    }
    case "invitation.updated": {
      // An invitee's answer: relayed as it came, or a local member's, signed by them.
      if (relayed) return announce(relayed);
      const actorId = (data.actor as { id?: string } | null)?.id;
      const invitee = actorId ? await localActorIri(deps, actorId) : undefined;
      const [message] = await deps.db
        .select()
        .from(messages)
        .where(eq(messages.id, String(data.messageId)));
      if (invitee == null || message == null) return undefined;
      const answer = data.answer === "accepted" ? "accepted" : "declined";
      return announce(
        await signedJson(
          ctx,
          invitee.identifier,
          answerActivity(invitee.iri, messageUrl(deps, message), answer, group),
        ),
      );
    }
    case "member.joined": {
      const actorId = (data.member as { actor?: { id?: string } } | undefined)?.actor?.id;
      const member = actorId ? await actorIri(deps, actorId) : undefined;
      return member
        ? await own(new Add({ id: eventId, actor: group, object: member, target: members, to: group }))
        : undefined;
    }
    case "member.left": {
      if (event.actorId != null) return undefined;
      const member = await actorIri(deps, String(data.actorId));
      if (member == null) return undefined;
      if (data.reason === "banned")
        return await own(new Block({ id: eventId, actor: group, object: member, to: member }));
      return await own(new Remove({ id: eventId, actor: group, object: member, target: members, to: group }));
    }
    case "pins": {
      // Lemmy's and Mastodon's convention: the Group adds to (or removes from) its `featured`.
      const [message] = await deps.db
        .select()
        .from(messages)
        .where(eq(messages.id, String(data.messageId)));
      if (message == null) return undefined;
      const Change = data.pinned === true ? Add : Remove;
      return await own(
        new Change({
          id: eventId,
          actor: group,
          object: new URL(messageUrl(deps, message)),
          target: roomCollectionUri(ctx, "featured", identifier),
          tos,
          ccs,
        }),
      );
    }
    case "room.updated": {
      const [current] = await deps.db.select().from(rooms).where(eq(rooms.id, room.id));
      if (current == null) return undefined;
      return await own(
        new Update({ id: eventId, actor: group, object: await toGroup(ctx, identifier, current), to: group }),
      );
    }
    case "room.deleted":
      return await own(new Delete({ id: new URL(`${group.href}#delete`), actor: group, object: group, to: group }));
    default:
      return undefined;
  }
}

/** For tests and benchmarks: the cursor's position. */
export async function publishedPosition(db: DatabaseLike): Promise<number> {
  const [row] = await db.select({ position: sql<number>`position`.mapWith(Number) }).from(federationCursor);
  return row?.position ?? 0;
}
