import type { Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { userCounts } from "./accounts.ts";

// What the sign-in screen (and anyone) may know of this instance before signing in.

const instanceSchema = z.object({
  name: z.string().describe("`INSTANCE_NAME`, else the host of the origin"),
  users: z.number().describe("Accounts that are not suspended (as NodeInfo counts them)"),
  registrations: z.enum(["open"]).describe("Whether anyone may sign up"),
});

/** Mounts `GET /api/v1/instance`. */
export function instanceRoutes(api: Api, app: Hono<Env>): void {
  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/instance",
      tag: "instance",
      summary: "This server: its name, how many accounts it has, whether one may sign up",
      description: "Public, as NodeInfo is; the client offers to create the first account when there is none.",
      responses: { 200: { description: "The instance", schema: instanceSchema } },
    },
    async (c) => {
      const deps = c.var.deps;
      const { total } = await userCounts(deps);
      return c.json({ name: deps.config.instanceName, users: total, registrations: "open" as const });
    },
  );
}
