import type { Context, Hono } from "hono";
import { z } from "zod";
import { imageResponse } from "../accounts/profile-routes.ts";
import { AppError } from "../errors.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { requireAdmin } from "../http/auth.ts";
import { multipartFile } from "../http/multipart.ts";
import {
  addEmoji,
  deleteEmoji,
  emojiFileName,
  emojiLimits,
  emojiView,
  listLocalEmoji,
  readEmojiFile,
  renameEmoji,
} from "./emoji.ts";
import { readRemoteEmoji } from "./remote.ts";

/** One of this server's emoji as the API shows it. */
export const emojiSchema = z.object({
  id: z.string(),
  shortcode: z.string().describe("Without colons: `:shortcode:` in a message, a name or a reaction shows the image"),
  url: z.string().describe("The image, served from this server for good (the URL names the bytes)"),
  mediaType: z.string().describe("image/png, image/gif or image/webp, recognised from the bytes"),
  width: z.number().nullable(),
  height: z.number().nullable(),
});

const idParams = z.object({ id: z.uuid({ error: "expected an emoji id" }) });
const renameBody = z.object({ shortcode: z.string().max(200) });

/** Lets the handler go on only for an admin (after authentication). */
async function adminOnly(c: Context<Env>): Promise<void> {
  await requireAdmin(c, async () => {});
}

/**
 * Mounts this server's custom emoji: the list (public: everyone needs it to show them), the
 * admin's upload, rename and delete, and the images (ours and other servers', from here).
 */
export function emojiRoutes(api: Api, app: Hono<Env>): void {
  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/custom-emoji",
      tag: "emoji",
      summary: "This server's custom emoji",
      description: "Public. Clients fetch it again when the stream says `emoji.updated`.",
      responses: { 200: { description: "By shortcode", schema: z.object({ emoji: z.array(emojiSchema) }) } },
    },
    async (c) => {
      const deps = c.var.deps;
      c.header("Cache-Control", "no-cache");
      return c.json({ emoji: (await listLocalEmoji(deps)).map((row) => emojiView(deps, row)) });
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/custom-emoji",
      tag: "emoji",
      summary: "Add a custom emoji (admins)",
      description: `A PNG, GIF or WebP (animation kept) of at most ${emojiLimits.maxBytes / 1024} KB and ${emojiLimits.maxWidth}×${emojiLimits.maxHeight} pixels, recognised from its bytes. A shortcode is 2 to 64 of a-z, A-Z, 0-9 and _, unique whatever its case.`,
      auth: true,
      bodyLimit: emojiLimits.maxBytes + 64 * 1024,
      multipart: {
        shortcode: { description: "Without colons" },
        file: { description: "The image", binary: true },
      },
      responses: { 201: { description: "Added", schema: emojiSchema } },
      errors: ["admin_only", "shortcode_taken"],
    },
    async (c) => {
      await adminOnly(c);
      const file = await multipartFile(c, "file");
      // Parsed once already by multipartFile: Hono keeps the parsed body.
      const shortcode = (await c.req.parseBody()).shortcode;
      if (typeof shortcode !== "string") {
        throw new AppError("validation_failed", 'Send the shortcode in the field "shortcode".', {
          details: [{ path: "shortcode", message: "expected a string" }],
        });
      }
      const deps = c.var.deps;
      const row = await addEmoji(deps, shortcode, new Uint8Array(await file.arrayBuffer()));
      return c.json(emojiView(deps, row), 201);
    },
  );

  api.route(
    app,
    {
      method: "patch",
      path: "/api/v1/custom-emoji/:id",
      tag: "emoji",
      summary: "Rename a custom emoji (admins)",
      description: "Messages keep their text: the old `:shortcode:` shows as text from then on.",
      auth: true,
      params: idParams,
      body: renameBody,
      responses: { 200: { description: "Renamed", schema: emojiSchema } },
      errors: ["admin_only", "emoji_not_found", "shortcode_taken"],
    },
    async (c, { params, body }) => {
      await adminOnly(c);
      const deps = c.var.deps;
      return c.json(emojiView(deps, await renameEmoji(deps, params.id, body.shortcode)));
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/custom-emoji/:id",
      tag: "emoji",
      summary: "Delete a custom emoji (admins)",
      description: "Reactions with it stay, shown as their `:shortcode:`.",
      auth: true,
      params: idParams,
      responses: { 204: { description: "Deleted" } },
      errors: ["admin_only", "emoji_not_found"],
    },
    async (c, { params }) => {
      await adminOnly(c);
      await deleteEmoji(c.var.deps, params.id);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/media/emoji/:file",
      tag: "emoji",
      summary: "A custom emoji's image (this server's, or another server's once fetched)",
      params: z.object({ file: z.string().regex(emojiFileName, "expected an emoji file name") }),
      responses: { 200: { description: "The image, with its real media type" } },
      errors: ["not_found"],
    },
    async (c, { params }) => imageResponse(c, await readEmojiFile(c.var.deps, params.file)),
  );

  api.route(
    app,
    {
      method: "get",
      path: "/media/remote-emoji/:id",
      tag: "emoji",
      summary: "Another server's custom emoji, served from here",
      description:
        "Fetched from its server the first time it is asked for (public addresses only, size and time limits), checked like an upload, and kept until its image URL changes. Views link it with a version (`?v=`), which this ignores.",
      params: idParams,
      responses: { 200: { description: "The image, with its real media type" } },
      errors: ["not_found"],
    },
    async (c, { params }) => imageResponse(c, await readRemoteEmoji(c.var.deps, params.id)),
  );
}
