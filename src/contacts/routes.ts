import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { actorProfileSchema } from "../rooms/actors.ts";
import { blockUser, listBlocks, unblockUser } from "./blocks.ts";

const handle = z.string().min(1).max(300);

/** Mounts the block list endpoints. */
export function contactRoutes(api: Api, app: Hono<Env>): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

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
