import { and, asc, count, eq, inArray, isNull, or, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import type { AuthUser } from "../accounts/sessions.ts";
import type { DatabaseLike } from "../db/client.ts";
import { type Sticker, type StickerPack, stickerPacks, stickers } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { appendEvents } from "../stream/events.ts";
import { cleanName, codePointLength } from "../text.ts";
import { placeStickerImage, prepareStickerImage, removeStickerImage, stickerFileName } from "./files.ts";

// Sticker packs: the server's (admins make and edit them; every local user sees them) and each
// user's own (only its owner sees or uses them). Authorisation is here, not in the routes.

/** How many personal packs a user may have. */
export const maxPersonalPacks = 10;
/** How many packs the server may have. */
export const maxServerPacks = 50;
/** How many stickers a pack may hold. */
export const maxStickersPerPack = 100;
/** The longest pack or sticker name, in code points. */
export const maxStickerNameLength = 64;

/** Who is asking: their id and role. */
export type Viewer = Pick<AuthUser, "id" | "role">;

/** A sticker as the API shows it. */
export interface StickerView {
  readonly id: string;
  readonly packId: string;
  readonly name: string;
  readonly emoji: string | null;
  readonly mediaType: string;
  readonly width: number;
  readonly height: number;
  /** The image, served from this server's origin. */
  readonly url: string;
  /** Animated stickers only: the first frame, for people who prefer reduced motion. */
  readonly stillUrl?: string;
}

/** A pack as the API shows it, with its stickers oldest first. */
export interface PackView {
  readonly id: string;
  readonly name: string;
  /** `server`: made by the admins, seen by everyone here; `personal`: the viewer's own. */
  readonly kind: "server" | "personal";
  readonly stickers: StickerView[];
  readonly createdAt: string;
}

/** Serialises a sticker. */
export function stickerView(deps: Pick<Deps, "config">, sticker: Sticker): StickerView {
  const base = `${deps.config.origin}/media/stickers/`;
  return {
    id: sticker.id,
    packId: sticker.packId,
    name: sticker.name,
    emoji: sticker.emoji,
    mediaType: sticker.mediaType,
    width: sticker.width,
    height: sticker.height,
    url: base + stickerFileName(sticker),
    ...(sticker.animated ? { stillUrl: base + stickerFileName(sticker, true) } : {}),
  };
}

function packView(deps: Pick<Deps, "config">, pack: StickerPack, list: readonly Sticker[]): PackView {
  return {
    id: pack.id,
    name: pack.name,
    kind: pack.ownerId == null ? "server" : "personal",
    stickers: list.map((s) => stickerView(deps, s)),
    createdAt: pack.createdAt.toISOString(),
  };
}

/**
 * A name for a pack or a sticker: one line, invisible characters removed, 1 to 64 code points.
 * No `/`, `\` or `.`: a sent sticker's attachment is named after it, and that name must be
 * neither a path nor an extension that promises another type.
 * @throws {AppError} `validation_failed`.
 */
export function stickerName(raw: string, path = "name"): string {
  const name = cleanName(raw);
  let problem: string | undefined;
  if (name === "") problem = "expected a name";
  else if (codePointLength(name) > maxStickerNameLength)
    problem = `expected at most ${maxStickerNameLength} characters`;
  else if (/[/\\.]/.test(name)) problem = "expected no / \\ or . in the name";
  if (problem)
    throw new AppError("validation_failed", `The ${path} is not acceptable.`, {
      details: [{ path, message: problem }],
    });
  return name;
}

/**
 * An emoji hint: empty for none, else one emoji (up to 16 code points, for sequences).
 * @throws {AppError} `validation_failed`.
 */
export function stickerEmoji(raw: string | undefined): string | null {
  const value = (raw ?? "").trim();
  if (value === "") return null;
  if (
    codePointLength(value) > 16 ||
    !/^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\u200d|\ufe0f)+$/u.test(value) ||
    !/\p{Extended_Pictographic}/u.test(value)
  ) {
    throw new AppError("validation_failed", "The emoji hint is not an emoji.", {
      details: [{ path: "emoji", message: "expected one emoji" }],
    });
  }
  return value;
}

/** The packs this user sees: the server's, then their own, oldest first within each. */
function visibleTo(viewer: Viewer) {
  return or(isNull(stickerPacks.ownerId), eq(stickerPacks.ownerId, viewer.id));
}

/**
 * The packs the viewer sees, with their stickers: the server's first, then their own.
 */
export async function listPacks(deps: Deps, viewer: Viewer): Promise<PackView[]> {
  const packs = await deps.db
    .select()
    .from(stickerPacks)
    .where(visibleTo(viewer))
    .orderBy(sql`${stickerPacks.ownerId} is not null`, asc(stickerPacks.createdAt), asc(stickerPacks.id));
  if (packs.length === 0) return [];
  const list = await deps.db
    .select()
    .from(stickers)
    .where(
      inArray(
        stickers.packId,
        packs.map((p) => p.id),
      ),
    )
    .orderBy(asc(stickers.createdAt), asc(stickers.id));
  return packs.map((pack) =>
    packView(
      deps,
      pack,
      list.filter((s) => s.packId === pack.id),
    ),
  );
}

