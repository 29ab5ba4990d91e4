import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { actorProfileSchema } from "../rooms/actors.ts";
import { blockUser, listBlocks, unblockUser } from "./blocks.ts";
import { listContacts, removeContact, requestContact, settleContactRequest } from "./contacts.ts";

const handle = z.string().min(1).max(300);

const requestSchema = z.object({ id: z.string(), actor: actorProfileSchema, createdAt: z.string() });
const contactState = z.enum(["contact", "incoming", "outgoing", "none"]);
const requestParams = z.object({ requestId: z.uuid({ error: "expected a contact request id" }) });

/** Mounts the contact list, contact requests and the block list. */
export function contactRoutes(api: Api, app: Hono<Env>): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/contacts",
      tag: "contacts",
      summary: "The caller's contacts with presence, and pending requests both ways",
      auth: true,
      responses: {
        200: {
          description: "Contacts and requests",
          schema: z.object({
            contacts: z.array(
              z.object({ actor: actorProfileSchema, presence: z.enum(["online", "offline"]), since: z.string() }),
            ),
            incoming: z.array(requestSchema),
            outgoing: z.array(requestSchema),
          }),
        },
      },
    },
    async (c) => c.json(await listContacts(c.var.deps, me(c))),
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/contacts",
      tag: "contacts",
      summary: "Send a contact request (accepts theirs if they asked first)",
      auth: true,
      body: z.object({ user: handle }),
      responses: {
        200: {
          description: "Where the caller now stands with the user",
          schema: z.object({ state: contactState, actor: actorProfileSchema, requestId: z.string().nullable() }),
        },
      },
      errors: ["user_not_found", "forbidden"],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      enforceRateLimits(deps, [
        {
          key: `contacts:request:${me(c)}`,
          limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
          windowSeconds: 3600,
        },
      ]);
      return c.json(await requestContact(deps, me(c), body.user));
    },
  );

  for (const action of ["accept", "decline"] as const) {
    api.route(
      app,
      {
        method: "post",
        path: `/api/v1/contacts/requests/:requestId/${action}`,
        tag: "contacts",
        summary: action === "accept" ? "Accept a contact request sent to the caller" : "Decline a contact request",
        auth: true,
        params: requestParams,
        responses: { 204: { description: "Done" } },
        errors: ["contact_request_not_found"],
      },
      async (c, { params }) => {
        await settleContactRequest(c.var.deps, me(c), params.requestId, action);
        return c.body(null, 204);
      },
    );
  }

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/contacts/requests/:requestId",
      tag: "contacts",
      summary: "Cancel a contact request the caller sent",
      auth: true,
      params: requestParams,
      responses: { 204: { description: "Cancelled" } },
      errors: ["contact_request_not_found"],
    },
    async (c, { params }) => {
      await settleContactRequest(c.var.deps, me(c), params.requestId, "cancel");
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/contacts/:handle",
      tag: "contacts",
      summary: "Remove a contact (on both sides)",
      auth: true,
      params: z.object({ handle }),
      responses: { 204: { description: "Removed" } },
      errors: ["user_not_found"],
    },
    async (c, { params }) => {
      await removeContact(c.var.deps, me(c), params.handle);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/blocks",
      tag: "contacts",
      summary: "The users the caller blocks",
      auth: true,
      responses: {
        200: {
          description: "Blocks",
          schema: z.object({ blocks: z.array(z.object({ actor: actorProfileSchema, createdAt: z.string() })) }),
        },
      },
    },
    async (c) => c.json({ blocks: await listBlocks(c.var.deps, me(c)) }),
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/blocks",
      tag: "contacts",
      summary: "Block a user: they can no longer open a conversation with the caller",
      auth: true,
      body: z.object({ user: handle }),
      responses: { 200: { description: "The blocked user", schema: z.object({ actor: actorProfileSchema }) } },
      errors: ["user_not_found"],
    },
    async (c, { body }) => c.json({ actor: await blockUser(c.var.deps, me(c), body.user) }),
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/blocks/:handle",
      tag: "contacts",
      summary: "Unblock a user",
      auth: true,
      params: z.object({ handle }),
      responses: { 204: { description: "Unblocked" } },
      errors: ["user_not_found"],
    },
    async (c, { params }) => {
      await unblockUser(c.var.deps, me(c), params.handle);
      return c.body(null, 204);
    },
  );
}
