import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { actorProfileSchema } from "../rooms/actors.ts";
import { listNotifications, markNotificationsRead } from "./notifications.ts";

/** A notification as the API and the live `notification` event show it. */
export const notificationSchema = z.object({
  id: z.string(),
  type: z.enum(["mention", "reply", "thread", "message", "invite", "contact_request", "report"]),
  actor: actorProfileSchema.nullable().describe("Who caused it"),
  roomId: z.string().nullable(),
  messageId: z.string().nullable(),
  data: z
    .record(z.string(), z.unknown())
    .describe(
      "`seq` and `snippet` for messages; `code` and `roomName` for invites; `reportId`, `status`, `kind` and `actions` for a report's outcome",
    ),
  read: z.boolean(),
  createdAt: z.string(),
});

const listQuery = z.object({
  before: z.uuid({ error: "expected a notification id" }).optional().describe("The last id of the previous page"),
  limit: z.coerce.number().int().min(1).max(100).default(30),
  unread: z
    .enum(["true", "false"])
    .optional()
    .transform((v) => v === "true"),
});

/** Mounts the notification list and its read markers. */
export function notificationRoutes(api: Api, app: Hono<Env>): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/notifications",
      tag: "notifications",
      summary: "The caller's notifications, newest first, and how many are unread",
      auth: true,
      query: listQuery,
      responses: {
        200: {
          description: "A page of notifications",
          schema: z.object({ notifications: z.array(notificationSchema), unread: z.number() }),
        },
      },
    },
    async (c, { query }) => c.json(await listNotifications(c.var.deps, me(c), query)),
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/notifications/read",
      tag: "notifications",
      summary: "Mark notifications read: the listed ones, or all without `ids`",
      auth: true,
      body: z.object({ ids: z.array(z.uuid()).min(1).max(100).optional() }),
      responses: { 204: { description: "Marked" } },
      errors: ["notification_not_found"],
    },
    async (c, { body }) => {
      await markNotificationsRead(c.var.deps, me(c), body.ids ?? "all");
      return c.body(null, 204);
    },
  );
}
