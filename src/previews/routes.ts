import type { Context, Hono } from "hono";
import { z } from "zod";
import { imageResponse } from "../accounts/profile-routes.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { roomId } from "../rooms/schemas.ts";
import { readPreviewImage } from "./fetch.ts";
import { removePreviews, setUserPreviews, userPreviews } from "./settings.ts";

const settingSchema = z.object({
  enabled: z.boolean().describe("Whether the user sees link preview cards, and whether their own messages get any"),
});
const messageParams = z.object({ roomId, messageId: z.uuid({ error: "expected a message id" }) });
const imageParams = z.object({ file: z.string().max(80) });

/** Mounts the link preview endpoints: the user's setting, removing a message's cards, card images. */
export function previewRoutes(api: Api, app: Hono<Env>): void {
  const me = (c: Context<Env>) => authenticated(c).user.id;

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/me/link-previews",
      tag: "previews",
      summary: "Whether the caller sees link preview cards",
      auth: true,
      responses: { 200: { description: "The setting", schema: settingSchema } },
    },
    async (c) => c.json(await userPreviews(c.var.deps, me(c))),
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/me/link-previews",
      tag: "previews",
      summary: "Turn link preview cards on or off for the caller",
      description:
        "Off: the caller's history shows no cards and the caller's own messages get none (nothing is fetched for them). " +
        "Live `message.previews` events still arrive, for every member alike: clients drop them.",
      auth: true,
      body: settingSchema,
      responses: { 200: { description: "The setting", schema: settingSchema } },
    },
    async (c, { body }) => c.json(await setUserPreviews(c.var.deps, me(c), body.enabled)),
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/rooms/:roomId/messages/:messageId/previews",
      tag: "previews",
      summary: "Remove a message's link preview cards (its author only)",
      description:
        "For every reader here, for good: an edit does not bring them back. The room hears `message.previews`.",
      auth: true,
      params: messageParams,
      responses: { 204: { description: "Removed" } },
      errors: ["room_not_found", "not_a_member", "message_not_found", "forbidden"],
    },
    async (c, { params }) => {
      await removePreviews(c.var.deps, me(c), params.roomId, params.messageId);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/media/link-previews/:file",
      tag: "previews",
      summary: "A link preview card's image, made and served here",
      params: imageParams,
      responses: { 200: { description: "A WebP image" } },
      errors: ["not_found"],
    },
    async (c, { params }) =>
      imageResponse(c, { bytes: await readPreviewImage(c.var.deps, params.file), mediaType: "image/webp" }),
  );
}
