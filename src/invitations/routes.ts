import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { enforceSendLimit, messageId, messageSchema, txnParams } from "../messages/routes.ts";
import { roomId } from "../rooms/schemas.ts";
import {
  answerInvitation,
  defaultInvitationSeconds,
  maxInvitationSeconds,
  maxInvitationTitle,
  maxInvitees,
  sendInvitation,
} from "./invitations.ts";
import { invitationAnswers, invitationKinds, invitationSchema } from "./views.ts";

/** An http(s) address without credentials, as links in messages are. */
const link = z
  .url({ protocol: /^https?$/, error: "expected an http(s) address" })
  .max(2048, "expected at most 2048 characters")
  .refine((v) => {
    const url = new URL(v);
    return url.username === "" && url.password === "";
  }, "expected an address without credentials");

export const sendInvitationBody = z.object({
  kind: z.enum(invitationKinds).describe("What it is an invitation to"),
  title: z
    .string()
    .max(maxInvitationTitle, `expected at most ${maxInvitationTitle} characters`)
    .refine((v) => v.trim().length > 0, "expected a title"),
  link: link.optional().describe("Where the game, call or event is"),
  startsAt: z.iso.datetime({ offset: true, error: "expected an ISO 8601 date and time" }).optional(),
  to: z
    .union([
      z.literal("everyone"),
      z
        .array(z.uuid({ error: "expected a member's actor id" }))
        .min(1, "expected someone to invite")
        .max(maxInvitees, `expected at most ${maxInvitees} people (or "everyone")`),
    ])
    .describe('"everyone" in the room, or members\' actor ids'),
  expiresIn: z
    .number()
    .int()
    .min(60, "expected at least 60 seconds")
    .max(maxInvitationSeconds, `expected at most ${maxInvitationSeconds} seconds (7 days)`)
    .optional()
    .describe(`Seconds the invitation stays open; ${defaultInvitationSeconds} (a day) when absent`),
});

/** Mounts the invitation endpoints: send a card, answer one. */
export function invitationRoutes(api: Api, app: Hono<Env>): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/rooms/:roomId/invitations/:txnId",
      tag: "messages",
      summary: "Send an invitation to a game, a call or an event (idempotent per sender and transaction id)",
      description:
        "A message whose text says the invitation in words, with the card in `invitation`. 201 when new, 200 " +
        "for a repeated transaction id, 202 with `pending: true` in a room on another server.",
      auth: true,
      params: txnParams,
      body: sendInvitationBody,
      responses: {
        201: { description: "Sent", schema: messageSchema },
        200: { description: "Sent before with this transaction id", schema: messageSchema },
        202: { description: "Sent to a room on another server", schema: messageSchema },
      },
      errors: ["room_not_found", "not_a_member", "bots_forbidden", "remote_unreachable"],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      enforceSendLimit(deps, me(c));
      const { message, created } = await sendInvitation(deps, me(c), params.roomId, params.txnId, body);
      return c.json(message, message.pending ? 202 : created ? 201 : 200);
    },
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/rooms/:roomId/messages/:messageId/invitation/answer",
      tag: "messages",
      summary: "Accept or decline an invitation (a second answer replaces the first while it is open)",
      description:
        "Everyone in the room sees the answer live (`invitation.updated`). In a room on another server " +
        "the answer goes to the room's server: 202 with `pending: true`, and the event follows.",
      auth: true,
      params: z.object({ roomId, messageId }),
      body: z.object({ answer: z.enum(invitationAnswers) }),
      responses: {
        200: { description: "The invitation with the answer", schema: z.object({ invitation: invitationSchema }) },
        202: {
          description: "Sent to the room's server",
          schema: z.object({ invitation: invitationSchema, pending: z.literal(true) }),
        },
      },
      errors: ["room_not_found", "not_a_member", "message_not_found", "not_invited", "invitation_expired"],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      enforceRateLimits(deps, [
        {
          key: `invitations:answer:${me(c)}`,
          limit: Math.max(1, Math.round(60 * deps.config.rateLimitFactor)),
          windowSeconds: 60,
        },
      ]);
      const { invitation, pending } = await answerInvitation(deps, me(c), params.roomId, params.messageId, body.answer);
      return pending ? c.json({ invitation, pending: true as const }, 202) : c.json({ invitation }, 200);
    },
  );
}
