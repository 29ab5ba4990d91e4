/**
 * Fetching one link's card into the cache: the page through the bounded fetcher (public
 * addresses only unless `FEDERATION_ALLOW_PRIVATE_ADDRESS`, DNS pinned, each redirect checked,
 * one deadline, no cookies), only HTML and only its first 512 KiB; then its image the same
 * way, checked like an upload and made into a small WebP stored here.
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { eq, lt, sql } from "drizzle-orm";
import { linkPreviews } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { imageLimits, makePreview } from "../media/image-previews.ts";
import { inspectImage } from "../media/images.ts";
import { fetchRemoteMedia, type RemoteFetchLimits } from "../media/remote.ts";
import { isHtml, readPageMeta } from "./parse.ts";

/** A page is read up to here; what follows is cut off (the head is what matters). */
export const pageLimits: RemoteFetchLimits = { maxBytes: 512 * 1024, timeoutMs: 8000, maxRedirects: 3 };
/** A card's image: refused past 5 MB, or past the attachments' pixel limits. */
export const imageFetchLimits: RemoteFetchLimits = { maxBytes: 5 * 1024 * 1024, timeoutMs: 8000, maxRedirects: 3 };
/** A fetched card is kept this long, then fetched again on next use. */
export const previewTtlMs = 24 * 60 * 60 * 1000;
/** A link that gave no card is not asked again for this long. */
export const failedTtlMs = 60 * 60 * 1000;

/** Stored card images: `<sha256>.webp`, so the same picture on many pages is one file. */
export const previewImageFile = /^[0-9a-f]{64}\.webp$/;

function imageDir(deps: Pick<Deps, "config">): string {
  return join(deps.config.dataDir, "media", "link-previews");
}

/** Fetches an image, checks it like an upload, and stores a WebP of at most 400×400 pixels. */
async function storeImage(deps: Deps, url: string): Promise<{ file: string; width: number; height: number }> {
  const { bytes } = await fetchRemoteMedia(deps.config, url, { limits: imageFetchLimits, accept: "image/*" });
  await inspectImage(bytes, { ...imageLimits, maxBytes: imageFetchLimits.maxBytes });
  const webp = await makePreview(bytes);
  const { width, height } = await inspectImage(webp, { ...imageLimits, maxBytes: imageFetchLimits.maxBytes });
  const file = `${createHash("sha256").update(webp).digest("hex")}.webp`;
  const dir = imageDir(deps);
  await mkdir(dir, { recursive: true });
  // Written under a temporary name and renamed, so a half-written file is never served.
  const temporary = join(dir, `.${file}.${process.pid}.part`);
  await writeFile(temporary, webp, { mode: 0o644 });
  await rename(temporary, join(dir, file));
  return { file, width, height };
}

/**
 * Fetches a link's page and image and writes the cache row (a failure too, with its reason and
 * a shorter life). Never throws for what the remote side does; the database's errors do.
 * @returns Whether the link has a card now.
 */
export async function fetchPreview(deps: Deps, url: string): Promise<boolean> {
  let row: Omit<typeof linkPreviews.$inferInsert, "url" | "expiresAt">;
  let ttl = previewTtlMs;
  try {
    const page = await fetchRemoteMedia(deps.config, url, {
      limits: pageLimits,
      accept: "text/html, application/xhtml+xml;q=0.9",
      acceptContentType: isHtml,
      truncate: true,
    });
    const meta = readPageMeta(page.bytes, page.contentType, page.finalUrl);
    // A page whose image is refused still gets a card, without the image.
    const image = meta.imageUrl
      ? await storeImage(deps, meta.imageUrl).catch((error: unknown) => void remoteReason(error))
      : undefined;
    if (meta.title == null && meta.description == null && image == null) {
      row = { status: "failed", error: "empty" };
    } else {
      row = {
        status: "ok",
        title: meta.title,
        description: meta.description,
        siteName: meta.siteName,
        image: image?.file ?? null,
        imageWidth: image?.width ?? null,
        imageHeight: image?.height ?? null,
        error: null,
      };
    }
  } catch (error) {
    row = { status: "failed", error: remoteReason(error) };
    ttl = failedTtlMs;
  }
  const values = {
    title: null,
    description: null,
    siteName: null,
    image: null,
    imageWidth: null,
    imageHeight: null,
    ...row,
    fetchedAt: new Date(),
    expiresAt: new Date(Date.now() + ttl),
  };
  await deps.db
    .insert(linkPreviews)
    .values({ url, ...values })
    .onConflictDoUpdate({ target: linkPreviews.url, set: values });
  return row.status === "ok";
}

/** What the remote side did wrong, as a reason; anything else (a bug, the database) is thrown on. */
function remoteReason(error: unknown): string {
  if (!(error instanceof AppError)) throw error;
  return (error.details as { reason?: string } | undefined)?.reason ?? error.code;
}

/**
 * Reads a stored card image.
 * @throws {AppError} `not_found` for a name we would not generate, or no such file.
 */
export async function readPreviewImage(deps: Pick<Deps, "config">, file: string): Promise<Uint8Array> {
  if (!previewImageFile.test(file)) throw new AppError("not_found", "No such image.");
  try {
    return await readFile(join(imageDir(deps), file));
  } catch {
    throw new AppError("not_found", "No such image.");
  }
}

/**
 * Housekeeping: forgets cache rows expired a week ago (links nobody has read since) and the
 * image files no remaining row names. One statement, then a file removal per image.
 */
export async function purgeLinkPreviews(deps: Pick<Deps, "config" | "db">): Promise<void> {
  const gone = await deps.db
    .delete(linkPreviews)
    .where(lt(linkPreviews.expiresAt, sql`now() - interval '7 days'`))
    .returning({ image: linkPreviews.image });
  for (const file of new Set(gone.flatMap((r) => (r.image ? [r.image] : [])))) {
    const [kept] = await deps.db
      .select({ url: linkPreviews.url })
      .from(linkPreviews)
      .where(eq(linkPreviews.image, file))
      .limit(1);
    if (kept == null) await unlink(join(imageDir(deps), file)).catch(() => {});
  }
}
