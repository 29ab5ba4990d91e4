/**
 * What is not queued, between servers of ours: typing notices, read positions and presence.
 * Activities of our own namespace, never queued: handled as they arrive (before Fedify, which
 * has no class for them), sent once, best effort, and only to servers whose NodeInfo says they
 * run this software (others would refuse them). FEDERATION.md describes the shapes.
 *
 * Typing and read positions belong to a room (this file):
 * - A member here in a remote room: their server sends `Typing` or `ReadUpTo` (actor and
 *   object the member, target the `Group`), signed by the member, to the `Group`'s inbox.
 * - A room hosted here: its server tells every other member server, as the `Group` (actor the
 *   `Group`, object the member), whoever it was.
 *
 * Presence belongs to a user, and goes straight to the servers that share a room with them
 * (federation/presence.ts).
 */
import { randomUUID } from "node:crypto";
import { type Context, signRequest } from "@fedify/fedify";
import type { Context as HonoContext } from "hono";
import { z } from "zod";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { AppError } from "../src/errors.ts";
import type { Env } from "../src/http/app.ts";
import { logger } from "../src/log.ts";
import { markRead } from "../src/messages/messages.ts";
import { membership } from "../src/rooms/rooms.ts";
import { typingTimeoutMs } from "../src/stream/routes.ts";
import { software } from "../src/version.ts";
import { DeliverySender, post, privateHost, publicLookup } from "./delivery-send.ts";
import { verifiedKey } from "./inbox-guard.ts";
import { hostedRoom } from "./inbox-messages.ts";
import { localActorIri } from "./notes.ts";
import { mirrorOf, remoteMembers, storedActorId } from "./remote.ts";
import { roomIdentifier } from "./rooms.ts";
import { softwareOf } from "./software.ts";

const log = logger("federation", "ephemeral");

/** The context of our own activities: ActivityStreams, and our terms under a URN of ours. */
export const ephemeralContext = [
  "https://www.w3.org/ns/activitystreams",
  {
    fedchat: "urn:fedchat:",
    Typing: "fedchat:Typing",
    typing: "fedchat:typing",
    ReadUpTo: "fedchat:ReadUpTo",
    seq: "fedchat:seq",
    Presence: "fedchat:Presence",
    status: "fedchat:status",
  },
];

/** The types of our activities that are not queued. */
const ephemeralTypes = new Set(["Typing", "ReadUpTo", "Presence"]);