/**
 * A pack the viewer may see, optionally one they may also change (their own, or the
 * server's when they are an admin). Another user's pack is not found, never forbidden.
 * @throws {AppError} `sticker_pack_not_found`, `admin_only` (a server pack, to change, by a non-admin).
 */
async function packFor(
  db: DatabaseLike,
  viewer: Viewer,
  packId: string,
  change: boolean,
  lock = false,
): Promise<StickerPack> {
  const query = db
    .select()
    .from(stickerPacks)
    .where(and(eq(stickerPacks.id, packId), visibleTo(viewer)));
  const [pack] = lock ? await query.for("update") : await query;
  if (pack == null) throw new AppError("sticker_pack_not_found", "No such sticker pack.");
  if (change && pack.ownerId == null && viewer.role !== "admin") {
    throw new AppError("admin_only", "Only an admin of this server may change the server's sticker packs.");
  }
  return pack;
}

/**
 * Locks and reads a pack for a change, so limits are counted by one writer at a time; a pack
 * deleted meanwhile is not found.
 */
async function lockPack(tx: DatabaseLike, viewer: Viewer, packId: string): Promise<StickerPack> {
  return await packFor(tx, viewer, packId, true, true);
}

/**
 * Tells those who see a pack that it changed. Its owner's sessions get the pack itself (`pack`
 * null once deleted). A server pack's change is one event for every connected client (no room,
 * no actor), kept small: `{ packId, kind: "server", deleted }`, and clients that hold the packs
 * load them again.
 */
async function announce(deps: Deps, tx: DatabaseLike, pack: StickerPack, deleted = false): Promise<void> {
  if (pack.ownerId == null) {
    await appendEvents(tx, [{ type: "stickers.updated", data: { packId: pack.id, kind: "server", deleted } }]);
    return;
  }
  let view: PackView | null = null;
  if (!deleted) {
    const list = await tx
      .select()
      .from(stickers)
      .where(eq(stickers.packId, pack.id))
      .orderBy(asc(stickers.createdAt), asc(stickers.id));
    view = packView(deps, pack, list);
  }
  await appendEvents(tx, [
    { type: "stickers.updated", actorId: pack.ownerId, data: { packId: pack.id, kind: "personal", pack: view } },
  ]);
}

/**
 * Creates a pack: the viewer's own, or (`server`, admins only) one for everyone here.
 * @throws {AppError} `validation_failed`, `admin_only`, `sticker_limit_reached`.
 */
