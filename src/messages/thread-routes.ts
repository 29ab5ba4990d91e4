import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { roomId } from "../rooms/schemas.ts";
import { messageId, messageSchema, pageQuery, seqField } from "./routes.ts";
import { listThread, markThreadRead } from "./threads.ts";

const threadParams = z.object({ roomId, rootId: messageId });

/** Mounts the thread endpoints: a thread's replies and the read position in it. */
export function threadRoutes(api: Api, app: Hono<Env>): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/threads/:rootId",
      tag: "messages",
      summary: "A thread: its root and its replies in ascending seq (the latest, or before/after a number)",
      description: "Named by one of its replies, the thread is its root's (threads are one level deep).",
      auth: true,
      params: threadParams,
      query: pageQuery,
      responses: {
        200: {
          description: "The thread",
          schema: z.object({ root: messageSchema, messages: z.array(messageSchema) }),
        },
      },
      errors: ["room_not_found", "not_a_member", "message_not_found"],
    },
    async (c, { params, query }) => c.json(await listThread(c.var.deps, me(c), params.roomId, params.rootId, query)),
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms/:roomId/threads/:rootId/read",
      tag: "messages",
      summary: "Move the read position in a thread forward",
      auth: true,
      params: threadParams,
      body: z.object({ seq: seqField }),
      responses: {
        200: {
          description: "The thread's read state",
          schema: z.object({ roomId: z.string(), rootId: z.string(), seq: z.number(), unread: z.number() }),
        },
      },
      errors: ["room_not_found", "not_a_member", "message_not_found"],
    },
    async (c, { params, body }) =>
      c.json(await markThreadRead(c.var.deps, me(c), params.roomId, params.rootId, body.seq)),
  );
}
