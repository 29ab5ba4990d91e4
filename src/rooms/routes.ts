import type { Context, Hono } from "hono";
import { z } from "zod";
import { handleHost } from "../accounts/accounts.ts";
import type { Room } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { addressKey, clientAddress } from "../http/client-address.ts";
import { multipartFile } from "../http/multipart.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { avatarLimits, avatarUrl } from "../media/avatars.ts";
import { cleanName, cleanText, codePointLength } from "../text.ts";
import { actorProfileSchema } from "./actors.ts";
import { maxDirectParticipants, openDirect } from "./direct.ts";
import {
  createInvite,
  listInvites,
  maxInviteSeconds,
  previewInvite,
  redeemInvite,
  revokeInvite,
  serializeInvite,
} from "./invites.ts";
import {
  banMember,
  joinRoom,
  kickMember,
  leaveRoom,
  listBans,
  listMembers,
  setMemberRole,
  unbanMember,
  updateMyMembership,
} from "./members.ts";
import { allowedActions, type Role, roles } from "./permissions.ts";
import { pendingRooms } from "./remote.ts";
import {
  accessRoom,
  createRoom,
  deleteRoom,
  listMyRooms,
  moderationLogOf,
  type NotificationSettings,
  remote,
  roomDirectory,
  setRoomAvatar,
  updateRoom,
} from "./rooms.ts";

// ---- Schemas ----

/** Room ids are server-generated UUIDv7s; anything else is refused before storage is touched. */
export const roomId = z.uuid({ version: "v7", error: "expected a room id" });
const actorId = z.uuid({ error: "expected an actor id" });
export const roomParams = z.object({ roomId });
const memberParams = z.object({ roomId, actorId });

const roomName = z
  .string()
  .max(1000, "expected at most 100 characters")
  .transform(cleanName)
  .refine((v) => v.length > 0, "expected at least one visible character")
  .refine((v) => codePointLength(v) <= 100, "expected at most 100 characters");
const topic = z
  .string()
  .max(8000, "expected at most 1000 characters")
  .transform(cleanText)
  .refine((v) => codePointLength(v) <= 1000, "expected at most 1000 characters");
const theme = z
  .string()
  .regex(/^#[0-9A-Fa-f]{6}$/, "expected an accent colour such as #3366ff")
  .transform((v) => v.toLowerCase());
const visibility = z.enum(["public", "private"]);
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

export const createRoomBody = z.object({ name: roomName, topic: topic.optional(), visibility });
export const updateRoomBody = z.object({
  name: roomName.optional(),
  topic: topic.optional(),
  theme: theme.nullable().optional(),
  visibility: visibility.optional(),
});
const directoryQuery = z.object({
  q: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});
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
const roleBody = z.object({ role: z.enum(roles) });
const reasonBody = z.object({ reason: reason.optional() });
const banBody = z.object({ reason: reason.default("") });
const notificationSettingsSchema = z
  .object({ level: z.enum(["all", "mentions", "none"]), muted: z.boolean() })
  .describe("How the room notifies the caller: `all` messages, `mentions` and replies, or `none`; muted makes none");
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
  notifications: notificationSettingsSchema.optional().describe("Only in the caller's own membership"),
});
const roomSchema = z.object({
  id: z.string(),
  name: z.string(),
  topic: z.string(),
  visibility,
  direct: z.boolean(),
  theme: z.string().nullable(),
  avatarUrl: z.string().nullable(),
  role: z.enum(roles).nullable().describe("The caller's role; null when not a member"),
  permissions: z.array(z.string()).describe("What the caller may do here"),
  unread: z.number(),
  mentions: z.number(),
  lastSeq: z.number(),
  lastReadSeq: z.number(),
  notifications: notificationSettingsSchema.nullable(),
  handle: z.string().describe("The room's WebFinger handle"),
  url: z.string().describe("The room's ActivityPub Group IRI"),
  remote: z.boolean().describe("Whether the room lives on another server"),
  membership: z
    .enum(["joined", "pending", "none"])
    .describe("`pending` while a room on another server has not answered the caller's join"),
  createdAt: z.string(),
});
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

/** A room as the API shows it to one caller. */
export function serializeRoom(
  deps: Deps,
  room: Room,
  caller: {
    role: Role | null;
    unread?: number;
    mentions?: number;
    lastReadSeq?: number;
    notifications?: NotificationSettings;
    pending?: boolean;
  },
): z.infer<typeof roomSchema> {
  const remoteUrl = room.iri ? new URL(room.iri) : undefined;
  return {
    id: room.id,
    name: room.name,
    topic: room.topic,
    visibility: room.visibility,
    direct: room.direct,
    theme: room.theme,
    avatarUrl: avatarUrl(deps, room.avatar),
    role: caller.role,
    permissions: caller.role ? allowedActions(caller.role) : [],
    unread: caller.unread ?? 0,
    mentions: caller.mentions ?? 0,
    lastSeq: room.lastSeq,
    lastReadSeq: caller.lastReadSeq ?? 0,
    notifications: caller.notifications ?? null,
    handle: remoteUrl
      ? `${remoteUrl.pathname.split("/").filter(Boolean).at(-1) ?? room.id}@${remoteUrl.host}`
      : `${room.id}@${handleHost(deps)}`,
    url: room.iri ?? `${deps.config.origin}/rooms/${room.id}`,
    remote: room.iri != null,
    membership: caller.pending ? "pending" : caller.role ? "joined" : "none",
    createdAt: room.createdAt.toISOString(),
  };
}

