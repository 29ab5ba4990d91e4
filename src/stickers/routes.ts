import type { Context, Hono } from "hono";
import { z } from "zod";
import { imageResponse } from "../accounts/profile-routes.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { multipartFile } from "../http/multipart.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { messageSchema, txnParams } from "../messages/routes.ts";
import { readStickerFile, stickerLimits } from "./files.ts";
import {
  addSticker,
  createPack,
  deletePack,
  deleteSticker,
  listPacks,
  maxPersonalPacks,
  maxStickerNameLength,
  maxStickersPerPack,
  renamePack,
} from "./packs.ts";
import { sendSticker } from "./send.ts";

/** A sticker as the API shows it. */
export const stickerSchema = z.object({
  id: z.string(),
  packId: z.string(),
  name: z.string().describe("Also the alt text of the image when it is sent"),
  emoji: z.string().nullable().describe("An emoji that says what it means, or null"),
  mediaType: z.enum(["image/png", "image/gif", "image/webp"]),
  width: z.number(),
  height: z.number(),
  url: z.string().describe("The image, served from this server's origin and named by its SHA-256"),
  stillUrl: z.string().optional().describe("Animated stickers only: the first frame, for reduced motion"),
});

/** A sticker pack as the API shows it. */
export const stickerPackSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(["server", "personal"]).describe("`server`: made by admins, seen by everyone here; `personal`: yours"),
  stickers: z.array(stickerSchema).describe("Oldest first"),
  createdAt: z.string(),
});

const name = z
  .string()
  .max(4 * maxStickerNameLength)
  .describe(`1 to ${maxStickerNameLength} characters, no / \\ or .`);
const packParams = z.object({ packId: z.uuid({ error: "expected a sticker pack id" }) });
const stickerParams = z.object({ stickerId: z.uuid({ error: "expected a sticker id" }) });
const messageIdField = z.uuid({ error: "expected a message id" });

/** Reads the text fields of a multipart body that {@link multipartFile} parsed (Hono keeps it). */
async function textField(c: Context<Env>, field: string): Promise<string | undefined> {
  const form = await c.req.parseBody({ all: true });
  const value = form[field];
  return typeof value === "string" ? value : undefined;
}

/**
 * Mounts the sticker endpoints: the packs a user sees, changes to packs and stickers (one's
 * own, or the server's for admins), sending a sticker to a room, and the images.
 */
