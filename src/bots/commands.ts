/**
 * Slash commands: a bot declares them (name, description, arguments) with its token; they are
 * offered in every room the bot is a member of, while it has a hook to be called at. A change
 * (commands or hook) is a `commands.updated` event to the bot's rooms, so composers reload.
 * @module
 */
import { and, asc, eq } from "drizzle-orm";
import type { AuthUser } from "../accounts/sessions.ts";
import type { DatabaseLike } from "../db/client.ts";
import { botCommands, botHooks, type CommandArgument, roomMembers, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { accessRoom } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";

/** Only bots have commands and hooks; a person's token or session gets `forbidden`. */
export function requireBot(user: AuthUser): void {
  if (user.botOwnerId == null) throw new AppError("forbidden", "Only a bot has commands and a webhook.");
}

/** How many commands one bot may declare. */
export const maxCommandsPerBot = 25;
/** How many arguments one command may have. */
export const maxArgumentsPerCommand = 5;

/** A command as a bot declares it. */
export interface CommandInput {
  readonly name: string;
  readonly description: string;
  readonly arguments: readonly CommandArgument[];
}

/** A command as clients see it: with its usage line and, in a room, the bot that answers it. */
export interface CommandView extends CommandInput {
  /** `/weather <city> [days]`: required arguments in angle brackets, optional in square ones. */
  readonly usage: string;
  readonly bot?: { readonly id: string; readonly username: string; readonly displayName: string };
}

export function usageOf(command: CommandInput): string {
  const args = command.arguments.map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`));
  return [`/${command.name}`, ...args].join(" ");
}

function view(row: typeof botCommands.$inferSelect): CommandView {
  const command = { name: row.name, description: row.description, arguments: row.arguments };
  return { ...command, usage: usageOf(command) };
}

/** Tells the bot's rooms that what it offers changed (in the caller's transaction). */
export async function announceCommands(tx: DatabaseLike, botId: string): Promise<void> {
  const rooms = await tx.select({ id: roomMembers.roomId }).from(roomMembers).where(eq(roomMembers.actorId, botId));
  if (rooms.length === 0) return;
  await appendEvents(tx, [
    {
      type: "commands.updated",
      actorId: botId,
      data: { botId },
      audience: { rooms: rooms.map((r) => r.id), actors: [] },
    },
  ]);
}

/**
 * Replaces the bot's commands with `list` (in its order; an empty list removes them all).
 * @throws {AppError} `forbidden` for someone who is not a bot.
 */
export async function setCommands(
  deps: Pick<Deps, "db">,
  bot: AuthUser,
  list: readonly CommandInput[],
): Promise<CommandView[]> {
  requireBot(bot);
  return await deps.db.transaction(async (tx) => {
    await tx.delete(botCommands).where(eq(botCommands.botId, bot.id));
    const rows =
      list.length === 0
        ? []
        : await tx
            .insert(botCommands)
            .values(list.map((c, position) => ({ botId: bot.id, ...c, arguments: [...c.arguments], position })))
            .returning();
    await announceCommands(tx, bot.id);
    return rows.sort((a, b) => a.position - b.position).map(view);
  });
}

/** The bot's own commands, in its order. */
export async function commandsOf(deps: Pick<Deps, "db">, bot: AuthUser): Promise<CommandView[]> {
  requireBot(bot);
  const rows = await deps.db
    .select()
    .from(botCommands)
    .where(eq(botCommands.botId, bot.id))
    .orderBy(asc(botCommands.position));
  return rows.map(view);
}

/**
 * The commands offered in a room: those of its bot members that have a hook, by name (two
 * bots may offer the same name; each is listed with its bot).
 * @throws {AppError} `room_not_found`, `not_a_member`.
 */
export async function roomCommands(
  deps: Pick<Deps, "db">,
  actorId: string,
  roomId: string,
  only?: { name: string; botId?: string | undefined },
): Promise<CommandView[]> {
  await accessRoom(deps, roomId, actorId, "member");
  const rows = await deps.db
    .select({ command: botCommands, bot: { id: users.id, username: users.username, displayName: users.displayName } })
    .from(botCommands)
    .innerJoin(botHooks, eq(botHooks.botId, botCommands.botId))
    .innerJoin(roomMembers, and(eq(roomMembers.actorId, botCommands.botId), eq(roomMembers.roomId, roomId)))
    .innerJoin(users, eq(users.id, botCommands.botId))
    .where(
      and(
        only ? eq(botCommands.name, only.name) : undefined,
        only?.botId ? eq(botCommands.botId, only.botId) : undefined,
      ),
    )
    .orderBy(asc(botCommands.name), asc(users.username));
  return rows.map((r) => ({ ...view(r.command), bot: r.bot }));
}
