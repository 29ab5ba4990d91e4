import type { Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { actorProfileSchema } from "../rooms/actors.ts";
import { roomId, roomParams } from "../rooms/schemas.ts";
import { listPins, maxPinsPerRoom, pinMessage } from "./pins.ts";
import { messageSchema } from "./routes.ts";

const pinParams = z.object({ roomId, messageId: z.uuid({ error: "expected a message id" }) });

export const pinSchema = z.object({
  message: messageSchema,
  pinnedAt: z.string(),
  pinnedBy: actorProfileSchema.nullable().describe("Who pinned it; null in a room on another server"),
});

const pendingSchema = z.object({ pending: z.literal(true) }).describe("Asked of the room's server");

const errors = ["room_not_found", "not_a_member", "message_not_found", "forbidden", "remote_unreachable"] as const;

/** Mounts the pinned messages' endpoints. */
export function pinRoutes(api: Api, app: Hono<Env>): void {
  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/pins",
      tag: "messages",
      summary: "The room's pinned messages, newest pin first",
      auth: true,
      params: roomParams,
      responses: { 200: { description: "Pins", schema: z.object({ pins: z.array(pinSchema) }) } },
      errors: ["room_not_found", "not_a_member"],
    },
    async (c, { params }) => c.json({ pins: await listPins(c.var.deps, authenticated(c).user.id, params.roomId) }),
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/rooms/:roomId/pins/:messageId",
      tag: "messages",
      summary: `Pin a message (moderators; at most ${maxPinsPerRoom} a room; idempotent)`,
      description:
        "201 with the pin when it is new, 200 when the message was pinned already. In a room on another " +
        "server, 202: its server checks the role and the stream shows the pin when it answers.",
      auth: true,
      params: pinParams,
      responses: {
        201: { description: "Pinned", schema: pinSchema },
        200: { description: "Pinned already", schema: pinSchema },
        202: { description: "Asked of the room's server", schema: pendingSchema },
      },
      errors: [...errors, "conflict", "pin_limit_reached"],
    },
    async (c, { params }) => {
      const outcome = await pinMessage(c.var.deps, authenticated(c).user.id, params.roomId, params.messageId, true);
      if (outcome.pending) return c.json({ pending: true }, 202);
      return c.json(outcome.pin, outcome.changed ? 201 : 200);
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/rooms/:roomId/pins/:messageId",
      tag: "messages",
      summary: "Unpin a message (moderators; idempotent)",
      description:
        "204 whether or not it was pinned. In a room on another server, 202: applied when its server answers.",
      auth: true,
      params: pinParams,
      responses: {
        204: { description: "Not pinned now" },
        202: { description: "Asked of the room's server", schema: pendingSchema },
      },
      errors: [...errors],
    },
    async (c, { params }) => {
      const outcome = await pinMessage(c.var.deps, authenticated(c).user.id, params.roomId, params.messageId, false);
      return outcome.pending ? c.json({ pending: true }, 202) : c.body(null, 204);
    },
  );
}
