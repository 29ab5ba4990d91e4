/**
 * Bots: accounts a user makes and owns. A bot is a `users` row with `bot_owner_id` set and no
 * password (it cannot log in; it acts through personal access tokens, access-tokens.ts), an
 * actor marked `bot`, a username in the same namespace as people, and federates as a
 * `Service`. Deleting the owner deletes their bots.
 * @module
 */
import { and, asc, count, eq } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { actors, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { removeAvatar } from "../media/avatars.ts";
import { generateActorKeys } from "./keys.ts";
import { type AuthUser, authUserColumns } from "./sessions.ts";
import { checkUsername } from "./usernames.ts";

/** How many bots one user may own. */
export const maxBotsPerOwner = 10;

/**
 * Makes a bot owned by `owner`.
 * @throws {AppError} `forbidden` for a bot making bots; `bot_limit_reached`; `validation_failed`
 *   for a bad or reserved username; `username_taken`.
 */
export async function createBot(
  deps: Pick<Deps, "db" | "config">,
  owner: AuthUser,
  input: { username: string; displayName?: string | undefined; bio?: string | undefined },
): Promise<AuthUser> {
  if (owner.botOwnerId != null) throw new AppError("forbidden", "A bot cannot make bots.");
  const username = checkUsername(input.username, new URL(deps.config.origin).hostname);
  const keys = await generateActorKeys();
  const bot = await deps.db.transaction(async (tx) => {
    // Counted under the owner's row lock, so two requests at once cannot both pass the limit.
    await tx.select({ id: users.id }).from(users).where(eq(users.id, owner.id)).for("update");
    const [owned] = await tx.select({ n: count() }).from(users).where(eq(users.botOwnerId, owner.id));
    if (Number(owned?.n ?? 0) >= maxBotsPerOwner) {
      throw new AppError("bot_limit_reached", `At most ${maxBotsPerOwner} bots each; delete one first.`);
    }
    const [created] = await tx
      .insert(users)
      .values({
        id: uuidv7(),
        username,
        displayName: input.displayName ?? username,
        bio: input.bio ?? "",
        passwordHash: null,
        botOwnerId: owner.id,
        ...keys,
      })
      .onConflictDoNothing({ target: users.username })
      .returning(authUserColumns);
    if (created) await tx.insert(actors).values({ id: created.id, userId: created.id, bot: true });
    return created;
  });
  if (bot == null) throw new AppError("username_taken", `The username ${username} is taken.`);
  return bot;
}

/** The owner's bots, oldest first. */
export async function listBots(deps: Pick<Deps, "db">, ownerId: string): Promise<AuthUser[]> {
  return await deps.db.select(authUserColumns).from(users).where(eq(users.botOwnerId, ownerId)).orderBy(asc(users.id));
}

/**
 * One of the owner's bots.
 * @throws {AppError} `bot_not_found` when there is no such bot or it is someone else's.
 */
export async function botOf(deps: Pick<Deps, "db">, ownerId: string, botId: string): Promise<AuthUser> {
  const [bot] = await deps.db
    .select(authUserColumns)
    .from(users)
    .where(and(eq(users.id, botId), eq(users.botOwnerId, ownerId)));
  if (bot == null) throw new AppError("bot_not_found", "No such bot.");
  return bot;
}

/**
 * Deletes one of the owner's bots, with its avatar, tokens and messages (as deleting any
 * account does).
 * @throws {AppError} `bot_not_found`.
 */
export async function deleteBot(deps: Deps, ownerId: string, botId: string): Promise<void> {
  const bot = await botOf(deps, ownerId, botId);
  await removeAvatar(deps, bot);
  await deps.db.delete(users).where(eq(users.id, bot.id));
  deps.auth.forget({ userId: bot.id });
}
