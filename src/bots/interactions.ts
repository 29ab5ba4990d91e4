/**
 * Invoking a slash command and the bot's answers. The command's text is never posted: the
 * server records an interaction, POSTs it signed to the bot's URL (hooks.ts), and posts the
 * bot's immediate answer (`{"content", "ephemeral"?}`) as the bot, or shows it to the invoker
 * alone as a `command.reply` event on the ephemeral channel (never stored, never sent to
 * anyone else). Later answers come through the API with the bot's token, naming the
 * interaction, until it expires.
 * @module
 */
import { and, eq, gt, lt, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import { z } from "zod";
import { type CommandArgument, commandInteractions, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { render } from "../messages/messages.ts";
import { sendMessage } from "../messages/send.ts";
import type { MessageView } from "../messages/views.ts";
import { ephemeralChannel } from "../stream/events.ts";
import { type CommandView, roomCommands } from "./commands.ts";
import { callBot, hookOf } from "./hooks.ts";

/** How long a bot may answer an interaction through the API. */
export const interactionTtlMs = 15 * 60 * 1000;
/** How many answers one interaction may get. */
export const maxRepliesPerInteraction = 5;
/** An ephemeral answer's most bytes (it travels in a NOTIFY, which holds 8000). */
export const maxEphemeralBytes = 3000;

/** A bot's answer, immediate or later. */
export const botReply = z.object({
  content: z.string().trim().min(1, "expected some content").max(4000, "expected at most 4000 characters"),
  ephemeral: z.boolean().optional(),
});
export type BotReply = z.infer<typeof botReply>;

/** What the invoker learns of an invocation. */
export interface InvocationResult {
  readonly interaction: {
    readonly id: string;
    readonly command: string;
    readonly botId: string;
    readonly expiresAt: string;
  };
  /** The immediate answer: posted (`message`) or shown to the invoker only (`ephemeral`); null for none yet. */
  readonly reply: { readonly ephemeral: boolean; readonly message: MessageView | null } | null;
}

/**
 * Splits a command's text over its arguments: one word each, the last takes the rest.
 * @throws {AppError} `validation_failed` when a required argument is missing.
 */
export function parseArguments(command: CommandView, text: string): Record<string, string> {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const args: Record<string, string> = {};
  command.arguments.forEach((arg: CommandArgument, i) => {
    const value = i === command.arguments.length - 1 ? words.slice(i).join(" ") : words[i];
    if (value) args[arg.name] = value;
    else if (arg.required) {
      throw new AppError("validation_failed", `Usage: ${command.usage}`, {
        details: [{ path: "text", message: `missing ${arg.name}; usage: ${command.usage}` }],
      });
    }
  });
  return args;
}

function unavailable(message: string, reason: string, cause?: unknown): AppError {
  return new AppError("bot_unavailable", message, { details: { reason }, cause });
}

/**
 * Invokes a command in a room as `actorId`, and waits for the bot's immediate answer.
 * @throws {AppError} `room_not_found`, `not_a_member`, `command_not_found`, `command_ambiguous`,
 *   `validation_failed`, `bot_unavailable` (the bot could not be reached, refused, or answered
 *   something that is not an answer; nothing is kept then).
 */
export async function invokeCommand(
  deps: Deps,
  actorId: string,
  roomId: string,
  input: { command: string; text: string; botId?: string | undefined },
): Promise<InvocationResult> {
  const candidates = await roomCommands(deps, actorId, roomId, { name: input.command, botId: input.botId });
  const command = candidates[0];
  if (command?.bot == null) throw new AppError("command_not_found", `No bot here offers /${input.command}.`);
  if (candidates.length > 1) {
    throw new AppError("command_ambiguous", `Several bots offer /${input.command}; name one.`, {
      details: { bots: candidates.map((c) => c.bot?.id) },
    });
  }
  const args = parseArguments(command, input.text);
  const hook = await hookOf(deps.db, command.bot.id);
  if (hook == null) throw new AppError("command_not_found", `No bot here offers /${input.command}.`);
  const [invoker] = await deps.db
    .select({ id: users.id, username: users.username, displayName: users.displayName })
    .from(users)
    .where(eq(users.id, actorId));
  const id = uuidv7();
  const expiresAt = new Date(Date.now() + interactionTtlMs);
  await deps.db.insert(commandInteractions).values({
    id,
    botId: command.bot.id,
    roomId,
    invokerId: actorId,
    command: command.name,
    expiresAt,
  });
  const body = JSON.stringify({
    type: "command",
    interactionId: id,
    command: command.name,
    text: input.text.trim(),
    args,
    room: { id: roomId },
    user: invoker ?? { id: actorId },
    replyUrl: `${deps.config.origin}/api/v1/rooms/${roomId}/interactions/${id}/reply`,
    expiresAt: expiresAt.toISOString(),
  });
  let answer: BotReply | null;
  try {
    answer = readAnswer(await callBot(deps, hook, body, id));
  } catch (error) {
    // Nothing is kept of an invocation the bot never took.
    await deps.db.delete(commandInteractions).where(eq(commandInteractions.id, id));
    if (error instanceof AppError && error.code !== "bot_unavailable") {
      const reason = (error.details as { reason?: string } | undefined)?.reason ?? error.code;
      throw unavailable(`@${command.bot.username} could not be reached (${reason}).`, reason, error);
    }
    throw error;
  }
  const interaction = { id, command: command.name, botId: command.bot.id, expiresAt: expiresAt.toISOString() };
  if (answer == null) return { interaction, reply: null };
  const reply = await answerInteraction(deps, command.bot.id, roomId, id, answer);
  return { interaction, reply };
}

/** Reads a bot's immediate answer: none (an empty body), or `{"content", "ephemeral"?}`. */
function readAnswer(bytes: Uint8Array): BotReply | null {
  const text = Buffer.from(bytes).toString("utf8").trim();
  if (text === "") return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw unavailable("The bot's answer is not JSON.", "answer", cause);
  }
  const parsed = botReply.safeParse(value);
  if (!parsed.success) throw unavailable("The bot's answer is not {content, ephemeral?}.", "answer");
  return parsed.data;
}

/**
 * Posts an answer to an interaction: as a message of the bot in the room, or to the invoker's
 * streams only. Counted against {@link maxRepliesPerInteraction}.
 * @throws {AppError} `interaction_not_found` (no such interaction of this bot in this room),
 *   `interaction_expired`, `validation_failed` (an ephemeral answer past {@link maxEphemeralBytes}),
 *   and whatever a send throws (the bot left the room, the room forbids bots).
 */
export async function answerInteraction(
  deps: Deps,
  botId: string,
  roomId: string,
  interactionId: string,
  reply: BotReply,
): Promise<{ ephemeral: boolean; message: MessageView | null }> {
  const ephemeral = reply.ephemeral === true;
  if (ephemeral && Buffer.byteLength(reply.content) > maxEphemeralBytes) {
    throw new AppError("validation_failed", `An ephemeral answer holds at most ${maxEphemeralBytes} bytes.`, {
      details: [{ path: "content", message: `expected at most ${maxEphemeralBytes} bytes` }],
    });
  }
  const [claimed] = await deps.db
    .update(commandInteractions)
    .set({ replies: sql`${commandInteractions.replies} + 1` })
    .where(
      and(
        eq(commandInteractions.id, interactionId),
        eq(commandInteractions.botId, botId),
        eq(commandInteractions.roomId, roomId),
        gt(commandInteractions.expiresAt, sql`now()`),
        lt(commandInteractions.replies, maxRepliesPerInteraction),
      ),
    )
    .returning();
  if (claimed == null) {
    const [known] = await deps.db
      .select({ id: commandInteractions.id })
      .from(commandInteractions)
      .where(
        and(
          eq(commandInteractions.id, interactionId),
          eq(commandInteractions.botId, botId),
          eq(commandInteractions.roomId, roomId),
        ),
      );
    if (known == null) throw new AppError("interaction_not_found", "No such interaction of yours in this room.");
    throw new AppError(
      "interaction_expired",
      `An interaction takes at most ${maxRepliesPerInteraction} answers within ${interactionTtlMs / 60_000} minutes.`,
    );
  }
  if (!ephemeral) {
    const { message } = await sendMessage(deps, botId, roomId, {
      txnId: `cmd.${interactionId}.${claimed.replies}`,
      content: reply.content,
    });
    return { ephemeral, message };
  }
  const [bot] = await deps.db
    .select({ id: users.id, username: users.username, displayName: users.displayName })
    .from(users)
    .where(eq(users.id, botId));
  const { html } = await render(deps, reply.content);
  const data = {
    interactionId,
    roomId,
    command: claimed.command,
    bot,
    content: reply.content,
    html,
    createdAt: new Date().toISOString(),
  };
  let payload = JSON.stringify({ type: "command.reply", roomId, actorId: claimed.invokerId, data });
  // A NOTIFY holds 8000 bytes: rich HTML of a long answer may not fit, its source always does.
  if (Buffer.byteLength(payload) > 7800) {
    payload = JSON.stringify({
      type: "command.reply",
      roomId,
      actorId: claimed.invokerId,
      data: { ...data, html: null },
    });
  }
  await deps.db.execute(sql`select pg_notify(${ephemeralChannel}, ${payload})`);
  return { ephemeral, message: null };
}

/** Housekeeping: forgets expired interactions, in one statement. */
export async function purgeInteractions(deps: Pick<Deps, "db">): Promise<void> {
  await deps.db.delete(commandInteractions).where(lt(commandInteractions.expiresAt, sql`now()`));
}
