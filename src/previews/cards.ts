/**
 * Which messages show which cards, for whom: the one place that applies the opt-outs. A card
 * shows when the message is not deleted, its author did not remove its cards, the room has
 * previews on, its author (when local) has them on, the viewer (when given) has them on, and
 * the cache holds a page for the link.
 * @module
 */
import { and, eq, gt, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { actors, linkPreviews, type Message, rooms, users } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { previewableLinks } from "./links.ts";

/** One link's card, as the API and the stream show it. */
export interface PreviewCard {
  readonly url: string;
  readonly title: string | null;
  readonly description: string | null;
  readonly siteName: string | null;
  /** The image, served from our origin; null when the page had none (or it was refused). */
  readonly image: { readonly url: string; readonly width: number; readonly height: number } | null;
}

/** The card's API schema: it documents the field in the OpenAPI document. */
export const previewCardSchema = z.object({
  url: z.string().describe("The link, normalised (no fragment)"),
  title: z.string().nullable(),
  description: z.string().nullable(),
  siteName: z.string().nullable(),
  image: z
    .object({ url: z.string(), width: z.number(), height: z.number() })
    .nullable()
    .describe("A WebP of at most 400×400 made and served here; the page's server is never asked by the reader"),
});

/** Where a stored card image is served. */
export function previewImageUrl(deps: Pick<Deps, "config">, file: string): string {
  return `${deps.config.origin}/media/link-previews/${file}`;
}

/**
 * The links of each message that may get cards (the viewer aside), by message id: deleted
 * messages, removed cards, rooms and local authors with previews off have none.
 */
export async function eligibleLinks(
  deps: Pick<Deps, "config" | "db">,
  list: readonly Message[],
): Promise<Map<string, string[]>> {
  const candidates = list.flatMap((m) => {
    if (m.deletedAt || m.previewsRemovedAt || m.html === "") return [];
    const urls = previewableLinks(m.html, deps.config.origin);
    return urls.length ? [{ message: m, urls }] : [];
  });
  const result = new Map<string, string[]>();
  if (candidates.length === 0) return result;
  const roomIds = [...new Set(candidates.map((c) => c.message.roomId))];
  const authorIds = [...new Set(candidates.map((c) => c.message.authorId))];
  const [roomsOff, authorsOff] = await Promise.all([
    deps.db
      .select({ id: rooms.id })
      .from(rooms)
      .where(and(inArray(rooms.id, roomIds), eq(rooms.linkPreviews, false))),
    deps.db
      .select({ id: actors.id })
      .from(actors)
      .innerJoin(users, eq(users.id, actors.userId))
      .where(and(inArray(actors.id, authorIds), eq(users.linkPreviews, false))),
  ]);
  const off = new Set([...roomsOff, ...authorsOff].map((r) => r.id));
  for (const { message, urls } of candidates) {
    if (!off.has(message.roomId) && !off.has(message.authorId)) result.set(message.id, urls);
  }
  return result;
}

/** Whether a local user sees cards (remote viewers and nobody in particular do). */
export async function seesPreviews(deps: Pick<Deps, "db">, viewerId: string | null): Promise<boolean> {
  if (viewerId == null) return true;
  const [row] = await deps.db.select({ on: users.linkPreviews }).from(users).where(eq(users.id, viewerId));
  return row?.on ?? true;
}

/**
 * The cards of a page of messages for one viewer (null: for every member, as the stream
 * shows them; clients then apply their user's own setting), in a few queries for the page.
 * A card whose cache entry has expired still shows until it is fetched again.
 */
export async function previewCards(
  deps: Pick<Deps, "config" | "db">,
  list: readonly Message[],
  viewerId: string | null,
): Promise<Map<string, PreviewCard[]>> {
  const cards = new Map<string, PreviewCard[]>();
  if (!list.some((m) => m.html.includes("<a "))) return cards;
  if (!(await seesPreviews(deps, viewerId))) return cards;
  const links = await eligibleLinks(deps, list);
  const urls = [...new Set([...links.values()].flat())];
  if (urls.length === 0) return cards;
  const rows = await deps.db
    .select()
    .from(linkPreviews)
    .where(and(inArray(linkPreviews.url, urls), eq(linkPreviews.status, "ok")));
  const byUrl = new Map(rows.map((r) => [r.url, r]));
  for (const [messageId, messageUrls] of links) {
    const shown = messageUrls.flatMap((url): PreviewCard[] => {
      const row = byUrl.get(url);
      if (row == null) return [];
      const image =
        row.image && row.imageWidth && row.imageHeight
          ? { url: previewImageUrl(deps, row.image), width: row.imageWidth, height: row.imageHeight }
          : null;
      return [{ url, title: row.title, description: row.description, siteName: row.siteName, image }];
    });
    if (shown.length) cards.set(messageId, shown);
  }
  return cards;
}

/** Of these URLs, those the cache holds and has not let expire (fetched or failed). */
export async function freshUrls(deps: Pick<Deps, "db">, urls: readonly string[]): Promise<Set<string>> {
  if (urls.length === 0) return new Set();
  const rows = await deps.db
    .select({ url: linkPreviews.url })
    .from(linkPreviews)
    .where(and(inArray(linkPreviews.url, [...urls]), gt(linkPreviews.expiresAt, sql`now()`)));
  return new Set(rows.map((r) => r.url));
}
