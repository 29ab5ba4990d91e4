/** The membership and moderation endpoints of rooms: members, roles, kicks, bans, the log. */
import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { cleanName, cleanText, codePointLength } from "../text.ts";
import { actorByHandle, actorProfileSchema } from "./actors.ts";
import {
  banMember,
  kickMember,
  listBans,
  listMembers,
  setMemberRole,
  sharedRooms,
  unbanMember,
  updateMyMembership,
} from "./members.ts";
import { roles } from "./permissions.ts";
import { moderationLogOf } from "./rooms.ts";
import { noContent, notificationSettingsSchema, roomId, roomParams } from "./schemas.ts";

const actorId = z.uuid({ error: "expected an actor id" });
const memberParams = z.object({ roomId, actorId });
const handleParams = z.object({ handle: z.string().min(1).max(300) });
const sharedRoomSchema = z.object({ id: z.string(), name: z.string() });

const reason = z
  .string()
  .max(4000)
  .transform(cleanText)
  .refine((v) => codePointLength(v) <= 500, "expected at most 500 characters");
const nickname = z
  .string()
  .max(400)
  .transform(cleanName)
  .refine((v) => v.length > 0 && codePointLength(v) <= 64, "expected 1 to 64 characters");
const color = z
  .string()
  .regex(/^#[0-9A-Fa-f]{6}$/, "expected a colour such as #3366ff")
  .transform((v) => v.toLowerCase());

const roleBody = z.object({ role: z.enum(roles) });
const reasonBody = z.object({ reason: reason.optional() });
const banBody = z.object({ reason: reason.default("") });
const myMembershipBody = z.object({
  nickname: nickname.nullable().optional(),
  color: color.nullable().optional(),
  notifications: z
    .enum(["all", "mentions", "none", "default"])
    .optional()
    .describe("Which messages notify the caller; `default` is `all` in direct conversations, else `mentions`"),
  muted: z.boolean().optional().describe("A muted room creates no notifications"),
});
const logQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

const memberSchema = z.object({
  actor: actorProfileSchema,
  role: z.enum(roles),
  nickname: z.string().nullable(),
  color: z.string().nullable(),
  joinedAt: z.string(),
  presence: z.enum(["online", "offline"]).optional(),
  readUpTo: z
    .number()
    .optional()
    .describe("In the member list: the number of the last message the member has read (read receipts)"),
  notifications: notificationSettingsSchema.optional().describe("Only in the caller's own membership"),
});

/** Mounts the membership and moderation endpoints. */
export function memberRoutes(api: Api, app: Hono<Env>): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/members",
      tag: "members",
      summary: "The members, owners first",
      auth: true,
      params: roomParams,
      responses: { 200: { description: "Members", schema: z.object({ members: z.array(memberSchema) }) } },
      errors: ["room_not_found", "not_a_member"],
    },
    async (c, { params }) => c.json({ members: await listMembers(c.var.deps, me(c), params.roomId) }),
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/users/:handle/shared-rooms",
      tag: "members",
      summary: "The rooms the caller and a user are both in (what a user card shows)",
      description:
        "By name, at most 50; direct conversations are left out. Someone on another server is looked up among the people this server knows, never fetched.",
      auth: true,
      params: handleParams,
      responses: { 200: { description: "The rooms", schema: z.object({ rooms: z.array(sharedRoomSchema) }) } },
      errors: ["user_not_found"],
    },
    async (c, { params }) => {
      const deps = c.var.deps;
      const other = await actorByHandle(deps, params.handle, { stored: true });
      return c.json({ rooms: await sharedRooms(deps, me(c), other.id) });
    },
  );

  api.route(
    app,
    {
      method: "patch",
      path: "/api/v1/rooms/:roomId/members/me",
      tag: "members",
      summary: "Set one's own nickname and colour in the room",
      auth: true,
      params: roomParams,
      body: myMembershipBody,
      responses: { 200: { description: "The membership", schema: memberSchema } },
      errors: ["room_not_found", "not_a_member"],
    },
    async (c, { params, body }) => c.json(await updateMyMembership(c.var.deps, me(c), params.roomId, body)),
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/rooms/:roomId/members/:actorId/role",
      tag: "moderation",
      summary: "Change a member's role (owner hands over ownership with role owner)",
      auth: true,
      params: memberParams,
      body: roleBody,
      responses: noContent,
      errors: ["room_not_found", "not_a_member", "forbidden", "member_not_found"],
    },
    async (c, { params, body }) => {
      await setMemberRole(c.var.deps, me(c), params.roomId, params.actorId, body.role);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms/:roomId/members/:actorId/kick",
      tag: "moderation",
      summary: "Remove a member with a lower role",
      auth: true,
      params: memberParams,
      body: reasonBody,
      responses: noContent,
      errors: ["room_not_found", "not_a_member", "forbidden", "member_not_found"],
    },
    async (c, { params, body }) => {
      await kickMember(c.var.deps, me(c), params.roomId, params.actorId, body.reason);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/bans",
      tag: "moderation",
      summary: "The room's bans",
      auth: true,
      params: roomParams,
      responses: { 200: { description: "Bans", schema: z.object({ bans: z.array(z.unknown()) }) } },
      errors: ["room_not_found", "not_a_member", "forbidden"],
    },
    async (c, { params }) => c.json({ bans: await listBans(c.var.deps, me(c), params.roomId) }),
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/rooms/:roomId/bans/:actorId",
      tag: "moderation",
      summary: "Ban an actor with a reason: removed now, refused at every later join or invite",
      auth: true,
      params: memberParams,
      body: banBody,
      responses: noContent,
      errors: ["room_not_found", "not_a_member", "forbidden"],
    },
    async (c, { params, body }) => {
      await banMember(c.var.deps, me(c), params.roomId, params.actorId, body.reason);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/rooms/:roomId/bans/:actorId",
      tag: "moderation",
      summary: "Lift a ban",
      auth: true,
      params: memberParams,
      responses: noContent,
      errors: ["room_not_found", "not_a_member", "forbidden", "member_not_found"],
    },
    async (c, { params }) => {
      await unbanMember(c.var.deps, me(c), params.roomId, params.actorId);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/moderation-log",
      tag: "moderation",
      summary: "Who did what in the room, newest first (moderators)",
      auth: true,
      params: roomParams,
      query: logQuery,
      responses: { 200: { description: "Entries", schema: z.object({ entries: z.array(z.unknown()) }) } },
      errors: ["room_not_found", "not_a_member", "forbidden"],
    },
    async (c, { params, query }) =>
      c.json({ entries: await moderationLogOf(c.var.deps, me(c), params.roomId, query.limit) }),
  );
}
