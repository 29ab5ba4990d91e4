import type { Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { actorProfileSchema } from "./actors.ts";
import { listMembershipChanges, maxMembershipChanges } from "./membership-history.ts";
import { roomParams } from "./schemas.ts";

const membershipChangeSchema = z.object({
  position: z.number().int(),
  kind: z.enum(["joined", "left", "kicked", "banned", "renamed"]),
  at: z.string(),
  actor: actorProfileSchema.nullable(),
  name: z.string().optional().describe("The new name, for a rename"),
});

const listQuery = z.object({
  since: z.iso.datetime({ offset: true }).optional().describe("Only changes at or after this time"),
  until: z.iso.datetime({ offset: true }).optional().describe("Only changes at or before this time"),
});

/** Mounts the room's membership changes (joins, leaves, renames) for timelines. */
export function membershipRoutes(api: Api, app: Hono<Env>): void {
  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/rooms/:roomId/membership-changes",
      tag: "members",
      summary: `Joins, leaves and renames of the room, oldest first (the newest ${maxMembershipChanges}; kept a week)`,
      auth: true,
      params: roomParams,
      query: listQuery,
      responses: {
        200: { description: "Changes", schema: z.object({ changes: z.array(membershipChangeSchema) }) },
      },
      errors: ["room_not_found", "not_a_member"],
    },
    async (c, { params, query }) => {
      const changes = await listMembershipChanges(c.var.deps, authenticated(c).user.id, params.roomId, {
        since: query.since ? new Date(query.since) : undefined,
        until: query.until ? new Date(query.until) : undefined,
      });
      return c.json({ changes });
    },
  );
}
