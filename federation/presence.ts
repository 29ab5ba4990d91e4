/**
 * Presence between servers of ours (see federation/ephemeral.ts for what is not queued): a
 * `Presence` from this server's instance actor, listing users of this server and whether they
 * are `online` or `offline`, sent straight to each server of ours that shares a room with them
 * (only those hear of them). A change goes at once; who is online is repeated every two
 * minutes, and the other server forgets it five minutes after the last word
 * (src/stream/presence.ts).
 */
import { randomUUID } from "node:crypto";
import type { Context } from "@fedify/fedify";
import type { Context as HonoContext } from "hono";
import { z } from "zod";
import type { Deps } from "../src/deps.ts";
import { AppError } from "../src/errors.ts";
import type { Env } from "../src/http/app.ts";
import { logger } from "../src/log.ts";
import { presencePeers, remoteMembersByIri } from "../src/rooms/remote.ts";
import { recordRemotePresence } from "../src/stream/presence.ts";
import { ours, postSigned } from "./ephemeral.ts";
import { instanceActorIdentifier } from "./federation.ts";
import { inboxLimits, verifiedKey } from "./inbox-guard.ts";
import { userIdentifier } from "./users.ts";

const log = logger("federation", "presence");

/** The most users one `Presence` names, as many as any array here holds (a server with more online sends several). */
export const maxPresenceUsers = inboxLimits.array;

const presenceSchema = z.object({
  id: z.url(),
  type: z.literal("Presence"),
  actor: z.url(),
  object: z.union([z.url(), z.array(z.url()).min(1).max(maxPresenceUsers)]),
  status: z.enum(["online", "offline"]),
});

/** Tells the servers of ours that share a room with these local users that they are online, or gone. */
export async function sendPresence(
  ctx: Context<Deps>,
  actorIds: readonly string[],
  status: "online" | "offline",
): Promise<void> {
  const deps = ctx.data;
  const peers = await presencePeers(deps, actorIds);
  const byOrigin = new Map<string, { inbox: string; users: Set<string> }>();
  for (const { username, inbox } of peers) {
    const origin = new URL(inbox).origin;
    const entry = byOrigin.get(origin) ?? { inbox, users: new Set<string>() };
    entry.users.add(ctx.getActorUri(userIdentifier(username)).href);
    byOrigin.set(origin, entry);
  }
  const targets = new Set(
    await ours(
      deps,
      [...byOrigin.values()].map((e) => e.inbox),
    ),
  );
  const actor = ctx.getActorUri(instanceActorIdentifier).href;
  await Promise.all(
    [...byOrigin.values()]
      .filter((entry) => targets.has(entry.inbox))
      .flatMap(({ inbox, users }) => {
        const list = [...users];
        const batches = [];
        for (let i = 0; i < list.length; i += maxPresenceUsers) batches.push(list.slice(i, i + maxPresenceUsers));
        return batches.map((object) =>
          postSigned(ctx, instanceActorIdentifier, inbox, {
            id: `${actor}#presence-${randomUUID()}`,
            type: "Presence",
            actor,
            object,
            status,
          }).catch((error: unknown) => log.debug("Presence to {inbox} failed: {error}", { inbox, error })),
        );
      }),
  );
}

/**
 * Takes a `Presence` delivered here: signed by its actor, naming users of the actor's own
 * server only. Users not known here, or in no room here, are passed over (nothing is fetched).
 * @throws {AppError} `validation_failed`, `unauthenticated`, `forbidden`.
 */
export async function receivePresence(
  c: HonoContext<Env>,
  json: unknown,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<Response> {
  const deps = c.var.deps;
  const parsed = presenceSchema.safeParse(json);
  if (!parsed.success) {
    throw new AppError(
      "validation_failed",
      `A Presence needs id, actor, object (1 to ${maxPresenceUsers} users) and status (online or offline).`,
    );
  }
  const presence = parsed.data;
  const key = await verifiedKey(c, bytes);
  if (key == null || key.ownerId?.href !== presence.actor) {
    throw new AppError("unauthenticated", "A Presence must be signed by its actor.");
  }
  const origin = new URL(presence.actor).origin;
  const users = [presence.object].flat();
  if (users.some((user) => new URL(user).origin !== origin)) {
    throw new AppError("forbidden", "A server tells the presence of its own users only.");
  }
  const known = await remoteMembersByIri(deps, [...new Set(users)]);
  await recordRemotePresence(deps.db, origin, known, presence.status);
  return c.body(null, 202);
}
