import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Deps } from "../deps.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { invitationSchema } from "../invitations/views.ts";
import { maxAttachmentsPerMessage } from "../media/attachments.ts";
import { attachmentSchema } from "../media/routes.ts";
import { previewCardSchema } from "../previews/cards.ts";
import { actorProfileSchema } from "../rooms/actors.ts";
import { roomId } from "../rooms/schemas.ts";
import {
  deleteMessage,
  editHistory,
  editMessage,
  getMessage,
  listMessages,
  markRead,
  maxMessageLength,
} from "./messages.ts";
import { react, reactionDetails, reactionKey } from "./reactions.ts";
import { sendMessage } from "./send.ts";

const content = z
  .string()
  .max(maxMessageLength, `expected at most ${maxMessageLength} characters`)
  .refine((v) => v.trim().length > 0, "expected some text");
export const messageId = z.uuid({ error: "expected a message id" });
/** A room and the client's transaction id of a send. */
export const txnParams = z.object({
  roomId,
  txnId: z
    .string()
    .regex(/^[A-Za-z0-9._~-]{1,64}$/, "expected 1 to 64 characters of A-Z, a-z, 0-9, . _ ~ -")
    .describe("The client's transaction id: resending with the same one returns the first message"),
});
const messageParams = z.object({ roomId, messageId });
const reactionParams = z.object({ roomId, messageId, emoji: z.string().min(1).max(100) });
const seqBound = (n: z.ZodNumber) => n.int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A sequence number in a query string (text, so coerced). */
const seqQuery = seqBound(z.coerce.number());
/** A sequence number in a JSON body: a number, never coerced from "1", true or [1]. */
export const seqField = seqBound(z.number());
/** A page of messages: before or after a sequence number, or the latest. */
export const pageQuery = z.object({
  before: seqQuery.optional(),
  after: seqQuery.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
const historyQuery = pageQuery
  .extend({
    around: seqQuery
      .optional()
      .describe("The page centred on this sequence number: up to half before it, the rest from it on"),
  })
  .refine((q) => q.around == null || (q.before == null && q.after == null), {
    message: "expected around alone, without before or after",
    path: ["around"],
  });
const roomParams = z.object({ roomId });

const threadSummarySchema = z
  .object({
    count: z.number().describe("Replies, deleted ones included"),
    lastReplyAt: z.string(),
    participants: z.array(actorProfileSchema).describe("The latest repliers, the last first (at most 5)"),
    unread: z.number().describe("Replies by others the viewer has not read; 0 in stream events"),
  })
  .nullable()
  .describe("The thread under this message, when it has replies");

export const messageSchema = z.object({
  id: z.string(),
  seq: z.number().describe("The room's order, without gaps"),
  roomId: z.string(),
  url: z.string().describe("The message's ActivityPub object IRI"),
  author: actorProfileSchema.nullable(),
  content: z.string().describe("The Markdown source; empty once deleted"),
  html: z.string().describe("Sanitised HTML rendered from the source"),
  replyTo: z
    .object({
      id: z.string(),
      seq: z.number(),
      author: actorProfileSchema.nullable(),
      snippet: z.string(),
      deleted: z.boolean(),
    })
    .nullable(),
  reactions: z.array(
    z.object({
      emoji: z.string().describe("A Unicode emoji, `:blob:` (this server's) or `:blob@host:` (another server's)"),
      count: z.number(),
      me: z.boolean(),
      url: z.string().optional().describe("A custom emoji's image, served from here"),
    }),
  ),
  emojis: z
    .array(z.object({ shortcode: z.string(), url: z.string() }))
    .describe("Custom emoji the text names (its author's server's), each `:shortcode:` shown as its image"),
  threadRootId: z
    .string()
    .nullable()
    .describe(
      "The root of the thread this message replies in; null on the main timeline. History holds thread " +
        "replies too (the numbering has no gaps): clients show those without `alsoInRoom` in the thread only",
    ),
  alsoInRoom: z.boolean().describe("A thread reply also shown on the main timeline"),
  thread: threadSummarySchema,
  attachments: z.array(attachmentSchema),
  previews: z
    .array(previewCardSchema)
    .describe(
      "Link preview cards of the first links, fetched by this server; a new message's come later, in `message.previews`",
    ),
  hidden: z
    .boolean()
    .optional()
    .describe("History only: the viewer blocks the author (collapse it, with a way to reveal)"),
  editedAt: z.string().nullable(),
  deletedAt: z.string().nullable(),
  createdAt: z.string(),
  pending: z.literal(true).optional().describe("Sent to a room on another server that has not numbered it yet"),
  sticker: z
    .literal(true)
    .optional()
    .describe("A sticker: its one image attachment is shown large, without a bubble (sent with the stickers API)"),
  invitation: invitationSchema
    .optional()
    .describe("An invitation card (sent with the invitations API); absent once the message is deleted"),
});

/** Holds a user to 60 sends a minute (messages and invitations share it), scaled by the test factor. */
export function enforceSendLimit(deps: Deps, actorId: string): void {
  enforceRateLimits(deps, [
    {
      key: `messages:send:${actorId}`,
      limit: Math.max(1, Math.round(60 * deps.config.rateLimitFactor)),
      windowSeconds: 60,
    },
  ]);
}

/** Mounts the message, reaction and read-marker endpoints. */
export function messageRoutes(api: Api, app: Hono<Env>): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/rooms/:roomId/messages/:txnId",
      tag: "messages",
      summary: "Send a message (idempotent per sender and transaction id)",
      description:
        "201 for a new message; 200 with the same message when the transaction id was used already. " +
        "In a room on another server, 202 with `pending: true` and `seq` 0: the room's server numbers it, " +
        "and the stream shows it then.",
      auth: true,
      params: txnParams,
      body: z.object({
        // May be empty when the message carries attachments.
        content: z.string().max(maxMessageLength, `expected at most ${maxMessageLength} characters`),
        replyTo: messageId.optional(),
        attachments: z
          .array(z.uuid({ error: "expected an attachment id" }))
          .max(maxAttachmentsPerMessage, `expected at most ${maxAttachmentsPerMessage} attachments`)
          .optional()
          .describe("Ids of the sender's uploads that no message carries yet"),
        threadRootId: messageId
          .optional()
          .describe("Reply in the thread under this message (a reply in a thread names its root's)"),
        alsoInRoom: z.boolean().optional().describe("With threadRootId: show the reply on the main timeline too"),
      }),
      responses: {
        201: { description: "Sent", schema: messageSchema },
        200: { description: "Sent before with this transaction id", schema: messageSchema },
        202: { description: "Sent to a room on another server", schema: messageSchema },
      },
      errors: ["room_not_found", "not_a_member", "remote_unreachable"],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      enforceSendLimit(deps, me(c));
      const { message, created } = await sendMessage(deps, me(c), params.roomId, { txnId: params.txnId, ...body });
      return c.json(message, message.pending ? 202 : created ? 201 : 200);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/messages",
      tag: "messages",
      summary: "History in ascending seq: the latest, or before, after or around a sequence number",
      auth: true,
      params: roomParams,
      query: historyQuery,
      responses: { 200: { description: "Messages", schema: z.object({ messages: z.array(messageSchema) }) } },
      errors: ["room_not_found", "not_a_member"],
    },
    async (c, { params, query }) => c.json({ messages: await listMessages(c.var.deps, me(c), params.roomId, query) }),
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/messages/:messageId",
      tag: "messages",
      summary: "One message",
      auth: true,
      params: messageParams,
      responses: { 200: { description: "The message", schema: messageSchema } },
      errors: ["room_not_found", "not_a_member", "message_not_found"],
    },
    async (c, { params }) => c.json(await getMessage(c.var.deps, me(c), params.roomId, params.messageId)),
  );

  api.route(
    app,
    {
      method: "patch",
      path: "/api/v1/rooms/:roomId/messages/:messageId",
      tag: "messages",
      summary: "Edit one's own message; the previous version joins its edit history",
      auth: true,
      params: messageParams,
      body: z.object({ content }),
      responses: { 200: { description: "The edited message", schema: messageSchema } },
      errors: ["room_not_found", "not_a_member", "message_not_found", "forbidden", "conflict"],
    },
    async (c, { params, body }) =>
      c.json(await editMessage(c.var.deps, me(c), params.roomId, params.messageId, body.content)),
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/rooms/:roomId/messages/:messageId",
      tag: "messages",
      summary: "Delete a message (the author, or a moderator), leaving a tombstone",
      auth: true,
      params: messageParams,
      responses: { 204: { description: "Deleted" } },
      errors: ["room_not_found", "not_a_member", "message_not_found", "forbidden"],
    },
    async (c, { params }) => {
      await deleteMessage(c.var.deps, me(c), params.roomId, params.messageId);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/messages/:messageId/edits",
      tag: "messages",
      summary: "A message's earlier versions, oldest first",
      auth: true,
      params: messageParams,
      responses: {
        200: {
          description: "Versions",
          schema: z.object({
            edits: z.array(z.object({ content: z.string(), html: z.string(), replacedAt: z.string() })),
          }),
        },
      },
      errors: ["room_not_found", "not_a_member", "message_not_found"],
    },
    async (c, { params }) => c.json({ edits: await editHistory(c.var.deps, me(c), params.roomId, params.messageId) }),
  );

  for (const [method, on] of [
    ["put", true],
    ["delete", false],
  ] as const) {
    api.route(
      app,
      {
        method,
        path: "/api/v1/rooms/:roomId/messages/:messageId/reactions/:emoji",
        tag: "messages",
        summary: on
          ? "React with one emoji or a :shortcode: (several per user, one per emoji)"
          : "Remove one's reaction",
        auth: true,
        params: reactionParams,
        responses: { 204: { description: "Done" } },
        errors: ["room_not_found", "not_a_member", "message_not_found", "conflict"],
      },
      async (c, { params }) => {
        await react(c.var.deps, me(c), params.roomId, params.messageId, reactionKey(params.emoji), on);
        return c.body(null, 204);
      },
    );
  }

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/messages/:messageId/reactions",
      tag: "messages",
      summary: "Who reacted with what",
      auth: true,
      params: messageParams,
      responses: {
        200: {
          description: "Reactions",
          schema: z.object({
            reactions: z.array(z.object({ emoji: z.string(), count: z.number(), actors: z.array(actorProfileSchema) })),
          }),
        },
      },
      errors: ["room_not_found", "not_a_member", "message_not_found"],
    },
    async (c, { params }) =>
      c.json({ reactions: await reactionDetails(c.var.deps, me(c), params.roomId, params.messageId) }),
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms/:roomId/read",
      tag: "messages",
      summary: "Move the read marker forward",
      auth: true,
      params: roomParams,
      body: z.object({ seq: seqField }),
      responses: {
        200: {
          description: "The read state",
          schema: z.object({ roomId: z.string(), seq: z.number(), unread: z.number(), mentions: z.number() }),
        },
      },
      errors: ["room_not_found", "not_a_member"],
    },
    async (c, { params, body }) => {
      const { actorId: _, ...state } = await markRead(c.var.deps, me(c), params.roomId, body.seq);
      return c.json(state);
    },
  );
}
