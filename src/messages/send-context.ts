import { and, eq, isNull, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { builtOnce } from "../db/client.ts";
import { actors, type Message, messages, type Room, roomMembers, rooms, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { type ActorProfile, actorProfiles, type ProfileRow, profileColumns, toProfile } from "../rooms/actors.ts";
import { checkAccess } from "../rooms/rooms.ts";

// What a send must know before its batch: the room, that the sender is a member, the sender's
// profile, and the messages it answers. The first three come from the process's
// SendContextCache when they can, so a send to a room it has sent to before runs no statement
// before its batch (issue 13).

const replied = alias(messages, "replied");
const threadRoot = alias(messages, "thread_root");

/** The statement of {@link sendingContext}, built once per database. */
const contextStatement = builtOnce((db) =>
  db
    .select({
      room: rooms,
      member: roomMembers,
      author: profileColumns,
      reply: replied,
      root: threadRoot,
    })
    .from(rooms)
    .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.actorId, sql.placeholder("actorId"))))
    .leftJoin(actors, eq(actors.id, sql.placeholder("actorId")))
    .leftJoin(users, eq(users.id, actors.userId))
    .leftJoin(replied, and(eq(replied.id, sql.placeholder("replyTo")), eq(replied.roomId, rooms.id)))
    .leftJoin(threadRoot, and(eq(threadRoot.id, sql.placeholder("threadRootId")), eq(threadRoot.roomId, rooms.id)))
    .where(and(eq(rooms.id, sql.placeholder("roomId")), isNull(rooms.deletedAt)))
    .prepare("fedchat_send_context"),
);

/** An id no row has, for a join on an absent reply. */
const nobody = "00000000-0000-0000-0000-000000000000";

/** What the cache keeps of a member's sends to a room. */
interface Known {
  readonly room: Room;
  readonly author: ActorProfile | undefined;
  /** `performance.now()` after which it is read again. */
  readonly until: number;
}

/**
 * Event types that never change a room's row, a membership or a profile: the ones every send,
 * reaction and read writes. Every other event (joins, leaves, kicks, bans, role and room
 * changes, deletions, profile changes, blocks...) empties the cache.
 */
const harmless = new Set([
  "message.created",
  "message.updated",
  "message.deleted",
  "message.previews",
  "reaction.added",
  "reaction.removed",
  "pins",
  "read",
  "thread.read",
  "notification",
]);

/**
 * The rooms, memberships and sender profiles that sends of this process found (issue 13), so a
 * member's next send to the same room needs no statement before its batch. It is emptied by
 * the event log, which every process's hub reads anyway: any event other than the
 * {@link harmless} ones clears it, in whichever process the change was made. Until the hub
 * has read such an event (milliseconds), a send may still be taken as a member's; the batch
 * statement checks membership and the room's deletion again under the room's lock, so no
 * send of a non-member is ever written, and such a refusal here is explained by reading the
 * context afresh. Only members are kept (a non-member who joins must not be refused from
 * memory), nor bots (a room's `allowBots` is checked from a fresh read only), entries are
 * read again after `maxAgeMs` in any case (a change made without an event, directly in the
 * database), and nothing is kept while no hub feeds the cache.
 */
export class SendContextCache {
  readonly #entries = new Map<string, Known>();
  readonly #maxAgeMs: number;
  readonly #maxEntries: number;
  /** Bumped by every clearing: a read that began before one is not kept. */
  #generation = 0;
  /** Hubs feeding this cache with the event log; nothing is kept without one. */
  #feeds = 0;
  /** Context reads answered from memory and from the database (for tests and the benchmark). */
  hits = 0;
  misses = 0;

  constructor(options: { maxAgeMs?: number; maxEntries?: number } = {}) {
    this.#maxAgeMs = options.maxAgeMs ?? 5000;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  /** A hub starts reading the event log into this cache; returns the function that stops it. */
  feed(): () => void {
    this.#feeds++;
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      this.#feeds--;
      this.clear();
    };
  }

