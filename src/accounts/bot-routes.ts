import type { Hono } from "hono";
import { z } from "zod";
import type { Deps } from "../deps.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { multipartFile } from "../http/multipart.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { avatarLimits, removeAvatar, setAvatar } from "../media/avatars.ts";
import { cleanName, codePointLength } from "../text.ts";
import { type AccessTokenView, createAccessToken, listAccessTokens, revokeAccessToken } from "./access-tokens.ts";
import { updateProfile } from "./accounts.ts";
import { botOf, createBot, deleteBot, listBots } from "./bots.ts";
import { bio, displayName, limitProfileChanges, userSchema, userView, userViews } from "./profile-routes.ts";
import { tokenScopes } from "./token-scopes.ts";

// ---- Schemas ----

const createBotBody = z.object({
  username: z.string().max(100).describe("3–32 characters of a-z, 0-9 and _; the same namespace as people"),
  displayName: displayName.optional(),
  bio: bio.optional(),
});
const updateBotBody = z.object({ displayName: displayName.optional(), bio: bio.optional() });
const botParams = z.object({ id: z.uuid({ error: "expected a bot id" }) });
const tokenParams = z.object({ id: z.uuid({ error: "expected a token id" }) });
const createTokenBody = z.object({
  name: z
    .string()
    .max(400)
    .transform(cleanName)
    .refine((v) => v.length > 0 && codePointLength(v) <= 64, "expected 1–64 characters")
    .describe("What the token is for, to recognise it in the list"),
  scopes: tokenScopes,
  expiresInDays: z
    .int()
    .min(1)
    .max(3650)
    .nullable()
    .optional()
    .describe("Days until it stops working; absent or null for a token that does not expire"),
  botId: z.uuid().optional().describe("One of your bots, to make a token that acts as it; absent for yourself"),
});

const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  prefix: z.string().describe("The first characters of the secret, to tell tokens apart"),
  user: userSchema.describe("Who the token acts as: you, or one of your bots"),
  expiresAt: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string(),
});

function serializeToken(view: AccessTokenView, user: z.infer<typeof userSchema>): z.infer<typeof tokenSchema> {
  return {
    id: view.token.id,
    name: view.token.name,
    scopes: view.token.scopes,
    prefix: view.token.prefix,
    user,
    expiresAt: view.token.expiresAt?.toISOString() ?? null,
    createdAt: view.token.createdAt.toISOString(),
    lastUsedAt: view.lastUsedAt.toISOString(),
  };
}

/** Making bots and tokens: 20 an hour per user, which no honest use reaches. */
function limitCredentialChanges(deps: Deps, userId: string): void {
  enforceRateLimits(deps, [
    {
      key: `credentials:${userId}`,
      limit: Math.max(1, Math.round(20 * deps.config.rateLimitFactor)),
      windowSeconds: 3600,
    },
  ]);
}

/**
 * Mounts bot management (`/api/v1/bots`) and personal access tokens (`/api/v1/tokens`). Neither
 * is reachable with a personal access token (token-scopes.ts): a token cannot mint another.
 */
