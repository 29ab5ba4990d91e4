import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Config } from "../config.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { multipartFile } from "../http/multipart.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { contentDisposition, servedInline, storeAttachment } from "./attachments.ts";
import { deleteUpload, listUploads } from "./carried.ts";
import { attachmentView, getAttachment, openDownload } from "./downloads.ts";

/** An attachment as the API shows it. */
export const attachmentSchema = z.object({
  id: z.string(),
  name: z.string().describe("The original file name, sanitised: for display and download only"),
  mediaType: z.string().describe("Recognised from the bytes"),
  size: z.number().optional().describe("Absent for a file on another server that nobody here opened yet"),
  width: z.number().optional(),
  height: z.number().optional(),
  url: z.string().describe("A signed download URL that expires after a few hours"),
  previewUrl: z
    .string()
    .optional()
    .describe("A small WebP preview (images only), signed like `url`; animated when the image is"),
  stillUrl: z
    .string()
    .optional()
    .describe("Animated images only: the first frame as a WebP, for people who prefer reduced motion"),
  sticker: z.literal(true).optional().describe("Sent as a sticker: shown large, without a bubble"),
});

const idParams = z.object({ id: z.uuid({ error: "expected an attachment id" }) });
const signedQuery = z.object({
  // Absent in the URLs of federated `Note`s, which do not expire.
  expires: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  signature: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "expected a signature"),
});

/**
 * Mounts uploads (`POST /api/v1/attachments`), fresh URLs for an attachment, and the signed
 * downloads under `/media/attachments`.
 */
export function attachmentRoutes(api: Api, app: Hono<Env>, config: Config): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/attachments",
      tag: "attachments",
      summary: "Upload a file to attach to a message (send its id in `attachments`)",
      description:
        "The type is recognised from the bytes; a name or declared type that disagrees is refused. Images get their dimensions and a preview.",
      auth: true,
      // The multipart envelope around the largest file.
      bodyLimit: config.attachmentMaxBytes + 64 * 1024,
      multipart: { file: { description: "The file; its original name is kept for display", binary: true } },
      responses: { 201: { description: "Stored", schema: attachmentSchema } },
      errors: ["invalid_filename", "media_type_mismatch", "quota_exceeded"],
    },
    async (c) => {
      const deps = c.var.deps;
      enforceRateLimits(deps, [
        {
          key: `attachments:upload:${me(c)}`,
          limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
          windowSeconds: 600,
        },
      ]);
      const file = await multipartFile(c, "file");
      const row = await storeAttachment(deps, me(c), {
        name: file.name,
        type: file.type,
        bytes: new Uint8Array(await file.arrayBuffer()),
      });
      return c.json(attachmentView(deps, row), 201);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/attachments",
      tag: "attachments",
      summary: "The caller's uploads that no message carries yet, and their storage use",
      auth: true,
      responses: {
        200: {
          description: "Unsent uploads, oldest first; `used` counts every upload the caller keeps",
          schema: z.object({ uploads: z.array(attachmentSchema), used: z.number(), quota: z.number() }),
        },
      },
    },
    async (c) => {
      const deps = c.var.deps;
      const { uploads, used } = await listUploads(deps, me(c));
      return c.json({
        uploads: uploads.map((row) => attachmentView(deps, row)),
        used,
        quota: deps.config.attachmentQuotaBytes,
      });
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/attachments/:id",
      tag: "attachments",
      summary: "Delete an upload no message carries yet (sent ones go with their message)",
      auth: true,
      params: idParams,
      responses: { 204: { description: "Deleted" } },
      errors: ["attachment_not_found"],
    },
    async (c, { params }) => {
      await deleteUpload(c.var.deps, me(c), params.id);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/attachments/:id",
      tag: "attachments",
      summary: "One attachment with fresh download URLs (its uploader, or members of its message's room)",
      auth: true,
      params: idParams,
      responses: { 200: { description: "The attachment", schema: attachmentSchema } },
      errors: ["attachment_not_found"],
    },
    async (c, { params }) => c.json(attachmentView(c.var.deps, await getAttachment(c.var.deps, me(c), params.id))),
  );

  const paths = {
    file: "/media/attachments/:id",
    preview: "/media/attachments/:id/preview",
    still: "/media/attachments/:id/still",
  } as const;
  const summaries = {
    file: "Download an attachment (signed URL)",
    preview: "An image attachment's preview (signed URL); animated for an animated image",
    still: "An animated image's first frame (signed URL), for reduced motion",
  } as const;
  for (const variant of ["file", "preview", "still"] as const) {
    api.route(
      app,
      {
        method: "get",
        path: paths[variant],
        tag: "attachments",
        summary: summaries[variant],
        params: idParams,
        query: signedQuery,
        responses: { 200: { description: "The bytes" } },
        errors: ["forbidden", "link_expired", "attachment_not_found", "remote_unreachable", "remote_media_refused"],
      },
      async (c, { params, query }) => {
        const download = await openDownload(c.var.deps, variant, params.id, query.expires, query.signature);
        const inline = variant !== "file" || servedInline(download.mediaType);
        const name = variant === "file" ? download.attachment.name : `${download.attachment.name}.${variant}.webp`;
        const seconds = download.expires == null ? 3600 : Math.max(0, download.expires - Math.floor(Date.now() / 1000));
        return c.body(download.body, 200, {
          "Content-Type": download.mediaType === "text/plain" ? "text/plain; charset=utf-8" : download.mediaType,
          "Content-Length": String(download.size),
          "Content-Disposition": contentDisposition(inline ? "inline" : "attachment", name),
          "X-Content-Type-Options": "nosniff",
          "Content-Security-Policy": "default-src 'none'; sandbox",
          "Cross-Origin-Resource-Policy": "same-site",
          "Cache-Control": `${download.expires == null ? "public" : "private"}, max-age=${seconds}`,
        });
      },
    );
  }
}
