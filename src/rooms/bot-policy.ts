import { eq } from "drizzle-orm";
import { actors, type Room } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";

// Rooms that forbid bots (`allowBots`): what bots already in them may no longer do. Joins are
// refused where members are added (members.ts), new remote posts where they arrive.

/**
 * Refuses a bot (a local bot, or a remote `Service` or `Application`) what it would do in a
 * room that forbids bots: post, edit, react. Bots already in such a room stay, silent.
 * @throws {AppError} `bots_forbidden`.
 */
export async function refuseForbiddenBot(
  deps: Pick<Deps, "db">,
  room: Pick<Room, "allowBots">,
  actorId: string,
): Promise<void> {
  if (room.allowBots) return;
  const [row] = await deps.db.select({ bot: actors.bot }).from(actors).where(eq(actors.id, actorId));
  if (row?.bot) throw new AppError("bots_forbidden", "This room does not allow bots to post.");
}
