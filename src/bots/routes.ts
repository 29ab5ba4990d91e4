import type { Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { messageSchema } from "../messages/routes.ts";
import { roomId } from "../rooms/schemas.ts";
import { cleanName, codePointLength } from "../text.ts";
import { commandsOf, maxArgumentsPerCommand, maxCommandsPerBot, roomCommands, setCommands } from "./commands.ts";
import { deleteHook, hookOf, hookView, pushableEvents, setHook } from "./hooks.ts";
import { answerInteraction, botReply, invokeCommand } from "./interactions.ts";
import { deliveryHeader, replayWindowSeconds, signatureHeader, timestampHeader } from "./signature.ts";

// ---- Schemas ----

const shortText = (max: number, what: string) =>
  z
    .string()
    .max(max * 4)
    .transform(cleanName)
    .refine((v) => codePointLength(v) <= max, `expected at most ${max} characters`)
    .describe(what);

const commandName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "expected 1–32 of a-z, 0-9, _ and -, starting with a letter or digit")
  .describe("Without the slash: `weather` for `/weather`");

const commandArgument = z.object({
  name: z.string().regex(/^[a-z0-9_]{1,24}$/, "expected 1–24 of a-z, 0-9 and _"),
  description: shortText(100, "Shown in the completion").default(""),
  required: z.boolean().default(false),
});

const commandInput = z.object({
  name: commandName,
  description: shortText(100, "What the command does, shown in the completion").refine(
    (v) => v.length > 0,
    "expected a description",
  ),
  arguments: z
    .array(commandArgument)
    .max(maxArgumentsPerCommand)
    .default([])
    .refine((a) => new Set(a.map((x) => x.name)).size === a.length, "expected distinct argument names")
    .refine(
      (a) => a.every((x, i) => !x.required || a.slice(0, i).every((y) => y.required)),
      "expected required arguments before optional ones",
    )
    .describe("In order: each takes one word of the text, the last takes the rest"),
});

const setCommandsBody = z.object({
  commands: z
    .array(commandInput)
    .max(maxCommandsPerBot)
    .refine((list) => new Set(list.map((c) => c.name)).size === list.length, "expected distinct command names"),
});

const commandSchema = z.object({
  name: z.string(),
  description: z.string(),
  arguments: z.array(z.object({ name: z.string(), description: z.string(), required: z.boolean() })),
  usage: z.string().describe("`/name <required> [optional]`"),
  bot: z
    .object({ id: z.string(), username: z.string(), displayName: z.string() })
    .optional()
    .describe("The bot that answers it (in a room's list)"),
});

const hookSchema = z.object({ url: z.string(), events: z.array(z.string()), createdAt: z.string() });

const setHookBody = z.object({
  url: z.string().max(2048).describe("https (http only on loopback with BOT_HOOKS_ALLOW_LOOPBACK)"),
  events: z
    .array(z.enum(pushableEvents))
    .max(pushableEvents.length)
    .default([])
    .describe("Room events to push to the URL, for a bot that holds no stream"),
});

const roomOnly = z.object({ roomId });
const interactionParams = z.object({ roomId, interactionId: z.uuid({ error: "expected an interaction id" }) });

const invokeBody = z.object({
  command: commandName,
  text: z.string().max(2000).default("").describe("What follows the command's name"),
  botId: z.uuid().optional().describe("The bot, when several in the room offer the command"),
});

const replySchema = z
  .object({ ephemeral: z.boolean(), message: messageSchema.nullable() })
  .describe("`message` when posted as the bot; an ephemeral answer reaches the invoker as `command.reply`");

const signing =
  `Every request to the URL is a signed POST: \`${timestampHeader}\` (Unix seconds), \`${signatureHeader}\` ` +
  "(`v1=` + hex HMAC-SHA256 with the secret of `v1:<timestamp>:<body>`) and `" +
  deliveryHeader +
  `\` (the same on retries). Refuse a wrong signature or a timestamp more than ${replayWindowSeconds} s away.`;

