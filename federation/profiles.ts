/**
 * A local user's profile change told to other servers: `Update{Person}` from the user, with the
 * `Person` as it now is, to every server that shows them (those with a member in a room they
 * are in, the hosts of remote rooms they are in, and their remote contacts; never a blocked
 * server: see `profileRecipients`), one delivery per server. Sent when the publisher reads
 * `profile.updated` from the event log, so it goes whatever changed the profile (name, bio,
 * colour, avatar), from whichever process did it.
 */
import type { Context } from "@fedify/fedify";
import { Delete, Update } from "@fedify/vocab";
import { and, eq, isNotNull, isNull } from "drizzle-orm";
import { users } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { profileRecipients } from "../src/rooms/remote.ts";
import { PUBLIC } from "./notes.ts";
import { toPerson, userIdentifier } from "./users.ts";

/**
 * Sends `Update{Person}` for a local user's profile change (the event at `position`); a
 * remote actor, or a user gone since, is passed over.
 */
export async function sendProfileUpdate(ctx: Context<Deps>, actorId: string, position: number): Promise<void> {
  const deps = ctx.data;
  const [user] = await deps.db
    .select()
    .from(users)
    .where(and(eq(users.id, actorId), isNull(users.suspendedAt)));
  if (user == null) return;
  const inboxes = await profileRecipients(deps, actorId);
  if (inboxes.length === 0) return;
  const identifier = userIdentifier(user.username);
  const person = await toPerson(ctx, identifier, user);
  const id = ctx.getActorUri(identifier);
  // Mastodon's shape: the actor updates itself, addressed to the public.
  const update = new Update({ id: new URL(`${id.href}#update-${position}`), actor: id, object: person, to: PUBLIC });
  await ctx.sendActivity(
    { identifier },
    inboxes.map((inbox) => ({ id: new URL(inbox), inboxId: new URL(inbox), endpoints: null })),
    update,
  );
}

/**
 * Sends `Delete` of a deleted local user's `Person` (Mastodon's shape: the actor deletes itself,
 * to the public) to the inboxes read when the account was deleted, signed with the keys the
 * tombstone keeps. The receiving servers cannot fetch the actor any more (410 Gone): they check
 * the signature with the key they already hold, or see for themselves that the actor is gone.
 */
export async function sendAccountDelete(
  ctx: Context<Deps>,
  actorId: string,
  inboxes: readonly string[],
  position: number,
): Promise<void> {
  const deps = ctx.data;
  const [user] = await deps.db
    .select()
    .from(users)
    .where(and(eq(users.id, actorId), isNotNull(users.deletedAt)));
  const targets = inboxes.filter((inbox) => URL.canParse(inbox));
  if (user == null || targets.length === 0) return;
  const identifier = userIdentifier(user.username);
  const id = ctx.getActorUri(identifier);
  const del = new Delete({ id: new URL(`${id.href}#delete-${position}`), actor: id, object: id, to: PUBLIC });
  await ctx.sendActivity(
    { identifier },
    targets.map((inbox) => ({ id: new URL(inbox), inboxId: new URL(inbox), endpoints: null })),
    del,
  );
}
