import type { Context, Hono } from "hono";
import { z } from "zod";
import { reportCategories, reportKinds, reportStatuses } from "../db/schema.ts";
import { AppError } from "../errors.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { actorProfileSchema } from "../rooms/actors.ts";
import { cleanText } from "../text.ts";
import { actOnReport, forwardReport, reportActionNames, settleReport } from "./actions.ts";
import {
  createReport,
  listReports,
  maxReportComment,
  maxReportMessages,
  moderatesAnything,
  reportFor,
  reportViews,
  type Viewer,
} from "./reports.ts";

const reportSchema = z.object({
  id: z.string(),
  kind: z.enum(reportKinds),
  category: z.enum(reportCategories),
  comment: z.string(),
  status: z.enum(reportStatuses),
  reporter: actorProfileSchema.nullable().describe("The user who reported; null for a report from another server"),
  origin: z.string().nullable().describe("The server whose `Flag` this is"),
  target: actorProfileSchema.nullable().describe("The person reported, or the author of the messages"),
  targetRemote: z.boolean().describe("Whether the target is on another server (`forward`, `block_server`)"),
  room: z.object({ id: z.string(), name: z.string() }).nullable(),
  messages: z
    .array(
      z.object({
        id: z.string(),
        url: z.string(),
        author: actorProfileSchema.nullable(),
        content: z.string(),
        html: z.string(),
        createdAt: z.string(),
      }),
    )
    .describe("The messages attached, as they were when reported"),
  actions: z.array(
    z.object({ action: z.string(), note: z.string(), actor: actorProfileSchema.nullable(), createdAt: z.string() }),
  ),
  forwardedAt: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  createdAt: z.string(),
});

const comment = z
  .string()
  .max(maxReportComment * 2)
  .transform(cleanText)
  .pipe(z.string().max(maxReportComment))
  .default("");

const createBody = z.object({
  kind: z.enum(reportKinds).describe("What is reported"),
  category: z.enum(reportCategories),
  comment,
  roomId: z
    .uuid()
    .optional()
    .describe("The room of the messages, the room reported, or where the reported user was seen"),
  messageIds: z
    .array(z.uuid())
    .max(maxReportMessages)
    .default([])
    .describe(`Messages attached (at most ${maxReportMessages}), ones the reporter can read`),
  userId: z.uuid().optional().describe("The reported user's id (`kind: user`)"),
  forward: z
    .boolean()
    .default(false)
    .describe("Also send it, without your name, to the reported person's server when that is another"),
});

const idParams = z.object({ id: z.uuid({ error: "expected a report id" }) });
const listQuery = z.object({
  status: z.enum(reportStatuses).optional(),
  before: z.uuid({ error: "expected a report id" }).optional().describe("The last id of the previous page"),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
const actionBody = z.object({
  action: z.enum(reportActionNames),
  note: z.string().max(500).transform(cleanText).default("").describe("A reason (a ban's, a block's)"),
});
const statusBody = z.object({
  status: z.enum(reportStatuses),
  note: z.string().max(500).transform(cleanText).default(""),
});

const queueDescription =
  "Admins of the instance see every report; moderators of a room hosted here see the reports of messages " +
  "and people in it (not those about themselves). Reports of a room go to the admins alone.";

/** Mounts reporting and the moderators' and admins' report queue. */
export function reportRoutes(api: Api, app: Hono<Env>): void {
  const viewer = (c: Context<Env>): Viewer => {
    const { user } = authenticated(c);
    return { id: user.id, role: user.role };
  };
  const one = async (c: Context<Env>, report: Parameters<typeof reportViews>[1][number]) =>
    (await reportViews(c.var.deps, [report]))[0];

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/reports",
      tag: "reports",
      summary: "Report a message, a user or a room to its moderators and this server's admins",
      description:
        "A message report attaches one person's messages (the messages must be ones the reporter can read). " +
        "The room's moderators and the admins get a `report.created` event. With `forward`, a report about " +
        "someone of another server is also sent there as a `Flag` from this server.",
      auth: true,
      body: createBody,
      responses: { 201: { description: "The report", schema: reportSchema } },
      errors: [
        "room_not_found",
        "not_a_member",
        "message_not_found",
        "user_not_found",
        "validation_failed",
        "remote_unreachable",
      ],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const me = viewer(c);
      enforceRateLimits(deps, [
        {
          key: `reports:${me.id}`,
          limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
          windowSeconds: 3600,
        },
      ]);
      let report = await createReport(deps, me.id, body);
      if (body.forward && report.targetActorId != null) {
        // Only someone of another server can be forwarded to; for anyone else the flag is moot.
        report = await forwardReport(deps, me.id, report).catch((error: unknown) => {
          if (error instanceof AppError && error.code === "validation_failed") return report;
          throw error;
        });
      }
      return c.json(await one(c, report), 201);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/reports",
      tag: "reports",
      summary: "The report queue the caller moderates, newest first",
      description: queueDescription,
      auth: true,
      query: listQuery,
      responses: {
        200: {
          description: "A page of reports; `moderator` says whether the caller has a queue at all",
          schema: z.object({ reports: z.array(reportSchema), moderator: z.boolean() }),
        },
      },
    },
    async (c, { query }) => {
      const me = viewer(c);
      const [reports, moderator] = await Promise.all([
        listReports(c.var.deps, me, query),
        moderatesAnything(c.var.deps, me),
      ]);
      return c.json({ reports, moderator });
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/reports/:id",
      tag: "reports",
      summary: "One report of the caller's queue",
      description: queueDescription,
      auth: true,
      params: idParams,
      responses: { 200: { description: "The report", schema: reportSchema } },
      errors: ["report_not_found"],
    },
    async (c, { params }) => c.json(await one(c, await reportFor(c.var.deps, viewer(c), params.id))),
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/reports/:id/actions",
      tag: "reports",
      summary: "Act on a report: delete its messages, kick, ban, suspend, block the server, forward",
      description:
        "Each action is done as it is elsewhere (the room's role rules hold for `delete_messages`, `kick`, `ban`; " +
        "an admin may delete a report's messages in any room hosted here) and recorded on the report. " +
        "`suspend` (an account of this server) and `block_server` (the target's server, or the one that sent " +
        "the `Flag`) are for admins.",
      auth: true,
      params: idParams,
      body: actionBody,
      responses: { 200: { description: "The report, with the action recorded", schema: reportSchema } },
      errors: [
        "report_not_found",
        "admin_only",
        "forbidden",
        "validation_failed",
        "member_not_found",
        "user_not_found",
        "managed_remotely",
        "remote_unreachable",
      ],
    },
    async (c, { params, body }) =>
      c.json(await one(c, await actOnReport(c.var.deps, viewer(c), params.id, body.action, body.note))),
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/reports/:id/status",
      tag: "reports",
      summary: "Resolve or dismiss a report (or open it again); the reporter is told the outcome",
      auth: true,
      params: idParams,
      body: statusBody,
      responses: { 200: { description: "The report", schema: reportSchema } },
      errors: ["report_not_found"],
    },
    async (c, { params, body }) =>
      c.json(await one(c, await settleReport(c.var.deps, viewer(c), params.id, body.status, body.note))),
  );
}
