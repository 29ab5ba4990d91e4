/**
 * Users' own data: exports of it, and deleting the account.
 * @module
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { enforceStrictRateLimits } from "../http/rate-limit.ts";
import { deleteOwnAccount } from "./deletion.ts";
import { latestExport, readyExport, requestExport, serializeExport } from "./exports.ts";

const exportSchema = z.object({
  id: z.string(),
  state: z.enum(["pending", "ready", "failed"]),
  size: z.number().nullable().describe("The archive's size in bytes, once ready"),
  createdAt: z.string(),
  readyAt: z.string().nullable(),
  expiresAt: z.string().describe("The archive is deleted then"),
  downloadUrl: z.string().nullable().describe("Where to download the archive (with the access token), once ready"),
});
const exportParams = z.object({ id: z.uuid({ error: "expected an export id" }) });
export const deleteAccountBody = z.object({
  password: z.string().min(1).max(256).describe("The account's password, to confirm"),
});

/** Mounts the endpoints of one's own data: exports and deleting the account. */
export function dataRoutes(api: Api, app: Hono<Env>): void {
  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/me/exports",
      tag: "profile",
      summary: "Ask for an archive of your data (profile, rooms, messages, files); made in the background",
      description:
        "A `.tar.gz` with `profile.json`, `rooms.json`, `messages/NNNNN.json` (1,000 messages each) and " +
        "`files/<id>/<name>`. One a day; poll `GET /api/v1/me/exports` until it is `ready`.",
      auth: true,
      responses: { 202: { description: "Asked for", schema: z.object({ export: exportSchema }) } },
      errors: ["rate_limited"],
    },
    async (c) => {
      const deps = c.var.deps;
      const { user } = authenticated(c);
      const row = await requestExport(deps, user.id);
      return c.json({ export: serializeExport(deps, row) }, 202);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/me/exports",
      tag: "profile",
      summary: "The newest export of your data and its state",
      auth: true,
      responses: {
        200: { description: "The newest export, or null", schema: z.object({ export: exportSchema.nullable() }) },
      },
    },
    async (c) => {
      const deps = c.var.deps;
      const { user } = authenticated(c);
      const row = await latestExport(deps, user.id);
      return c.json({ export: row ? serializeExport(deps, row) : null });
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/me/exports/:id/archive",
      tag: "profile",
      summary: "Download a ready export (application/gzip)",
      auth: true,
      params: exportParams,
      responses: { 200: { description: "The archive, streamed" } },
      errors: ["export_not_found", "export_not_ready"],
    },
    async (c, { params }) => {
      const deps = c.var.deps;
      const { user } = authenticated(c);
      const { path, size, row } = await readyExport(deps, user.id, params.id);
      const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
      const day = row.createdAt.toISOString().slice(0, 10);
      return c.body(body, 200, {
        "Content-Type": "application/gzip",
        "Content-Length": String(size),
        "Content-Disposition": `attachment; filename="${user.username}-${day}.tar.gz"`,
        "Cache-Control": "private, no-store",
      });
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/me/delete",
      tag: "profile",
      summary: "Delete your account for good (the password confirms it)",
      description:
        "Your profile, sessions, tokens, bots, contacts and memberships go, and the servers that show you get " +
        "`Delete` of your `Person`. Your messages stay, shown under a deleted account. Rooms you own with " +
        "others must be handed over first (`rooms_owned`).",
      auth: true,
      body: deleteAccountBody,
      responses: { 204: { description: "Deleted" } },
      errors: ["invalid_credentials", "rooms_owned", "rate_limited"],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const { user } = authenticated(c);
      // As strict as a password change: the password is being guessed otherwise.
      await enforceStrictRateLimits(deps, [
        {
          key: `delete:user:${user.id}`,
          limit: Math.max(1, Math.round(10 * deps.config.rateLimitFactor)),
          windowSeconds: 3600,
        },
      ]);
      await deleteOwnAccount(deps, user, body.password);
      return c.body(null, 204);
    },
  );
}