export async function createPack(
  deps: Deps,
  viewer: Viewer,
  input: { name: string; server?: boolean | undefined },
): Promise<PackView> {
  const name = stickerName(input.name);
  if (input.server && viewer.role !== "admin") {
    throw new AppError("admin_only", "Only an admin of this server may make server sticker packs.");
  }
  return await deps.db.transaction(async (tx) => {
    // One creator at a time per owner (the user's row, or every admin's on the server's packs).
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtextextended(${`sticker-packs:${input.server ? "server" : viewer.id}`}, 0))`,
    );
    const owner = input.server ? isNull(stickerPacks.ownerId) : eq(stickerPacks.ownerId, viewer.id);
    const [existing] = await tx.select({ n: count() }).from(stickerPacks).where(owner);
    const max = input.server ? maxServerPacks : maxPersonalPacks;
    if ((existing?.n ?? 0) >= max) {
      throw new AppError("sticker_limit_reached", `At most ${max} sticker packs are allowed here.`, {
        details: { max },
      });
    }
    const [pack] = await tx
      .insert(stickerPacks)
      .values({ id: uuidv7(), ownerId: input.server ? null : viewer.id, name })
      .returning();
    if (pack == null) throw new Error("The sticker pack was not written.");
    await announce(deps, tx, pack);
    return packView(deps, pack, []);
  });
}

/**
 * Renames a pack the viewer may change.
 * @throws {AppError} `sticker_pack_not_found`, `admin_only`, `validation_failed`.
 */
export async function renamePack(deps: Deps, viewer: Viewer, packId: string, rawName: string): Promise<PackView> {
  const name = stickerName(rawName);
  return await deps.db.transaction(async (tx) => {
    await lockPack(tx, viewer, packId);
    const [pack] = await tx
      .update(stickerPacks)
      .set({ name, updatedAt: new Date() })
      .where(eq(stickerPacks.id, packId))
      .returning();
    if (pack == null) throw new AppError("sticker_pack_not_found", "No such sticker pack.");
    await announce(deps, tx, pack);
    const list = await tx.select().from(stickers).where(eq(stickers.packId, packId)).orderBy(asc(stickers.createdAt));
    return packView(deps, pack, list);
  });
}

/**
 * Deletes a pack the viewer may change, with its stickers; messages that sent them keep their
 * own copies. Files no other sticker uses go after commit.
 * @throws {AppError} `sticker_pack_not_found`, `admin_only`.
 */
export async function deletePack(deps: Deps, viewer: Viewer, packId: string): Promise<void> {
  const gone = await deps.db.transaction(async (tx) => {
    const pack = await lockPack(tx, viewer, packId);
    const list = await tx.delete(stickers).where(eq(stickers.packId, packId)).returning();
    await tx.delete(stickerPacks).where(eq(stickerPacks.id, packId));
    await announce(deps, tx, pack, true);
    return list;
  });
  await removeUnusedImages(deps, gone);
}

/**
 * Adds a sticker to a pack the viewer may change. The image is checked (see
 * `prepareStickerImage`) before the pack is touched; a refusal changes nothing.
 * @throws {AppError} `sticker_pack_not_found`, `admin_only`, `validation_failed`,
 *   `payload_too_large`, `unsupported_media_type`, `sticker_limit_reached`.
 */
export async function addSticker(
  deps: Deps,
  viewer: Viewer,
  packId: string,
  input: { name: string; emoji?: string | undefined; bytes: Uint8Array },
): Promise<StickerView> {
  const name = stickerName(input.name);
  const emoji = stickerEmoji(input.emoji);
  await packFor(deps.db, viewer, packId, true);
  const image = await prepareStickerImage(input.bytes);
  return await deps.db.transaction(async (tx) => {
    const pack = await lockPack(tx, viewer, packId);
    const [existing] = await tx.select({ n: count() }).from(stickers).where(eq(stickers.packId, packId));
    if ((existing?.n ?? 0) >= maxStickersPerPack) {
      throw new AppError("sticker_limit_reached", `A pack holds at most ${maxStickersPerPack} stickers.`, {
        details: { max: maxStickersPerPack },
      });
    }
    await lockImage(tx, image.hash);
    const [sticker] = await tx
      .insert(stickers)
      .values({
        id: uuidv7(),
        packId,
        name,
        emoji,
        hash: image.hash,
        mediaType: image.mediaType,
        size: image.bytes.length,
        width: image.width,
        height: image.height,
        animated: image.still != null,
      })
      .returning();
    if (sticker == null) throw new Error("The sticker was not written.");
    await tx.update(stickerPacks).set({ updatedAt: new Date() }).where(eq(stickerPacks.id, packId));
    await announce(deps, tx, pack);
    // Inside the transaction and the image's lock: a failure writes no row, and a removal of
    // the same image cannot run in between.
    await placeStickerImage(deps, image);
    return stickerView(deps, sticker);
  });
}

/**
 * Deletes a sticker from a pack the viewer may change.
 * @throws {AppError} `sticker_not_found`, `admin_only`.
 */
export async function deleteSticker(deps: Deps, viewer: Viewer, stickerId: string): Promise<void> {
  const gone = await deps.db.transaction(async (tx) => {
    const [row] = await tx.select().from(stickers).where(eq(stickers.id, stickerId));
    if (row == null) throw new AppError("sticker_not_found", "No such sticker.");
    const pack = await lockPack(tx, viewer, row.packId).catch((error: unknown) => {
      throw error instanceof AppError && error.code === "sticker_pack_not_found"
        ? new AppError("sticker_not_found", "No such sticker.")
        : error;
    });
    const list = await tx.delete(stickers).where(eq(stickers.id, stickerId)).returning();
    await announce(deps, tx, pack);
    return list;
  });
  await removeUnusedImages(deps, gone);
}

/**
 * A sticker the viewer may send: in a server pack or one of their own.
 * @throws {AppError} `sticker_not_found` (also for another user's sticker).
 */
export async function usableSticker(deps: Deps, viewer: Viewer, stickerId: string): Promise<Sticker> {
  const [row] = await deps.db
    .select({ sticker: stickers })
    .from(stickers)
    .innerJoin(stickerPacks, eq(stickerPacks.id, stickers.packId))
    .where(and(eq(stickers.id, stickerId), visibleTo(viewer)));
  if (row == null) throw new AppError("sticker_not_found", "No such sticker.");
  return row.sticker;
}

/** Takes a sticker image's lock until the transaction ends: storing and removing it never interleave. */
export async function lockImage(tx: DatabaseLike, hash: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`sticker:${hash}`}, 0))`);
}

/** Removes the images of deleted stickers that no remaining sticker uses, under each image's lock. */
export async function removeUnusedImages(deps: Deps, gone: readonly Sticker[]): Promise<void> {
  const seen = new Set<string>();
  for (const sticker of gone) {
    if (seen.has(sticker.hash)) continue;
    seen.add(sticker.hash);
    await deps.db.transaction(async (tx) => {
      await lockImage(tx, sticker.hash);
      const [used] = await tx
        .select({ id: stickers.id })
        .from(stickers)
        .where(eq(stickers.hash, sticker.hash))
        .limit(1);
      if (used == null) await removeStickerImage(deps, sticker);
    });
  }
}
