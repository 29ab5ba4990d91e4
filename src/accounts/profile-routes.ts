import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { multipartFile } from "../http/multipart.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { avatarLimits, avatarUrl, readAvatar, removeAvatar, setAvatar } from "../media/avatars.ts";
import { readRemoteAvatar } from "../media/remote-avatars.ts";
import { actorByHandle, actorProfiles } from "../rooms/actors.ts";
import { cleanName, cleanText, codePointLength } from "../text.ts";
import { findLocalUser, handleHost, isLocalHandle, updateProfile } from "./accounts.ts";
import {
  fieldsOf,
  maxProfileFields,
  type ProfileFieldView,
  profileFieldLimits,
  profileFieldsOf,
} from "./profile-fields.ts";
import type { AuthUser } from "./sessions.ts";

// ---- Schemas: they validate the requests and describe them in the OpenAPI document. ----

export const displayName = z
  .string()
  .max(1000, "expected at most 64 characters")
  .transform(cleanName)
  .refine((v) => v.length > 0, "expected at least one visible character")
  .refine((v) => codePointLength(v) <= 64, "expected at most 64 characters")
  .describe("1–64 characters; control characters, bidi overrides and zero-width runs are removed");
export const bio = z
  .string()
  .max(4000, "expected at most 500 characters")
  .transform(cleanText)
  .refine((v) => codePointLength(v) <= 500, "expected at most 500 characters");