async function roomFor(c: Context<Env>, roomId: string) {
  const deps = c.var.deps;
  const { user } = authenticated(c);
  const [entry] = await listMyRooms(deps, user.id, roomId);
  if (entry) return serializeRoom(deps, entry.room, entry);
  const pending = (await pendingRooms(deps, user.id)).find((r) => r.id === roomId);
  if (pending) return serializeRoom(deps, pending, { role: null, pending: true });
  const { room } = await accessRoom(deps, roomId, user.id, "visible");
  return serializeRoom(deps, room, { role: null });
}

const noContent = { 204: { description: "Done" } } as const;

/**
 * A join target that names something on this server: a room handle (`<id>@host`), the room's
 * URL, or an invite link. Anything else is for federation to resolve.
 */
function localTarget(deps: Deps, target: string): { kind: "room" | "invite"; id: string } | undefined {
  const host = handleHost(deps).toLowerCase();
  const handle = /^@?([0-9a-f-]{36})@(.+)$/i.exec(target);
  if (handle?.[1] && handle[2]?.toLowerCase() === host) return { kind: "room", id: roomIdOf(handle[1]) };
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  if (url.origin !== new URL(deps.config.origin).origin) return undefined;
  const room = /^\/rooms\/([0-9a-f-]{36})\/?$/i.exec(url.pathname)?.[1];
  if (room) return { kind: "room", id: roomIdOf(room) };
  const code = /^\/invite\/([A-Za-z0-9_-]{16,64})$/.exec(url.pathname)?.[1];
  if (code) return { kind: "invite", id: code };
  throw new AppError("room_not_found", "Nothing on this server is at that address.");
}

function roomIdOf(value: string): string {
  const parsed = roomId.safeParse(value.toLowerCase());
  if (!parsed.success) throw new AppError("room_not_found", "No such room.");
  return parsed.data;
}

