import { eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { findLocalUser, handleHost, isLocalHandle } from "../accounts/accounts.ts";
import { actors, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { emojiInTexts, type UsedEmoji } from "../emoji/usage.ts";
import { AppError } from "../errors.ts";
import { avatarUrl } from "../media/avatars.ts";
import { remoteAvatarUrl } from "../media/remote-avatars.ts";

/** How an actor is shown next to what it does: in member lists, messages and events. */
export interface ActorProfile {
  readonly id: string;
  readonly handle: string;
  readonly displayName: string;
  readonly avatarUrl: string | null;
  readonly color: string | null;
  /** The actor's ActivityPub IRI. */
  readonly url: string;
  /** The custom emoji of their server that the display name names, when it names any. */
  readonly emojis?: readonly UsedEmoji[];
  /** Present for a bot: a local user's bot, or a remote `Service` or `Application`. */
  readonly bot?: true;
  /** Present for a room's incoming webhook (a local bot that owns itself; always with `bot`). */
  readonly webhook?: true;
  /** Present for an account that was deleted (here, or by its server's `Delete`): its messages stay. */
  readonly deleted?: true;
}

/** The API schema of {@link ActorProfile}. */
export const actorProfileSchema = z.object({
  id: z.string(),
  handle: z.string(),
  displayName: z.string(),
  avatarUrl: z.string().nullable(),
  color: z.string().nullable(),
  url: z.string(),
  emojis: z
    .array(z.object({ shortcode: z.string(), url: z.string() }))
    .optional()
    .describe("Custom emoji of their server the display name names (`:shortcode:` shown as the image)"),
  bot: z.literal(true).optional().describe("Present for a bot (an ActivityPub `Service` or `Application`)"),
  webhook: z.literal(true).optional().describe("Present for a room's incoming webhook (also a bot)"),
  deleted: z
    .literal(true)
    .optional()
    .describe("Present for a deleted account (deleted here, or by its server's `Delete` of the actor)"),
});

/** The columns a profile is made from: select them from `actors` left-joined with `users`. */
export const profileColumns = {
  id: actors.id,
  iri: actors.iri,
  remoteHandle: actors.handle,
  remoteName: actors.name,
  remoteAvatar: actors.avatarUrl,
  bot: actors.bot,
  deletedAt: actors.deletedAt,
  username: users.username,
  displayName: users.displayName,
  avatar: users.avatar,
  color: users.color,
  // An incoming webhook's account is the bot that owns itself (src/webhooks/webhooks.ts).
  webhook: sql<boolean | null>`${users.botOwnerId} = ${users.id}`,
};

/** A row of {@link profileColumns}. */
export interface ProfileRow {
  id: string;
  iri: string | null;
  remoteHandle: string | null;
  remoteName: string | null;
  remoteAvatar: string | null;
  bot: boolean | null;
  deletedAt: Date | null;
  username: string | null;
  displayName: string | null;
  avatar: string | null;
  color: string | null;
  webhook: boolean | null;
}

/** The profile a row of {@link profileColumns} shows, or undefined for an actor with neither user nor IRI. */
export function toProfile(deps: Pick<Deps, "config">, row: ProfileRow): ActorProfile | undefined {
  if (row.username != null && row.iri == null) {
    return {
      id: row.id,
      handle: `${row.username}@${handleHost(deps)}`,
      displayName: row.displayName ?? row.username,
      avatarUrl: avatarUrl(deps, row.avatar),
      color: row.color,
      url: `${deps.config.origin}/users/${row.username}`,
      ...(row.bot ? { bot: true as const } : {}),
      ...(row.webhook ? { webhook: true as const } : {}),
      ...(row.deletedAt ? { deleted: true as const } : {}),
    };
  }
  if (row.iri == null) return undefined;
  const url = new URL(row.iri);
  const name = url.pathname.split("/").filter(Boolean).at(-1) ?? url.hostname;
  return {
    id: row.id,
    handle: row.remoteHandle ?? `${name}@${url.host}`,
    displayName: row.remoteName || name,
    avatarUrl: remoteAvatarUrl(deps, row.id, row.remoteAvatar),
    color: null,
    url: row.iri,
    ...(row.bot ? { bot: true as const } : {}),
    ...(row.deletedAt ? { deleted: true as const } : {}),
  };
}

/**
 * Profiles of the given actors, in one query. Local actors are shown from their user row;
 * remote ones (from the federation issue on) from their IRI.
 */
export async function actorProfiles(
  deps: Pick<Deps, "db" | "config">,
  ids: readonly string[],
): Promise<Map<string, ActorProfile>> {
  const unique = [...new Set(ids)];
  const result = new Map<string, ActorProfile>();
  if (unique.length === 0) return result;
  const rows = await deps.db
    .select(profileColumns)
    .from(actors)
    .leftJoin(users, eq(users.id, actors.userId))
    .where(inArray(actors.id, unique));
  for (const row of rows) {
    const profile = toProfile(deps, row);
    if (profile) result.set(row.id, profile);
  }
  return await withNameEmoji(deps, result);
}

/** Adds to profiles whose name has a `:shortcode:` the emoji it names (one query for all). */
async function withNameEmoji(
  deps: Pick<Deps, "db" | "config">,
  profiles: Map<string, ActorProfile>,
): Promise<Map<string, ActorProfile>> {
  const named = [...profiles.values()].filter((p) => p.displayName.includes(":"));
  if (named.length === 0) return profiles;
  const ours = new URL(deps.config.origin).host;
  const found = await emojiInTexts(
    deps,
    named.map((p) => {
      const host = new URL(p.url).host;
      return { id: p.id, host: host === ours ? null : host, text: p.displayName };
    }),
  );
  for (const [id, emojis] of found) {
    const profile = profiles.get(id);
    if (profile) profiles.set(id, { ...profile, emojis });
  }
  return profiles;
}

/**
 * The actor a handle names: a user here (`alice`, `alice@this-host`), or someone on another
 * server (`bob@other.host`), fetched and stored through federation, or with `stored` only
 * among the remote actors this server has met (nothing is fetched).
 * @throws {AppError} `user_not_found`; `remote_unreachable` when this process runs no federation.
 */
export async function actorByHandle(
  deps: Deps,
  handle: string,
  options: { stored?: boolean } = {},
): Promise<{ id: string; local: boolean }> {
  if (isLocalHandle(deps, handle)) return { id: (await findLocalUser(deps, handle)).id, local: true };
  if (!/^@?[^@\s]+@[^@\s]+$/.test(handle.trim())) throw new AppError("user_not_found", `No user ${handle}.`);
  if (options.stored) {
    const [row] = await deps.db
      .select({ id: actors.id })
      .from(actors)
      .where(eq(actors.handle, handle.trim().replace(/^@/, "").toLowerCase()));
    if (row == null) throw new AppError("user_not_found", `No user ${handle} is known here.`);
    return { id: row.id, local: false };
  }
  if (deps.federation == null) throw new AppError("remote_unreachable", "Federation is not running in this process.");
  const id = await deps.federation.lookupActor(handle.trim());
  if (id == null) throw new AppError("user_not_found", `No user ${handle} was found.`);
  return { id, local: false };
}