  /** Told of each event the hub reads, in log order. */
  observe(type: string): void {
    if (!harmless.has(type)) this.clear();
  }

  /** Forgets everything. */
  clear(): void {
    this.#generation++;
    this.#entries.clear();
  }

  /** The generation a read starts in, for {@link keep}. */
  get generation(): number {
    return this.#generation;
  }

  get(roomId: string, actorId: string): Known | undefined {
    const key = `${roomId} ${actorId}`;
    const known = this.#entries.get(key);
    if (known == null) return undefined;
    if (known.until <= performance.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return known;
  }

  /** Keeps a member's context read in `generation`, unless the log has cleared the cache since. */
  keep(roomId: string, actorId: string, generation: number, context: Omit<Known, "until">): void {
    if (this.#feeds === 0 || generation !== this.#generation) return;
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(`${roomId} ${actorId}`, { ...context, until: performance.now() + this.#maxAgeMs });
  }

  forget(roomId: string, actorId: string): void {
    this.#entries.delete(`${roomId} ${actorId}`);
  }
}

/** What {@link sendingContext} found. */
export interface SendingContext {
  readonly room: Room;
  readonly reply: Message | undefined;
  readonly root: Message | undefined;
  readonly profiles: Map<string, ActorProfile>;
  /** Whether it came from memory (the batch's refusal then gets its reason read afresh). */
  readonly cached: boolean;
}

/**
 * What a send needs to know: the room and the sender's membership (checked as
 * {@link accessRoom} does), the sender's profile, the message answered and the thread's root
 * (in this room only). A plain message of a member who sent to the room before comes from
 * `deps.sendContexts` with no statement; otherwise one statement reads it all, the answered
 * author's profile takes a second, and a thread named by one of its replies a third, for its
 * root.
 * @param fresh Skip the cache (to explain a refusal the batch made).
 * @throws {AppError} `room_not_found`, `not_a_member`, `bots_forbidden`.
 */
export async function sendingContext(
  deps: Deps,
  roomId: string,
  actorId: string,
  replyTo: string | undefined,
  threadRootId: string | undefined,
  fresh = false,
): Promise<SendingContext> {
  const cache = deps.sendContexts;
  const plain = replyTo == null && threadRootId == null;
  if (plain && !fresh) {
    const known = cache.get(roomId, actorId);
    if (known) {
      cache.hits++;
      const profiles = new Map<string, ActorProfile>();
      if (known.author) profiles.set(known.author.id, known.author);
      return { room: known.room, reply: undefined, root: undefined, profiles, cached: true };
    }
  }
  cache.misses++;
  const generation = cache.generation;
  const [row] = await contextStatement(deps.db).execute({
    roomId,
    actorId,
    replyTo: replyTo ?? nobody,
    threadRootId: threadRootId ?? nobody,
  });
  const { room } = checkAccess(row?.room, row?.member ?? undefined, "member");
  if (!room.allowBots && row?.author?.bot === true) {
    throw new AppError("bots_forbidden", "This room does not allow bots to post.");
  }
  // Left-joined: every column may be null, the id included.
  const profile = (p: (Omit<ProfileRow, "id"> & { id: string | null }) | null | undefined) =>
    p?.id != null ? toProfile(deps, { ...p, id: p.id }) : undefined;
  const reply = row?.reply ?? undefined;
  const profiles = new Map<string, ActorProfile>();
  const author = profile(row?.author);
  if (author) profiles.set(author.id, author);
  // A bot is never kept: whether the room still allows bots is checked only here.
  if (row?.author?.bot !== true) cache.keep(roomId, actorId, generation, { room, author });
  // Another statement, for replies only.
  if (reply && !profiles.has(reply.authorId)) {
    for (const [id, p] of await actorProfiles(deps, [reply.authorId])) profiles.set(id, p);
  }
  let root = row?.root ?? undefined;
  // Threads are one level deep: a reply in a thread answers its root's thread.
  if (root?.threadRootId != null) {
    [root] = await deps.db.select().from(messages).where(eq(messages.id, root.threadRootId));
  }
  return { room, reply, root, profiles, cached: false };
}