/** Mounts the room, membership, moderation and invite endpoints. */
export function roomRoutes(api: Api, app: Hono<Env>): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/dms",
      tag: "rooms",
      summary: "Open a direct conversation: one other user (always the same room) or a group of up to 10",
      auth: true,
      body: z.object({
        users: z
          .array(z.string().min(1).max(300))
          .min(1)
          .max(maxDirectParticipants - 1),
      }),
      responses: { 200: { description: "The conversation", schema: roomSchema } },
      errors: ["user_not_found"],
    },
    async (c, { body }) => {
      const room = await openDirect(c.var.deps, me(c), body.users);
      return c.json(await roomFor(c, room.id));
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms",
      tag: "rooms",
      summary: "Create a room; the caller is its owner",
      auth: true,
      body: createRoomBody,
      responses: { 201: { description: "The room", schema: roomSchema } },
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      enforceRateLimits(deps, [
        {
          key: `rooms:create:${me(c)}`,
          limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
          windowSeconds: 3600,
        },
      ]);
      const room = await createRoom(deps, me(c), body);
      return c.json(serializeRoom(deps, room, { role: "owner" }), 201);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms",
      tag: "rooms",
      summary: "The caller's rooms, with unread and mention counts",
      auth: true,
      responses: { 200: { description: "Rooms", schema: z.object({ rooms: z.array(roomSchema) }) } },
    },
    async (c) => {
      const deps = c.var.deps;
      const entries = await listMyRooms(deps, me(c));
      const pending = await pendingRooms(deps, me(c));
      return c.json({
        rooms: [
          ...pending.map((room) => serializeRoom(deps, room, { role: null, pending: true })),
          ...entries.map((e) => serializeRoom(deps, e.room, e)),
        ],
      });
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/directory",
      tag: "rooms",
      summary: "Public rooms, searchable by name",
      auth: true,
      query: directoryQuery,
      responses: {
        200: {
          description: "Public rooms, largest first",
          schema: z.object({ rooms: z.array(roomSchema.extend({ members: z.number() })) }),
        },
      },
    },
    async (c, { query }) => {
      const deps = c.var.deps;
      const mine = new Map((await listMyRooms(deps, me(c))).map((e) => [e.room.id, e]));
      const rows = await roomDirectory(deps, { query: query.q, limit: query.limit, offset: query.offset });
      return c.json({
        rooms: rows.map(({ room, members }) => ({
          ...serializeRoom(deps, room, mine.get(room.id) ?? { role: null }),
          members,
        })),
      });
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId",
      tag: "rooms",
      summary: "A room (a private room only for its members)",
      auth: true,
      params: roomParams,
      responses: { 200: { description: "The room", schema: roomSchema } },
      errors: ["room_not_found"],
    },
    async (c, { params }) => c.json(await roomFor(c, params.roomId)),
  );

  api.route(
    app,
    {
      method: "patch",
      path: "/api/v1/rooms/:roomId",
      tag: "rooms",
      summary: "Change the name, topic, theme or visibility (each by its permission)",
      auth: true,
      params: roomParams,
      body: updateRoomBody,
      responses: { 200: { description: "The room", schema: roomSchema } },
      errors: ["room_not_found", "not_a_member", "forbidden"],
    },
    async (c, { params, body }) => {
      await updateRoom(c.var.deps, me(c), params.roomId, body);
      return c.json(await roomFor(c, params.roomId));
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/rooms/:roomId",
      tag: "rooms",
      summary: "Delete the room (owner): members are told, history is no longer served",
      auth: true,
      params: roomParams,
      responses: noContent,
      errors: ["room_not_found", "not_a_member", "forbidden"],
    },
    async (c, { params }) => {
      await deleteRoom(c.var.deps, me(c), params.roomId);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/rooms/:roomId/avatar",
      tag: "rooms",
      summary: "Upload the room's avatar (PNG, JPEG, WebP or GIF; at most 2 MB and 4096×4096)",
      auth: true,
      params: roomParams,
      bodyLimit: avatarLimits.maxBytes + 64 * 1024,
      multipart: { file: { description: "The image; its type is recognised from its bytes", binary: true } },
      responses: { 200: { description: "The room", schema: roomSchema } },
      errors: ["room_not_found", "not_a_member", "forbidden"],
    },
    async (c, { params }) => {
      const file = await multipartFile(c, "file");
      await setRoomAvatar(c.var.deps, me(c), params.roomId, new Uint8Array(await file.arrayBuffer()));
      return c.json(await roomFor(c, params.roomId));
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/rooms/:roomId/avatar",
      tag: "rooms",
      summary: "Remove the room's avatar",
      auth: true,
      params: roomParams,
      responses: { 200: { description: "The room", schema: roomSchema } },
      errors: ["room_not_found", "not_a_member", "forbidden"],
    },
    async (c, { params }) => {
      await setRoomAvatar(c.var.deps, me(c), params.roomId, null);
      return c.json(await roomFor(c, params.roomId));
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms/join",
      tag: "members",
      summary:
        "Join a room by handle (`<room>@host`), Group URL or invite link, here or on another server. " +
        "A remote room answers later: until then the room is listed with `membership: pending`.",
      auth: true,
      body: z.object({ target: z.string().trim().min(3).max(2000) }),
      responses: {
        200: { description: "Joined a room on this server", schema: roomSchema },
        202: { description: "Asked a room on another server; the answer comes on the stream", schema: roomSchema },
      },
      errors: [
        "room_not_found",
        "banned",
        "invite_not_found",
        "invite_expired",
        "remote_unreachable",
        "server_blocked",
      ],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      enforceRateLimits(deps, [
        {
          key: `rooms:join:${me(c)}`,
          limit: Math.max(1, Math.round(60 * deps.config.rateLimitFactor)),
          windowSeconds: 3600,
        },
      ]);
      const local = localTarget(deps, body.target);
      if (local?.kind === "room") {
        await joinRoom(deps, me(c), local.id);
        return c.json(await roomFor(c, local.id));
      }
      if (local?.kind === "invite") {
        const room = await redeemInvite(deps, me(c), local.id);
        return c.json(await roomFor(c, room.id));
      }
      const roomId = await remote(deps).joinRemoteRoom(me(c), body.target);
      const room = await roomFor(c, roomId);
      return c.json(room, room.membership === "pending" ? 202 : 200);
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms/:roomId/join",
      tag: "members",
      summary: "Join a public room",
      auth: true,
      params: roomParams,
      responses: { 200: { description: "The room", schema: roomSchema } },
      errors: ["room_not_found", "banned"],
    },
    async (c, { params }) => {
      await joinRoom(c.var.deps, me(c), params.roomId);
      return c.json(await roomFor(c, params.roomId));
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms/:roomId/leave",
      tag: "members",
      summary: "Leave a room",
      auth: true,
      params: roomParams,
      responses: noContent,
      errors: ["room_not_found", "not_a_member", "conflict"],
    },
    async (c, { params }) => {
      await leaveRoom(c.var.deps, me(c), params.roomId);
      return c.body(null, 204);
    },
  );

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