const color = z
  .string()
  .regex(/^#[0-9A-Fa-f]{6}$/, "expected a colour such as #3366ff")
  .transform((v) => v.toLowerCase());
/** One line of a field: plain text, cleaned like a name, 1 to `max` characters. */
const fieldText = (max: number) =>
  z
    .string()
    .max(max * 8, `expected at most ${max} characters`)
    .transform(cleanName)
    .refine((v) => v.length > 0, "expected at least one visible character")
    .refine((v) => codePointLength(v) <= max, `expected at most ${max} characters`);
const profileFieldsBody = z
  .array(z.object({ name: fieldText(profileFieldLimits.name), value: fieldText(profileFieldLimits.value) }))
  .max(maxProfileFields, `expected at most ${maxProfileFields} fields`)
  .describe(
    `Replaces all the profile fields (at most ${maxProfileFields}; label and value each 1–${profileFieldLimits.value} characters of plain text). A value that is an http(s) address is verified in the background, as Mastodon does: its page must link back to the profile (the \`url\`) with \`rel="me"\`.`,
  );
export const updateProfileBody = z.object({
  displayName: displayName.optional(),
  bio: bio.optional(),
  color: color.nullable().optional(),
  fields: profileFieldsBody.optional(),
});
const handleParams = z.object({ handle: z.string().min(1).max(300) });
const avatarParams = z.object({ file: z.string().max(60) });
const remoteAvatarParams = z.object({ actorId: z.uuid({ error: "expected an actor id" }) });

export const userSchema = z.object({
  id: z.string(),
  username: z.string(),
  handle: z.string().describe("username@host"),
  displayName: z.string(),
  bio: z.string(),
  color: z.string().nullable(),
  avatarUrl: z.string().nullable(),
  url: z.string().describe("The user's ActivityPub Person IRI"),
  bot: z.boolean().describe("A bot (its actor is a `Service`), made by a user who owns it"),
  createdAt: z.string(),
  fields: z
    .array(
      z.object({
        name: z.string(),
        value: z.string().describe("Plain text; an http(s) address is shown as a link"),
        verifiedAt: z
          .string()
          .nullable()
          .describe(
            'When this server found the linked page linking back with `rel="me"`; always null for another server\'s users',
          ),
      }),
    )
    .describe(`At most ${maxProfileFields} labels and values, in order`),
});

/** The logged-in user: the public fields and what only they see. */
export const meSchema = userSchema.extend({
  role: z.enum(["user", "admin"]).describe("`admin` runs the instance (set with `npm run admin -- users:role`)"),
});

// ---- Serialisation ----

/** The API shape of a user (public fields only: everything here is on the Person too). */
export function serializeUser(
  deps: Deps,
  user: AuthUser,
  fields: readonly ProfileFieldView[],
): z.infer<typeof userSchema> {
  return {
    id: user.id,
    username: user.username,
    handle: `${user.username}@${handleHost(deps)}`,
    displayName: user.displayName,
    bio: user.bio,
    color: user.color,
    avatarUrl: avatarUrl(deps, user.avatar),
    url: `${deps.config.origin}/users/${user.username}`,
    bot: user.botOwnerId != null,
    createdAt: user.createdAt.toISOString(),
    fields: [...fields],
  };
}

/** Users in the API's shape, their profile fields read in one query. */
export async function userViews(deps: Deps, list: readonly AuthUser[]): Promise<z.infer<typeof userSchema>[]> {
  const fields = await profileFieldsOf(
    deps,
    list.map((u) => u.id),
  );
  return list.map((u) => serializeUser(deps, u, fields.get(u.id) ?? []));
}

/** One user in the API's shape, with their profile fields. */
export async function userView(deps: Deps, user: AuthUser): Promise<z.infer<typeof userSchema>> {
  return serializeUser(deps, user, await fieldsOf(deps, user.id));
}

/** The API shape of the logged-in user: {@link serializeUser} (fields read here) and their role. */
export async function serializeMe(deps: Deps, user: AuthUser): Promise<z.infer<typeof meSchema>> {
  return { ...serializeUser(deps, user, await fieldsOf(deps, user.id)), role: user.role };
}

/** Where a user's profile is: the addresses a `rel="me"` link may point at. */
export function profileUrls(deps: Deps, user: Pick<AuthUser, "username">): string[] {
  return [`${deps.config.origin}/users/${user.username}`];
}

/**
 * Mounts the profile endpoints: the logged-in user's profile and avatar, public profiles and
 * avatar images.
 */
export function profileRoutes(api: Api, app: Hono<Env>): void {
  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/me",
      tag: "profile",
      summary: "The logged-in user",
      auth: true,
      responses: { 200: { description: "The user", schema: meSchema } },
    },
    async (c) => c.json(await serializeMe(c.var.deps, authenticated(c).user)),
  );

  api.route(
    app,
    {
      method: "patch",
      path: "/api/v1/me",
      tag: "profile",
      summary: "Change the display name, bio, name colour or profile fields",
      auth: true,
      body: updateProfileBody,
      responses: { 200: { description: "The updated user", schema: meSchema } },
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const user = authenticated(c).user;
      limitProfileChanges(deps, user);
      const updated = await updateProfile(deps, user, body);
      if (body.fields !== undefined) deps.profileLinks.verifyLater(deps, user.id, profileUrls(deps, user));
      return c.json(await serializeMe(deps, updated));
    },
  );

  api.route(
    app,
    {
      method: "put",
      path: "/api/v1/me/avatar",
      tag: "profile",
      summary: "Upload an avatar (PNG, JPEG, WebP or GIF; at most 2 MB and 4096×4096)",
      auth: true,
      bodyLimit: avatarLimits.maxBytes + 64 * 1024,
      multipart: { file: { description: "The image; its type is recognised from its bytes", binary: true } },
      responses: { 200: { description: "The updated user", schema: meSchema } },
      errors: ["validation_failed"],
    },
    async (c) => {
      const deps = c.var.deps;
      limitProfileChanges(deps, authenticated(c).user);
      const file = await multipartFile(c, "file");
      const user = await setAvatar(deps, authenticated(c).user, new Uint8Array(await file.arrayBuffer()));
      return c.json(await serializeMe(deps, user));
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/me/avatar",
      tag: "profile",
      summary: "Remove the avatar",
      auth: true,
      responses: { 200: { description: "The updated user", schema: meSchema } },
    },
    async (c) => {
      const deps = c.var.deps;
      limitProfileChanges(deps, authenticated(c).user);
      return c.json(await serializeMe(deps, await removeAvatar(deps, authenticated(c).user)));
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/users/:handle",
      tag: "profile",
      summary: "A user's public profile, by handle (`alice`, `alice@host`, or someone on another server)",
      params: handleParams,
      responses: { 200: { description: "The user", schema: userSchema } },
      errors: ["user_not_found"],
    },
    async (c, { params }) => {
      const deps = c.var.deps;
      if (isLocalHandle(deps, params.handle)) {
        const user = await findLocalUser(deps, params.handle);
        return c.json(serializeUser(deps, user, await fieldsOf(deps, user.id)));
      }
      // Someone on another server: fetched through federation, then shown from what it said.
      const { id } = await actorByHandle(deps, params.handle);
      const profile = (await actorProfiles(deps, [id])).get(id);
      if (profile == null) throw new AppError("user_not_found", `No user ${params.handle} was found.`);
      return c.json({
        id: profile.id,
        username: profile.handle.split("@")[0] ?? profile.handle,
        handle: profile.handle,
        displayName: profile.displayName,
        bio: "",
        color: null,
        avatarUrl: profile.avatarUrl,
        url: profile.url,
        bot: profile.bot === true,
        createdAt: new Date(0).toISOString(),
        fields: await fieldsOf(deps, profile.id),
      });
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/media/avatars/:file",
      tag: "profile",
      summary: "An avatar image",
      params: avatarParams,
      responses: { 200: { description: "The image, with its real media type" } },
      errors: ["not_found"],
    },
    async (c, { params }) => imageResponse(c, await readAvatar(c.var.deps, params.file)),
  );

  api.route(
    app,
    {
      method: "get",
      path: "/media/remote-avatars/:actorId",
      tag: "profile",
      summary: "The avatar of someone on another server, served from here",
      description:
        "Fetched from their server the first time it is asked for, checked and re-encoded like an uploaded avatar, and kept until their avatar changes. Profiles link it with a version (`?v=`), which this ignores.",
      params: remoteAvatarParams,
      responses: { 200: { description: "The image, with its real media type" } },
      errors: ["not_found"],
    },
    async (c, { params }) => imageResponse(c, await readRemoteAvatar(c.var.deps, params.actorId)),
  );
}

/**
 * Profile and avatar changes: 30 an hour per user, together. Each change is an event for
 * everyone who shows the user and an `Update{Person}` to every server that does.
 * @throws {AppError} `rate_limited`.
 */
export function limitProfileChanges(deps: Deps, user: AuthUser): void {
  enforceRateLimits(deps, [
    {
      key: `profile:change:${user.id}`,
      limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
      windowSeconds: 3600,
    },
  ]);
}

/** An image's bytes (an avatar, a card's picture), sandboxed, for a browser to keep for good (its URL names it). */
export function imageResponse(c: Context<Env>, { bytes, mediaType }: { bytes: Uint8Array; mediaType: string }) {
  return c.body(new Uint8Array(bytes), 200, {
    "Content-Type": mediaType,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": "public, max-age=31536000, immutable",
  });
}
