/** The incoming webhook endpoints: a room's moderators manage them; anyone with the URL posts. */
import type { Context, Hono } from "hono";
import { z } from "zod";
import { handleHost } from "../accounts/accounts.ts";
import { displayName } from "../accounts/profile-routes.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { addressKey, clientAddress } from "../http/client-address.ts";
import { multipartFile } from "../http/multipart.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { avatarLimits, avatarUrl } from "../media/avatars.ts";
import { messageSchema } from "../messages/routes.ts";
import { noContent, roomId, roomParams } from "../rooms/schemas.ts";
import { incomingWebhookBody, webhookContent } from "./payload.ts";
import {
  createWebhook,
  listWebhooks,
  postAsWebhook,
  renameWebhook,
  revokeWebhook,
  setWebhookAvatar,
  type WebhookView,
  webhookBySecret,
  webhookUrl,
} from "./webhooks.ts";

const webhookParams = z.object({ roomId, webhookId: z.uuid({ error: "expected a webhook id" }) });
const incomingParams = z.object({
  webhookId: z.uuid({ error: "expected a webhook id" }),
  secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "expected a webhook secret"),
});
const webhookBody = z.object({ name: displayName.describe("The name its messages show, 1–64 characters") });

const webhookSchema = z.object({
  id: z.string(),
  roomId: z.string(),
  name: z.string(),
  avatarUrl: z.string().nullable(),
  userId: z.string().describe("The webhook's account: the `author.id` of its messages"),
  handle: z.string(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
});

function serializeWebhook(deps: Deps, view: WebhookView): z.infer<typeof webhookSchema> {
  return {
    id: view.webhook.id,
    roomId: view.webhook.roomId,
    name: view.user.displayName,
    avatarUrl: avatarUrl(deps, view.user.avatar),
    userId: view.user.id,
    handle: `${view.user.username}@${handleHost(deps)}`,
    createdAt: view.webhook.createdAt.toISOString(),
    createdBy: view.webhook.createdBy,
  };
}

/** Renames and avatars: 30 an hour per webhook, as a user's profile changes are limited. */
function limitWebhookChanges(deps: Deps, webhookId: string): void {
  enforceRateLimits(deps, [
    {
      key: `webhooks:change:${webhookId}`,
      limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
      windowSeconds: 3600,
    },
  ]);
}

/** An `Idempotency-Key` header: a transaction id's alphabet and length. */
const idempotencyKey = /^[A-Za-z0-9._~-]{1,64}$/;

/** A webhook POST's body: a message's worth of JSON with room for the fields other senders add. */
export const incomingBodyLimit = 64 * 1024;

/** Mounts the webhook endpoints. */
export function webhookRoutes(api: Api, app: Hono<Env>): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms/:roomId/webhooks",
      tag: "webhooks",
      summary: "Make an incoming webhook for the room (moderators; at most 15); its URL is shown only here",
      description:
        "POST `{ content }` (or Slack's `{ text }`, or Discord's `{ content, username, avatar_url }`) as JSON to the URL " +
        "to post a message as the webhook. The webhook is a bot that is a member of the room: a room that forbids bots refuses it.",
      auth: true,
      params: roomParams,
      body: webhookBody,
      responses: {
        201: {
          description: "The webhook and its URL",
          schema: z.object({
            webhook: webhookSchema,
            url: z.string().describe("The URL to POST to: its secret is shown once, stored hashed"),
          }),
        },
      },
      errors: [
        "room_not_found",
        "not_a_member",
        "forbidden",
        "managed_remotely",
        "bots_forbidden",
        "webhook_limit_reached",
      ],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      enforceRateLimits(deps, [
        {
          key: `webhooks:create:${me(c)}`,
          limit: Math.max(1, Math.round(20 * deps.config.rateLimitFactor)),
          windowSeconds: 3600,
        },
      ]);
      const created = await createWebhook(deps, me(c), params.roomId, body);
      return c.json(
        { webhook: serializeWebhook(deps, created), url: webhookUrl(deps, created.webhook.id, created.secret) },
        201,
      );
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/webhooks",
      tag: "webhooks",
      summary: "The room's live webhooks (moderators; never their URLs)",
      auth: true,
      params: roomParams,
      responses: { 200: { description: "Webhooks", schema: z.object({ webhooks: z.array(webhookSchema) }) } },
      errors: ["room_not_found", "not_a_member", "forbidden", "managed_remotely"],
    },
    async (c, { params }) => {
      const deps = c.var.deps;
      const list = await listWebhooks(deps, me(c), params.roomId);
      return c.json({ webhooks: list.map((w) => serializeWebhook(deps, w)) });
    },
  );

  api.route(
    app,
    {
      method: "patch",
      path: "/api/v1/rooms/:roomId/webhooks/:webhookId",
      tag: "webhooks",
      summary: "Rename a webhook (moderators); its messages show the new name",
      auth: true,
      params: webhookParams,
      body: webhookBody,
      responses: { 200: { description: "The webhook", schema: webhookSchema } },
      errors: ["room_not_found", "not_a_member", "forbidden", "managed_remotely", "webhook_not_found"],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      limitWebhookChanges(deps, params.webhookId);
      const view = await renameWebhook(deps, me(c), params.roomId, params.webhookId, body.name);
      return c.json(serializeWebhook(deps, view));
    },
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/rooms/:roomId/webhooks/:webhookId/avatar",
      tag: "webhooks",
      summary: "Upload a webhook's avatar (moderators; as PUT /api/v1/me/avatar)",
      auth: true,
      params: webhookParams,
      bodyLimit: avatarLimits.maxBytes + 64 * 1024,
      multipart: { file: { description: "The image; its type is recognised from its bytes", binary: true } },
      responses: { 200: { description: "The webhook", schema: webhookSchema } },
      errors: ["room_not_found", "not_a_member", "forbidden", "managed_remotely", "webhook_not_found"],
    },
    async (c, { params }) => {
      const deps = c.var.deps;
      limitWebhookChanges(deps, params.webhookId);
      const file = await multipartFile(c, "file");
      const bytes = new Uint8Array(await file.arrayBuffer());
      return c.json(
        serializeWebhook(deps, await setWebhookAvatar(deps, me(c), params.roomId, params.webhookId, bytes)),
      );
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/rooms/:roomId/webhooks/:webhookId",
      tag: "webhooks",
      summary: "Revoke a webhook (moderators): its URL answers 404 from now on; its messages stay",
      auth: true,
      params: webhookParams,
      responses: noContent,
      errors: ["room_not_found", "not_a_member", "forbidden", "managed_remotely", "webhook_not_found"],
    },
    async (c, { params }) => {
      await revokeWebhook(c.var.deps, me(c), params.roomId, params.webhookId);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/webhooks/:webhookId/:secret",
      tag: "webhooks",
      summary: "Post a message through an incoming webhook (no other authentication: the URL is the secret)",
      description:
        "Takes `{ content }` (Markdown), Slack's `{ text }` or Discord's `{ content, username, avatar_url }`; " +
        "`username` and `avatar_url` are ignored (the webhook's own name and avatar are shown, and no address is fetched). " +
        "A wrong secret, a revoked webhook and an unknown one all answer 404 `webhook_not_found`. " +
        "At most 30 posts a minute per webhook; the body at most 64 KiB. " +
        "An `Idempotency-Key` header (1–64 of A-Z, a-z, 0-9, `.`, `_`, `~`, `-`) makes a retry answer with the same message.",
      params: incomingParams,
      body: incomingWebhookBody,
      bodyLimit: incomingBodyLimit,
      responses: { 200: { description: "The message, as the room's history shows it", schema: messageSchema } },
      errors: ["webhook_not_found", "room_not_found", "not_a_member", "bots_forbidden"],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      const webhook = await webhookBySecret(deps, params.webhookId, params.secret).catch((error: unknown) => {
        if (!(error instanceof AppError && error.code === "webhook_not_found")) throw error;
        // Guessing costs: misses are counted by address (no honest sender misses often).
        enforceRateLimits(deps, [
          {
            key: `webhooks:miss:${addressKey(clientAddress(c, deps.config.trustProxy))}`,
            limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
            windowSeconds: 600,
          },
        ]);
        throw error;
      });
      enforceRateLimits(deps, [
        {
          key: `webhooks:post:${webhook.id}`,
          limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
          windowSeconds: 60,
        },
      ]);
      const key = c.req.header("idempotency-key");
      if (key != null && !idempotencyKey.test(key)) {
        throw new AppError("validation_failed", "The Idempotency-Key header is not valid.", {
          details: [{ path: "Idempotency-Key", message: "expected 1 to 64 characters of A-Z, a-z, 0-9, . _ ~ -" }],
        });
      }
      return c.json(await postAsWebhook(deps, webhook, webhookContent(body), key));
    },
  );
}
