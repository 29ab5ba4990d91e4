import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { announceProfile } from "../accounts/profile-events.ts";
import { type AuthUser, authUserColumns } from "../accounts/sessions.ts";
import { users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { type ImageExtension, inspectImage, scrubImage } from "./images.ts";

/** Avatars: at most 2 MB and 4096×4096 pixels, checked from the header before anything else. */
export const avatarLimits = { maxBytes: 2 * 1024 * 1024, maxWidth: 4096, maxHeight: 4096 } as const;

/** Server-generated avatar file names: a UUID and the extension of the sniffed type. */
export const avatarFileName = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(png|jpg|webp|gif)$/;

const mediaTypes: Record<ImageExtension, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
};

function avatarDir(deps: Pick<Deps, "config">): string {
  return join(deps.config.dataDir, "media", "avatars");
}

/**
 * Stores a new avatar for the user and removes the old one. The type comes from the bytes
 * (PNG, JPEG, WebP or GIF), never from the declared type or the file name; the file gets a
 * server-generated name.
 * @throws {AppError} `payload_too_large`, `unsupported_media_type` or `validation_failed`.
 */
export async function setAvatar(deps: Deps, user: AuthUser, bytes: Uint8Array): Promise<AuthUser> {
  return await replaceAvatar(deps, user, await storeAvatarFile(deps, bytes));
}

/**
 * Checks an avatar image (users' and rooms') and stores it under a new server-generated name.
 * @returns The file name.
 * @throws {AppError} `payload_too_large`, `unsupported_media_type` or `validation_failed`.
 */
export async function storeAvatarFile(deps: Deps, bytes: Uint8Array): Promise<string> {
  const image = await inspectImage(bytes, avatarLimits);
  const stored = (await scrubImage(bytes, image)).bytes;
  const dir = avatarDir(deps);
  await mkdir(dir, { recursive: true });
  const name = `${randomUUID()}.${image.extension}`;
  // Written under a temporary name and renamed, so a half-written file is never served.
  const temporary = join(dir, `.${name}.part`);
  await writeFile(temporary, stored, { mode: 0o644 });
  await rename(temporary, join(dir, name));
  return name;
}

/** Removes the user's avatar. */
export async function removeAvatar(deps: Deps, user: AuthUser): Promise<AuthUser> {
  return await replaceAvatar(deps, user, null);
}

/**
 * Points the user at a new avatar file (or none) and deletes the previous file: the one in the
 * row now, read under a row lock, not the one the caller loaded, so that with uploads racing
 * each one removes exactly the file it replaced.
 */
async function replaceAvatar(deps: Deps, user: AuthUser, name: string | null): Promise<AuthUser> {
  const { updated, previous } = await deps.db.transaction(async (tx) => {
    const [row] = await tx.select({ avatar: users.avatar }).from(users).where(eq(users.id, user.id)).for("update");
    // Removing an avatar that is not there changes nothing and tells nobody.
    if (row != null && row.avatar === name) return { updated: undefined, previous: null };
    const [updated] = await tx
      .update(users)
      .set({ avatar: name, updatedAt: sql`now()` })
      .where(eq(users.id, user.id))
      .returning(authUserColumns);
    await announceProfile(deps, tx, user.id);
    return { updated, previous: row?.avatar ?? null };
  });
  // This process's cached sessions of the user would serve the old avatar's URL.
  deps.auth.forget({ userId: user.id });
  if (previous) await removeAvatarFile(deps, previous);
  return updated ?? user;
}

/** Deletes a stored avatar file; a name we would not have generated is ignored. */
export async function removeAvatarFile(deps: Deps, name: string): Promise<void> {
  if (!avatarFileName.test(name)) return;
  await unlink(join(avatarDir(deps), name)).catch(() => {});
}

/**
 * Reads a stored avatar by its file name.
 * @throws {AppError} `not_found` for a name that is not one we generate, or no such file.
 */
export async function readAvatar(deps: Deps, name: string): Promise<{ bytes: Uint8Array; mediaType: string }> {
  const mediaType = avatarMediaType(name);
  if (mediaType == null) throw new AppError("not_found", "No such avatar.");
  try {
    const bytes = await readFile(join(avatarDir(deps), name));
    return { bytes, mediaType };
  } catch {
    throw new AppError("not_found", "No such avatar.");
  }
}

/** Where a stored avatar file is, or undefined for a name that is not one of ours. */
export function avatarPath(deps: Pick<Deps, "config">, name: string): string | undefined {
  return avatarFileName.test(name) ? join(avatarDir(deps), name) : undefined;
}

/** The media type of a stored avatar, from its generated name. */
export function avatarMediaType(name: string): string | undefined {
  const extension = avatarFileName.exec(name)?.[1] as ImageExtension | undefined;
  return extension ? mediaTypes[extension] : undefined;
}

/** The public URL of an avatar file. */
export function avatarUrl(deps: Pick<Deps, "config">, name: string | null): string | null {
  return name ? `${deps.config.origin}/media/avatars/${name}` : null;
}
