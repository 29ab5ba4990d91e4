import type { Hono } from "hono";
import { z } from "zod";
import { registrationModes } from "../db/schema.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { requireAdmin } from "../http/auth.ts";
import { peopleCount } from "./accounts.ts";
import { userSchema, userViews } from "./profile-routes.ts";
import {
  approveSignUp,
  awaitingApproval,
  registrationMode,
  rejectSignUp,
  setRegistrationMode,
} from "./registrations.ts";

// What anyone may know of this instance before signing in, and how its admins open or close
// sign-up and approve who waits.

const mode = z
  .enum(registrationModes)
  .describe("`open`: anyone signs up; `approval`: an admin approves each sign-up first; `closed`: nobody");

const instanceSchema = z.object({
  name: z.string().describe("`INSTANCE_NAME`, else the host of the origin"),
  users: z.number().describe("Accounts of people, neither suspended nor waiting (as NodeInfo counts them)"),
  registrations: mode,
});

const waitingSchema = userSchema.extend({ awaitingSince: z.string() });
const idParams = z.object({ id: z.uuid({ error: "expected a user id" }) });

/** Mounts `GET /api/v1/instance` and the admins' registration endpoints. */
export function instanceRoutes(api: Api, app: Hono<Env>): void {
  const adminOnly = (c: Parameters<typeof requireAdmin>[0]) => requireAdmin(c, async () => {});

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/instance",
      tag: "instance",
      summary: "This server: its name, how many accounts it has, who may sign up",
      description: "Public, as NodeInfo is; the client offers to create the first account when there is none.",
      responses: { 200: { description: "The instance", schema: instanceSchema } },
    },
    async (c) => {
      const deps = c.var.deps;
      // Public: the count alone, not NodeInfo's activity counts over every session.
      const [users, registrations] = await Promise.all([peopleCount(deps), registrationMode(deps)]);
      return c.json({ name: deps.config.instanceName, users, registrations });
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/admin/registrations",
      tag: "admin",
      summary: "Who may sign up, and the sign-ups waiting for approval (admins)",
      auth: true,
      responses: {
        200: {
          description: "The mode, and who waits, oldest first",
          schema: z.object({ mode, awaiting: z.array(waitingSchema) }),
        },
      },
      errors: ["admin_only"],
    },
    async (c) => {
      await adminOnly(c);
      const deps = c.var.deps;
      const [current, waiting] = await Promise.all([registrationMode(deps), awaitingApproval(deps)]);
      const views = await userViews(deps, waiting);
      return c.json({
        mode: current,
        awaiting: views.map((view, i) => ({
          ...view,
          awaitingSince: waiting[i]?.awaitingApprovalSince?.toISOString() ?? view.createdAt,
        })),
      });
    },
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/admin/registrations",
      tag: "admin",
      summary: "Open or close sign-up, or ask for approval of each (admins)",
      description: "Sign-ups already waiting keep waiting whatever the new mode.",
      auth: true,
      body: z.object({ mode }),
      responses: { 200: { description: "The mode now", schema: z.object({ mode }) } },
      errors: ["admin_only"],
    },
    async (c, { body }) => {
      await adminOnly(c);
      await setRegistrationMode(c.var.deps, body.mode);
      return c.json({ mode: body.mode });
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/admin/registrations/:id/approve",
      tag: "admin",
      summary: "Let a waiting sign-up in: it can log in from now on (admins)",
      auth: true,
      params: idParams,
      responses: { 204: { description: "Approved" } },
      errors: ["admin_only", "user_not_found"],
    },
    async (c, { params }) => {
      await adminOnly(c);
      await approveSignUp(c.var.deps, params.id);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/admin/registrations/:id",
      tag: "admin",
      summary: "Refuse a waiting sign-up: the account is deleted (admins)",
      auth: true,
      params: idParams,
      responses: { 204: { description: "Refused" } },
      errors: ["admin_only", "user_not_found"],
    },
    async (c, { params }) => {
      await adminOnly(c);
      await rejectSignUp(c.var.deps, params.id);
      return c.body(null, 204);
    },
  );
}
