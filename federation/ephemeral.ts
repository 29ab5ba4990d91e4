/**
 * What is not kept, between servers of ours: typing notices. A `Typing` activity of our own
 * namespace, never queued or stored: handled as it arrives (before Fedify, which has no class
 * for it), delivered once, best effort, and only to servers whose NodeInfo says they run this
 * software (others would refuse it). FEDERATION.md describes the shape.
 *
 * - A member here typing in a remote room: their server sends `Typing` (actor and object the
 *   member, target the `Group`), signed by the member, to the `Group`'s inbox.
 * - A room hosted here: its server tells every other member server, as the `Group` (actor the
 *   `Group`, object the member), whoever typed.
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
  { fedchat: "urn:fedchat:", Typing: "fedchat:Typing", typing: "fedchat:typing" },
];

const typingSchema = z.object({
  id: z.url(),
  type: z.literal("Typing"),
  actor: z.url(),
  object: z.url(),
  target: z.url(),
  typing: z.boolean(),
});
type Typing = z.infer<typeof typingSchema>;

/** Whether an inbound activity is one of ours that is not kept. */
export function isEphemeral(json: { type?: unknown }): boolean {
  return json.type === "Typing";
}

/** The origins among these that run this software (and so take what is not kept). */
async function ours(deps: Deps, inboxes: readonly string[]): Promise<string[]> {
  const origins = [...new Set(inboxes.map((inbox) => new URL(inbox).origin))];
  const known = await softwareOf(deps, origins);
  return inboxes.filter((inbox) => known.get(new URL(inbox).origin) === software.name);
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

/** Ephemeral deliveries in flight, by destination: a slow server never holds more than one. */
const inFlight = new Set<string>();

/**
 * Sends what a room hosted here tells its other member servers, as its `Group`: once, within
 * 2 s, and not at all to a server still busy with the last one.
 */
async function relay(deps: Deps, room: Room, json: Typing, except?: string) {
  const sender = senderFor(deps);
  const inboxes = [
    ...new Set((await remoteMembers(deps, room.id)).map((r) => (r.endpoints?.sharedInbox ?? r.inboxId).href)),
  ];
  const targets = (await ours(deps, inboxes)).filter((inbox) => new URL(inbox).origin !== except);
  const body = JSON.stringify({ "@context": ephemeralContext, ...json });
  await Promise.all(
    targets
      .filter((inbox) => !inFlight.has(inbox))
      .map(async (inbox) => {
        inFlight.add(inbox);
        try {
          // A position of its own, so that its signature is not one a stream reuses.
          const item = { position: -Date.now(), roomId: room.id, body };
          await sender.deliver(inbox, item, null, AbortSignal.timeout(2_000));
        } finally {
          inFlight.delete(inbox);
        }
      }),
  );
}

/** A local member typing (or stopping) in a room: told to the servers of the room's other members. */
export async function sendTyping(ctx: Context<Deps>, actorId: string, room: Room, typing: boolean): Promise<void> {
  const deps = ctx.data;
  const user = await localActorIri(deps, actorId);
  if (user == null) return;
  if (room.iri == null) {
    const group = ctx.getActorUri(roomIdentifier(room.id));
    const json = { id: `${group.href}#typing-${randomUUID()}`, type: "Typing" as const, actor: group.href };
    await relay(deps, room, { ...json, object: user.iri.href, target: group.href, typing });
    return;
  }
  if (room.inbox == null || (await ours(deps, [room.inbox])).length === 0) return;
  const json = {
    "@context": ephemeralContext,
    id: `${user.iri.href}#typing-${randomUUID()}`,
    type: "Typing",
    actor: user.iri.href,
    object: user.iri.href,
    target: room.iri,
    typing,
  };
  const [key] = await ctx.getActorKeyPairs(user.identifier);
  const allow = deps.config.allowPrivateAddress;
  if (key == null || privateHost(room.inbox, allow)) return;
  const body = JSON.stringify(json);
  const request = new Request(room.inbox, {
    method: "POST",
    headers: { "content-type": "application/activity+json", accept: "application/activity+json" },
    body,
  });
  const signed = await signRequest(request, key.privateKey, key.keyId);
  // On a connection to a checked address, as deliveries go.
  await post(new URL(room.inbox), [...signed.headers], body, AbortSignal.timeout(2_000), publicLookup(allow));
}

/**
 * Takes a `Typing` delivered to an inbox here: checked (shape, signature by its actor, a member
 * of the room), shown to the room's clients here, and, for a room hosted here, told to its other
 * member servers. Answered at once; nothing is stored.
 * @throws {AppError} `validation_failed`, `unauthenticated`, `forbidden`, `room_not_found`.
 */
export async function receiveEphemeral(
  c: HonoContext<Env>,
  json: unknown,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<Response> {
  const deps = c.var.deps;
  const parsed = typingSchema.safeParse(json);
  if (!parsed.success)
    throw new AppError("validation_failed", "A Typing activity needs id, actor, object, target and typing.");
  const typing = parsed.data;
  const key = await verifiedKey(c, bytes);
  if (key == null || key.ownerId?.href !== typing.actor) {
    throw new AppError("unauthenticated", "A Typing must be signed by its actor.");
  }
  const target = new URL(typing.target);
  const hosted = await hostedRoom(deps, target);
  const mirror = hosted ? undefined : await mirrorOf(deps, target);
  const room = hosted ?? mirror;
  if (room == null || room.deletedAt) throw new AppError("room_not_found", "No such room here.");
  // In a room hosted here members speak for themselves; in a mirror, only its Group speaks.
  if (hosted ? typing.object !== typing.actor : typing.actor !== mirror?.iri) {
    throw new AppError("forbidden", "Only a member, or the room's own server, tells who is typing.");
  }
  const actorId = await storedActorId(deps, new URL(typing.object));
  if (actorId == null || (await membership(deps.db, room.id, actorId)) == null) {
    throw new AppError("forbidden", "Only a member of the room types in it.");
  }
  await c.var.hub?.publishEphemeral(room.id, "typing", { actorId, typing: typing.typing, timeout: typingTimeoutMs });
  if (hosted) {
    const group = new URL(`${deps.config.origin}/${roomIdentifier(room.id)}`);
    const relayed = { ...typing, id: `${group.href}#typing-${randomUUID()}`, actor: group.href };
    relay(deps, room, relayed, new URL(typing.actor).origin).catch((error: unknown) =>
      log.debug("A typing notice could not be relayed: {error}", { error }),
    );
  }
  return c.body(null, 202);
}