export function botRoutes(api: Api, app: Hono<Env>): void {
  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/bots",
      tag: "bots",
      summary: "Make a bot you own (at most 10); it acts through personal access tokens",
      auth: true,
      body: createBotBody,
      responses: { 201: { description: "The bot", schema: userSchema } },
      errors: ["username_taken", "bot_limit_reached", "forbidden"],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const { user } = authenticated(c);
      limitCredentialChanges(deps, user.id);
      return c.json(await userView(deps, await createBot(deps, user, body)), 201);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/bots",
      tag: "bots",
      summary: "Your bots",
      auth: true,
      responses: { 200: { description: "Bots", schema: z.object({ bots: z.array(userSchema) }) } },
    },
    async (c) => {
      const deps = c.var.deps;
      const bots = await listBots(deps, authenticated(c).user.id);
      return c.json({ bots: await userViews(deps, bots) });
    },
  );

  api.route(
    app,
    {
      method: "patch",
      path: "/api/v1/bots/:id",
      tag: "bots",
      summary: "Change a bot's display name or description",
      auth: true,
      params: botParams,
      body: updateBotBody,
      responses: { 200: { description: "The bot", schema: userSchema } },
      errors: ["bot_not_found"],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      const bot = await botOf(deps, authenticated(c).user.id, params.id);
      limitProfileChanges(deps, bot);
      return c.json(await userView(deps, await updateProfile(deps, bot, body)));
    },
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/bots/:id/avatar",
      tag: "bots",
      summary: "Upload a bot's avatar (as PUT /api/v1/me/avatar)",
      auth: true,
      params: botParams,
      bodyLimit: avatarLimits.maxBytes + 64 * 1024,
      multipart: { file: { description: "The image; its type is recognised from its bytes", binary: true } },
      responses: { 200: { description: "The bot", schema: userSchema } },
      errors: ["bot_not_found"],
    },
    async (c, { params }) => {
      const deps = c.var.deps;
      const bot = await botOf(deps, authenticated(c).user.id, params.id);
      limitProfileChanges(deps, bot);
      const file = await multipartFile(c, "file");
      return c.json(await userView(deps, await setAvatar(deps, bot, new Uint8Array(await file.arrayBuffer()))));
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/bots/:id/avatar",
      tag: "bots",
      summary: "Remove a bot's avatar",
      auth: true,
      params: botParams,
      responses: { 200: { description: "The bot", schema: userSchema } },
      errors: ["bot_not_found"],
    },
    async (c, { params }) => {
      const deps = c.var.deps;
      const bot = await botOf(deps, authenticated(c).user.id, params.id);
      return c.json(await userView(deps, await removeAvatar(deps, bot)));
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/bots/:id",
      tag: "bots",
      summary: "Delete a bot, with its tokens and messages",
      auth: true,
      params: botParams,
      responses: { 204: { description: "Deleted" } },
      errors: ["bot_not_found"],
    },
    async (c, { params }) => {
      await deleteBot(c.var.deps, authenticated(c).user.id, params.id);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/tokens",
      tag: "bots",
      summary: "Make a personal access token for yourself or one of your bots; the secret is shown only here",
      description:
        "Send it as `Authorization: Bearer fct_…` on any API route and to open the live stream (`POST /api/v1/stream/ticket`). " +
        "A request outside its scopes gets 403 `token_scope`; tokens, bots, passwords and sessions are never reachable with one.",
      auth: true,
      body: createTokenBody,
      responses: {
        201: {
          description: "The token and its secret",
          schema: z.object({ token: tokenSchema, secret: z.string().describe("`fct_…`: shown once, stored hashed") }),
        },
      },
      errors: ["bot_not_found", "token_limit_reached", "forbidden"],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const { user } = authenticated(c);
      limitCredentialChanges(deps, user.id);
      const expiresAt = body.expiresInDays != null ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null;
      const created = await createAccessToken(deps, user, { ...body, expiresAt });
      return c.json(
        { token: serializeToken(created, await userView(deps, created.user)), secret: created.secret },
        201,
      );
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/tokens",
      tag: "bots",
      summary: "Your live personal access tokens, for yourself and your bots (never their secrets)",
      auth: true,
      responses: { 200: { description: "Tokens", schema: z.object({ tokens: z.array(tokenSchema) }) } },
    },
    async (c) => {
      const deps = c.var.deps;
      const tokens = await listAccessTokens(deps, authenticated(c).user.id);
      const users = await userViews(
        deps,
        tokens.map((t) => t.user),
      );
      return c.json({
        tokens: tokens.map((token, i) => serializeToken(token, users[i] as z.infer<typeof userSchema>)),
      });
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/tokens/:id",
      tag: "bots",
      summary: "Revoke a personal access token; it is refused from its next request on",
      auth: true,
      params: tokenParams,
      responses: { 204: { description: "Revoked" } },
      errors: ["token_not_found"],
    },
    async (c, { params }) => {
      await revokeAccessToken(c.var.deps, authenticated(c).user.id, params.id);
      return c.body(null, 204);
    },
  );
}