export function stickerRoutes(api: Api, app: Hono<Env>): void {
  const viewer = (c: Context<Env>) => authenticated(c).user;

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/sticker-packs",
      tag: "stickers",
      summary: "The sticker packs you see: the server's first, then your own",
      auth: true,
      responses: { 200: { description: "Packs", schema: z.object({ packs: z.array(stickerPackSchema) }) } },
    },
    async (c) => c.json({ packs: await listPacks(c.var.deps, viewer(c)) }),
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/sticker-packs",
      tag: "stickers",
      summary: `Make a sticker pack: your own (at most ${maxPersonalPacks}), or with \`server\` one for everyone (admins)`,
      description: "The stream tells those who see the pack (`stickers.updated`).",
      auth: true,
      body: z.object({ name, server: z.boolean().optional().describe("A server pack (admins only)") }),
      responses: { 201: { description: "Made", schema: stickerPackSchema } },
      errors: ["admin_only", "sticker_limit_reached"],
    },
    async (c, { body }) => c.json(await createPack(c.var.deps, viewer(c), body), 201),
  );

  api.route(
    app,
    {
      method: "patch",
      path: "/api/v1/sticker-packs/:packId",
      tag: "stickers",
      summary: "Rename a sticker pack (yours, or a server pack as an admin)",
      auth: true,
      params: packParams,
      body: z.object({ name }),
      responses: { 200: { description: "Renamed", schema: stickerPackSchema } },
      errors: ["sticker_pack_not_found", "admin_only"],
    },
    async (c, { params, body }) => c.json(await renamePack(c.var.deps, viewer(c), params.packId, body.name)),
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/sticker-packs/:packId",
      tag: "stickers",
      summary: "Delete a sticker pack and its stickers (messages that sent them keep their images)",
      auth: true,
      params: packParams,
      responses: { 204: { description: "Deleted" } },
      errors: ["sticker_pack_not_found", "admin_only"],
    },
    async (c, { params }) => {
      await deletePack(c.var.deps, viewer(c), params.packId);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/sticker-packs/:packId/stickers",
      tag: "stickers",
      summary: `Add a sticker to a pack (PNG, GIF or WebP, at most ${stickerLimits.maxBytes / 1024} KiB and ${stickerLimits.maxWidth}×${stickerLimits.maxHeight}; ${maxStickersPerPack} a pack)`,
      description: "Animated GIF and WebP stay animated; they get a still first frame (`stillUrl`).",
      auth: true,
      params: packParams,
      bodyLimit: stickerLimits.maxBytes + 64 * 1024,
      multipart: {
        file: { description: "The image", binary: true },
        name: { description: `Its name, 1 to ${maxStickerNameLength} characters (the alt text when sent)` },
        emoji: { description: "Optional: one emoji that says what it means" },
      },
      responses: { 201: { description: "Added", schema: stickerSchema } },
      errors: [
        "sticker_pack_not_found",
        "admin_only",
        "sticker_limit_reached",
        "payload_too_large",
        "unsupported_media_type",
      ],
    },
    async (c, { params }) => {
      const deps = c.var.deps;
      enforceRateLimits(deps, [
        {
          key: `stickers:upload:${viewer(c).id}`,
          limit: Math.max(1, Math.round(60 * deps.config.rateLimitFactor)),
          windowSeconds: 600,
        },
      ]);
      const file = await multipartFile(c, "file");
      const sticker = await addSticker(deps, viewer(c), params.packId, {
        name: (await textField(c, "name")) ?? "",
        emoji: await textField(c, "emoji"),
        bytes: new Uint8Array(await file.arrayBuffer()),
      });
      return c.json(sticker, 201);
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/stickers/:stickerId",
      tag: "stickers",
      summary: "Delete a sticker (from your pack, or a server pack as an admin)",
      auth: true,
      params: stickerParams,
      responses: { 204: { description: "Deleted" } },
      errors: ["sticker_not_found", "admin_only"],
    },
    async (c, { params }) => {
      await deleteSticker(c.var.deps, viewer(c), params.stickerId);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/rooms/:roomId/stickers/:txnId",
      tag: "stickers",
      summary: "Send a sticker (idempotent per sender and transaction id)",
      description:
        "Makes an ordinary message with no text and one image attachment, marked `sticker: true`; other servers " +
        "get a `Note` with one `Image`. Answers like sending a message: 201, 200 for a retry, 202 in a room on another server.",
      auth: true,
      params: txnParams,
      body: z.object({
        sticker: z.uuid({ error: "expected a sticker id" }).describe("A sticker of a server pack or of your own"),
        replyTo: messageIdField.optional(),
        threadRootId: messageIdField.optional().describe("Send it in the thread under this message"),
      }),
      responses: {
        201: { description: "Sent", schema: messageSchema },
        200: { description: "Sent before with this transaction id", schema: messageSchema },
        202: { description: "Sent to a room on another server", schema: messageSchema },
      },
      errors: ["sticker_not_found", "room_not_found", "not_a_member", "quota_exceeded", "remote_unreachable"],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      // Stickers are messages: they count against the same limit.
      enforceRateLimits(deps, [
        {
          key: `messages:send:${viewer(c).id}`,
          limit: Math.max(1, Math.round(60 * deps.config.rateLimitFactor)),
          windowSeconds: 60,
        },
      ]);
      const { message, created } = await sendSticker(deps, viewer(c), params.roomId, {
        txnId: params.txnId,
        stickerId: body.sticker,
        replyTo: body.replyTo,
        threadRootId: body.threadRootId,
      });
      return c.json(message, message.pending ? 202 : created ? 201 : 200);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/media/stickers/:file",
      tag: "stickers",
      summary: "A sticker's image or its still (named by its SHA-256)",
      params: z.object({ file: z.string().max(80) }),
      responses: { 200: { description: "The image" } },
      errors: ["not_found"],
    },
    async (c, { params }) => imageResponse(c, await readStickerFile(c.var.deps, params.file)),
  );
}