const inRoom = { id: z.url(), actor: z.url(), object: z.url(), target: z.url() };
const roomNoticeSchema = z.discriminatedUnion("type", [
  z.object({ ...inRoom, type: z.literal("Typing"), typing: z.boolean() }),
  z.object({ ...inRoom, type: z.literal("ReadUpTo"), seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
]);
type RoomNotice = z.infer<typeof roomNoticeSchema>;

/** Whether an inbound activity is one of ours that is not queued. */
export function isEphemeral(json: { type?: unknown }): boolean {
  return typeof json.type === "string" && ephemeralTypes.has(json.type);
}

/** The inboxes among these on servers that run this software (and so take what is not queued). */
export async function ours(deps: Deps, inboxes: readonly string[]): Promise<string[]> {
  const origins = [...new Set(inboxes.map((inbox) => new URL(inbox).origin))];
  const known = await softwareOf(deps, origins);
  return inboxes.filter((inbox) => known.get(new URL(inbox).origin) === software.name);
}

/**
 * Posts one of our activities, signed by a local actor (a user, or the instance actor), to an
 * inbox, within 2 s, on a connection to a checked address as deliveries go.
 */
export async function postSigned(ctx: Context<Deps>, identifier: string, inbox: string, json: object): Promise<void> {
  const allow = ctx.data.config.allowPrivateAddress;
  const [key] = await ctx.getActorKeyPairs(identifier);
  if (key == null || privateHost(inbox, allow)) return;
  const body = JSON.stringify({ "@context": ephemeralContext, ...json });
  const request = new Request(inbox, {
    method: "POST",
    headers: { "content-type": "application/activity+json", accept: "application/activity+json" },
    body,
  });
  const signed = await signRequest(request, key.privateKey, key.keyId);
  await post(new URL(inbox), [...signed.headers], body, AbortSignal.timeout(2_000), publicLookup(allow));
}

/** This process's signer of what rooms here tell, by the process's dependencies. */
const senders = new WeakMap<Deps, DeliverySender>();
function senderFor(deps: Deps): DeliverySender {
  let sender = senders.get(deps);
  if (sender == null) {
    sender = new DeliverySender(deps, (roomId) => new URL(`${deps.config.origin}/${roomIdentifier(roomId)}`));
    senders.set(deps, sender);
  }
  return sender;
}

/**
 * What a room here tells each destination: one request in flight per inbox, and while it is,
 * only the latest notice of each kind and member waits (an older one would be out of date by
 * the time it could go).
 */
const outbound = new Map<string, Map<string, () => Promise<void>>>();

async function sendInTurn(inbox: string, key: string, send: () => Promise<void>): Promise<void> {
  const waiting = outbound.get(inbox);
  if (waiting) {
    waiting.set(key, send);
    return;
  }
  const queue = new Map([[key, send]]);
  outbound.set(inbox, queue);
  try {
    for (let next = queue.entries().next(); !next.done; next = queue.entries().next()) {
      const [k, work] = next.value;
      queue.delete(k);
      await work().catch((error: unknown) => log.debug("A notice to {inbox} failed: {error}", { inbox, error }));
    }
  } finally {
    outbound.delete(inbox);
  }
}

/** Sends what a room hosted here tells its other member servers, as its `Group`. */
async function relay(deps: Deps, room: Room, notice: RoomNotice, except?: string) {
  const sender = senderFor(deps);
  const inboxes = [
    ...new Set((await remoteMembers(deps, room.id)).map((r) => (r.endpoints?.sharedInbox ?? r.inboxId).href)),
  ];
  const targets = (await ours(deps, inboxes)).filter((inbox) => new URL(inbox).origin !== except);
  const body = JSON.stringify({ "@context": ephemeralContext, ...notice });
  const key = `${notice.type} ${notice.target} ${notice.object}`;
  await Promise.all(
    targets.map((inbox) =>
      sendInTurn(inbox, key, async () => {
        // A position of its own, so that its signature is not one a stream reuses.
        const item = { position: -Date.now(), roomId: room.id, body };
        await sender.deliver(inbox, item, null, AbortSignal.timeout(2_000));
      }),
    ),
  );
}

/** A local member's notice in a room (typing, or how far they read): told to the servers of its other members. */
async function tellRoom(
  ctx: Context<Deps>,
  actorId: string,
  room: Room,
  notice: { type: "Typing"; typing: boolean } | { type: "ReadUpTo"; seq: number },
): Promise<void> {
  const deps = ctx.data;
  const user = await localActorIri(deps, actorId);
  if (user == null) return;
  const tag = notice.type === "Typing" ? "typing" : "read";
  if (room.iri == null) {
    const group = ctx.getActorUri(roomIdentifier(room.id)).href;
    const id = `${group}#${tag}-${randomUUID()}`;
    await relay(deps, room, { ...notice, id, actor: group, object: user.iri.href, target: group });
    return;
  }
  const inbox = room.inbox;
  if (inbox == null || (await ours(deps, [inbox])).length === 0) return;
  const id = `${user.iri.href}#${tag}-${randomUUID()}`;
  const json = { ...notice, id, actor: user.iri.href, object: user.iri.href, target: room.iri };
  await sendInTurn(inbox, `${notice.type} ${room.iri} ${user.iri.href}`, () =>
    postSigned(ctx, user.identifier, inbox, json),
  );
}

/** A local member typing (or stopping) in a room: told to the servers of the room's other members. */
export async function sendTyping(ctx: Context<Deps>, actorId: string, room: Room, typing: boolean): Promise<void> {
  await tellRoom(ctx, actorId, room, { type: "Typing", typing });
}

/** How far a local member has read a room: told to the servers of the room's other members. */
export async function sendRead(ctx: Context<Deps>, actorId: string, room: Room, seq: number): Promise<void> {
  await tellRoom(ctx, actorId, room, { type: "ReadUpTo", seq });
}

/**
 * Takes a `Typing` or `ReadUpTo` delivered to an inbox here: checked (shape, signature by its
 * actor, a member of the room), shown to the room's clients here (a read position is also
 * kept, as a member's here is), and, for a room hosted here, told to its other member servers.
 * Answered at once.
 * @throws {AppError} `validation_failed`, `unauthenticated`, `forbidden`, `room_not_found`.
 */
export async function receiveRoomNotice(
  c: HonoContext<Env>,
  json: unknown,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<Response> {
  const deps = c.var.deps;
  const parsed = roomNoticeSchema.safeParse(json);
  if (!parsed.success) {
    throw new AppError(
      "validation_failed",
      "A Typing needs id, actor, object, target and typing; a ReadUpTo id, actor, object, target and seq.",
    );
  }
  const notice = parsed.data;
  const key = await verifiedKey(c, bytes);
  if (key == null || key.ownerId?.href !== notice.actor) {
    throw new AppError("unauthenticated", `A ${notice.type} must be signed by its actor.`);
  }
  const target = new URL(notice.target);
  const hosted = await hostedRoom(deps, target);
  const mirror = hosted ? undefined : await mirrorOf(deps, target);
  const room = hosted ?? mirror;
  if (room == null || room.deletedAt) throw new AppError("room_not_found", "No such room here.");
  // In a room hosted here members speak for themselves; in a mirror, only its Group speaks.
  if (hosted ? notice.object !== notice.actor : notice.actor !== mirror?.iri) {
    throw new AppError("forbidden", "Only a member, or the room's own server, tells this of a member.");
  }
  const actorId = await storedActorId(deps, new URL(notice.object));
  if (actorId == null || (await membership(deps.db, room.id, actorId)) == null) {
    throw new AppError("forbidden", "Only a member of the room types and reads in it.");
  }
  if (notice.type === "Typing") {
    await c.var.hub?.publishEphemeral(room.id, "typing", { actorId, typing: notice.typing, timeout: typingTimeoutMs });
  } else {
    await markRead(deps, actorId, room.id, notice.seq);
  }
  if (hosted) {
    const group = `${deps.config.origin}/${roomIdentifier(room.id)}`;
    const relayed = { ...notice, id: `${group}#relayed-${randomUUID()}`, actor: group };
    relay(deps, room, relayed, new URL(notice.actor).origin).catch((error: unknown) =>
      log.debug("A notice could not be relayed: {error}", { error }),
    );
  }
  return c.body(null, 202);
}
