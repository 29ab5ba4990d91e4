/** The invite endpoints of rooms: make, list and revoke invites; preview and accept a link. */
import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { addressKey, clientAddress } from "../http/client-address.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import {
  createInvite,
  listInvites,
  maxInviteSeconds,
  previewInvite,
  redeemInvite,
  revokeInvite,
  serializeInvite,
} from "./invites.ts";
import { roomFor, roomSchema, serializeRoom } from "./room-views.ts";
import { noContent, roomId, roomParams } from "./schemas.ts";

const createInviteBody = z.object({
  user: z
    .string()
    .min(1)
    .max(300)
    .optional()
    .describe("A handle: invite this user only; they are notified, and the invite redeems once, for them"),
  expiresIn: z
    .number()
    .int()
    .min(60, "expected at least 60 seconds")
    .max(maxInviteSeconds, "expected at most 30 days (2592000 seconds)")
    .nullable()
    .default(7 * 24 * 60 * 60)
    .describe("Seconds until the invite expires; null for never. Default 7 days."),
  maxUses: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .nullable()
    .default(null)
    .describe("1 for a one-time invite; null for unlimited."),
});
const inviteParams = z.object({ roomId, inviteId: z.uuid({ error: "expected an invite id" }) });
const codeParams = z.object({ code: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, "expected an invite code") });
const inviteSchema = z.object({
  id: z.string(),
  roomId: z.string(),
  code: z.string().optional(),
  url: z.string().optional(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  maxUses: z.number().nullable(),
  uses: z.number(),
  revoked: z.boolean(),
  invitee: z.string().nullable().describe("The invited user's actor id, for an invite to one user"),
});

/** Mounts the invite endpoints. */
export function inviteRoutes(api: Api, app: Hono<Env>): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms/:roomId/invites",
      tag: "invites",
      summary: "Create an invite link (at most 30 days; maxUses 1 for one-time)",
      auth: true,
      params: roomParams,
      body: createInviteBody,
      responses: { 201: { description: "The invite, with its code (shown only now)", schema: inviteSchema } },
      errors: ["room_not_found", "not_a_member", "forbidden", "user_not_found", "already_member"],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      enforceRateLimits(deps, [
        {
          key: `invites:create:${me(c)}`,
          limit: Math.max(1, Math.round(50 * deps.config.rateLimitFactor)),
          windowSeconds: 3600,
        },
      ]);
      const { invite, code } = await createInvite(deps, me(c), params.roomId, body);
      return c.json(serializeInvite(deps, invite, code), 201);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/invites",
      tag: "invites",
      summary: "The room's usable invites",
      auth: true,
      params: roomParams,
      responses: { 200: { description: "Invites", schema: z.object({ invites: z.array(inviteSchema) }) } },
      errors: ["room_not_found", "not_a_member", "forbidden"],
    },
    async (c, { params }) => {
      const deps = c.var.deps;
      return c.json({ invites: (await listInvites(deps, me(c), params.roomId)).map((i) => serializeInvite(deps, i)) });
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/rooms/:roomId/invites/:inviteId",
      tag: "invites",
      summary: "Revoke an invite",
      auth: true,
      params: inviteParams,
      responses: noContent,
      errors: ["room_not_found", "not_a_member", "forbidden", "invite_not_found"],
    },
    async (c, { params }) => {
      await revokeInvite(c.var.deps, me(c), params.roomId, params.inviteId);
      return c.body(null, 204);
    },
  );

  const inviteLimit = (c: Context<Env>) => {
    const deps = c.var.deps;
    enforceRateLimits(deps, [
      {
        key: `invites:use:${addressKey(clientAddress(c, deps.config.trustProxy))}`,
        limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
        windowSeconds: 300,
      },
    ]);
  };

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/invites/:code",
      tag: "invites",
      summary: "What an invite leads to, before accepting it",
      auth: true,
      params: codeParams,
      responses: {
        200: {
          description: "The room",
          schema: z.object({ room: roomSchema, members: z.number(), usable: z.boolean() }),
        },
      },
      errors: ["invite_not_found", "invite_expired"],
    },
    async (c, { params }) => {
      inviteLimit(c);
      const deps = c.var.deps;
      const preview = await previewInvite(deps, params.code, me(c));
      return c.json({
        room: serializeRoom(deps, preview.room, { role: null }),
        members: preview.members,
        usable: preview.usable,
      });
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/invites/:code/accept",
      tag: "invites",
      summary: "Accept an invite and join its room",
      auth: true,
      params: codeParams,
      responses: { 200: { description: "The room", schema: roomSchema } },
      errors: ["invite_not_found", "invite_expired", "banned"],
    },
    async (c, { params }) => {
      inviteLimit(c);
      const room = await redeemInvite(c.var.deps, me(c), params.code);
      return c.json(await roomFor(c, room.id));
    },
  );
}
