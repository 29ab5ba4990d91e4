import type { Context, Hono } from "hono";
import { z } from "zod";
import { handleHost } from "../accounts/accounts.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { multipartFile } from "../http/multipart.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { avatarLimits } from "../media/avatars.ts";
import { maxDirectParticipants, openDirect } from "./direct.ts";
import { directOthers } from "./direct-views.ts";
import { redeemInvite } from "./invites.ts";
import { joinRoom, leaveRoom } from "./members.ts";
import { pendingRooms } from "./pending-joins.ts";
import { createRoomBody, roomFor, roomSchema, serializeRoom, updateRoomBody } from "./room-views.ts";
import { createRoom, deleteRoom, listMyRooms, remote, roomDirectory, setRoomAvatar, updateRoom } from "./rooms.ts";
import { noContent, roomId, roomParams } from "./schemas.ts";

const directoryQuery = z.object({
  q: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});

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

/** Mounts the room endpoints: direct conversations, rooms, the directory, avatars, joining and leaving. */
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
      const direct = entries.filter((e) => e.room.direct).map((e) => e.room.id);
      const others = await directOthers(deps, me(c), direct);
      return c.json({
        rooms: [
          ...pending.map((room) => serializeRoom(deps, room, { role: null, pending: true })),
          ...entries.map((e) => serializeRoom(deps, e.room, { ...e, others: others.get(e.room.id) ?? [] })),
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
      summary: "Change the name, topic, theme, visibility or link previews (each by its permission)",
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
      summary: "Leave a room, or withdraw a join of a remote room that is still pending",
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
}
