import type { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../errors.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { requireAdmin } from "../http/auth.ts";
import { accessScopes, addAccessRule, listAccessRules, removeAccessRule } from "./rules.ts";

const ruleSchema = z.object({
  id: z.string(),
  cidr: z.string().describe("The network, normalised: `203.0.113.0/24`, `2001:db8::/32`"),
  action: z.enum(["allow", "deny"]),
  scope: z.enum(accessScopes).describe("`signup`, `login`, or `api`: every request to the API"),
  note: z.string(),
  createdAt: z.string(),
});

const ruleBody = z.object({
  cidr: z.string().min(1).max(100).describe("A network (`203.0.113.0/24`, `2001:db8::/32`) or one address"),
  action: z.enum(["allow", "deny"]),
  scope: z.enum(accessScopes).default("api"),
  note: z.string().max(500).default(""),
});
const idParams = z.object({ id: z.uuid({ error: "expected a rule id" }) });

const description =
  "A deny rule that matches the client's address refuses the request with 403 `address_denied`; where a scope " +
  "has allow rules, an address that matches none of them is refused too. Rules of `api` hold for every API " +
  "request, sign-up and login included. Checked before any other work, in every process within 2 s of a change.";

/** Mounts the admins' access rules by address. */
export function accessRoutes(api: Api, app: Hono<Env>): void {
  const adminOnly = (c: Parameters<typeof requireAdmin>[0]) => requireAdmin(c, async () => {});

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/admin/access-rules",
      tag: "admin",
      summary: "The access rules by address (admins)",
      description,
      auth: true,
      responses: { 200: { description: "Oldest first", schema: z.object({ rules: z.array(ruleSchema) }) } },
      errors: ["admin_only"],
    },
    async (c) => {
      await adminOnly(c);
      return c.json({ rules: await listAccessRules(c.var.deps) });
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/admin/access-rules",
      tag: "admin",
      summary: "Allow or deny a network sign-up, login or the whole API (admins)",
      description,
      auth: true,
      body: ruleBody,
      responses: { 201: { description: "The rule (the one there already, if the same)", schema: ruleSchema } },
      errors: ["admin_only", "validation_failed"],
    },
    async (c, { body }) => {
      await adminOnly(c);
      return c.json(await addAccessRule(c.var.deps, body), 201);
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/admin/access-rules/:id",
      tag: "admin",
      summary: "Remove an access rule (admins)",
      auth: true,
      params: idParams,
      responses: { 204: { description: "Removed" } },
      errors: ["admin_only", "not_found"],
    },
    async (c, { params }) => {
      await adminOnly(c);
      if (!(await removeAccessRule(c.var.deps, params.id))) throw new AppError("not_found", "No such rule.");
      return c.body(null, 204);
    },
  );
}