/** Mounts bots' commands and hooks (`/api/v1/commands`, `/api/v1/bot-hook`) and rooms' commands. */
export function commandRoutes(api: Api, app: Hono<Env>): void {
  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/commands",
      tag: "bots",
      summary: "Replace the slash commands this bot offers in its rooms (as the bot, with its token)",
      auth: true,
      body: setCommandsBody,
      responses: { 200: { description: "The commands", schema: z.object({ commands: z.array(commandSchema) }) } },
      errors: ["forbidden"],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const { user } = authenticated(c);
      limitBotChanges(c.var.deps, user.id);
      return c.json({ commands: await setCommands(deps, user, body.commands) });
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/commands",
      tag: "bots",
      summary: "The slash commands this bot offers",
      auth: true,
      responses: { 200: { description: "The commands", schema: z.object({ commands: z.array(commandSchema) }) } },
      errors: ["forbidden"],
    },
    async (c) => c.json({ commands: await commandsOf(c.var.deps, authenticated(c).user) }),
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/bot-hook",
      tag: "bots",
      summary: "Set the URL this bot is called at, with a new signing secret shown only here",
      description: `Commands are offered only while the bot has a hook. ${signing}`,
      auth: true,
      body: setHookBody,
      responses: {
        200: {
          description: "The hook and its secret (the previous secret stops working)",
          schema: z.object({ hook: hookSchema, secret: z.string().describe("`fcs_…`: shown once") }),
        },
      },
      errors: ["forbidden"],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const { user } = authenticated(c);
      limitBotChanges(deps, user.id);
      return c.json(await setHook(deps, user, body));
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/bot-hook",
      tag: "bots",
      summary: "This bot's hook (never its secret)",
      auth: true,
      responses: { 200: { description: "The hook, or null", schema: z.object({ hook: hookSchema.nullable() }) } },
      errors: ["forbidden"],
    },
    async (c) => {
      const { user } = authenticated(c);
      if (user.botOwnerId == null) return c.json({ hook: null });
      const row = await hookOf(c.var.deps.db, user.id);
      return c.json({ hook: row ? hookView(row) : null });
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/bot-hook",
      tag: "bots",
      summary: "Remove this bot's hook: its commands are no longer offered, pending pushes are dropped",
      auth: true,
      responses: { 204: { description: "Removed" } },
      errors: ["forbidden"],
    },
    async (c) => {
      await deleteHook(c.var.deps, authenticated(c).user);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/commands",
      tag: "bots",
      summary: "The slash commands the room's bots offer, for the composer's completion",
      auth: true,
      params: roomOnly,
      responses: { 200: { description: "Commands", schema: z.object({ commands: z.array(commandSchema) }) } },
      errors: ["room_not_found", "not_a_member"],
    },
    async (c, { params }) =>
      c.json({ commands: await roomCommands(c.var.deps, authenticated(c).user.id, params.roomId) }),
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms/:roomId/interactions",
      tag: "bots",
      summary: "Invoke a slash command: the bot is called (signed) and its immediate answer posted or shown to you",
      description:
        "The text is never posted. The bot has 5 s to answer `{content, ephemeral?}` (or nothing, to answer later " +
        "through `POST …/interactions/:id/reply` within 15 minutes). An ephemeral answer reaches only your " +
        "streams, as the event `command.reply`.",
      auth: true,
      params: roomOnly,
      body: invokeBody,
      responses: {
        200: {
          description: "The interaction and the immediate answer, if any",
          schema: z.object({
            interaction: z.object({ id: z.string(), command: z.string(), botId: z.string(), expiresAt: z.string() }),
            reply: replySchema.nullable(),
          }),
        },
      },
      errors: [
        "room_not_found",
        "not_a_member",
        "command_not_found",
        "command_ambiguous",
        "bot_unavailable",
        "rate_limited",
      ],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      const { user } = authenticated(c);
      enforceRateLimits(deps, [
        {
          key: `commands:invoke:${user.id}`,
          limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
          windowSeconds: 60,
        },
      ]);
      return c.json(await invokeCommand(deps, user.id, params.roomId, body));
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms/:roomId/interactions/:interactionId/reply",
      tag: "bots",
      summary: "Answer a command later (as the bot it called): posted as the bot, or shown to the invoker only",
      auth: true,
      params: interactionParams,
      body: botReply,
      responses: { 200: { description: "The answer", schema: replySchema } },
      errors: ["interaction_not_found", "interaction_expired", "bots_forbidden", "not_a_member"],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      const { user } = authenticated(c);
      return c.json(await answerInteraction(deps, user.id, params.roomId, params.interactionId, body));
    },
  );
}

/** Replacing commands and hooks: 30 an hour per bot, past any honest deployment loop. */
function limitBotChanges(deps: Env["Variables"]["deps"], botId: string): void {
  enforceRateLimits(deps, [
    {
      key: `bot-changes:${botId}`,
      limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
      windowSeconds: 3600,
    },
  ]);
}
