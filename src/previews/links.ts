/**
 * Which links of a message get preview cards: read from the message's rendered HTML (our own
 * sanitised markup, for local and remote messages alike), so the links are exactly those a
 * reader sees.
 * @module
 */
import { Parser } from "htmlparser2";

/** The first links of a message get cards; the rest do not. */
export const maxPreviewsPerMessage = 3;

/** Longer URLs are not previewed (nor stored as cache keys). */
const maxUrlLength = 2048;

/**
 * The URL as the cache knows it: http(s) only, without credentials or fragment (the page is
 * the same whatever the fragment), host lowercased and default port dropped (the URL parser
 * does both).
 * @returns The normalised URL, or undefined for one that is never previewed.
 */
export function normaliseUrl(href: string): string | undefined {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.username || url.password) return undefined;
  url.hash = "";
  return url.href.length <= maxUrlLength ? url.href : undefined;
}

/**
 * The first {@link maxPreviewsPerMessage} distinct links of a message's HTML, normalised.
 * Mentions and links to this server are not previewed: they are people and rooms, shown as such.
 */
export function previewableLinks(html: string, origin: string): string[] {
  const found: string[] = [];
  const parser = new Parser({
    onopentag(name, attributes) {
      if (name !== "a" || found.length >= maxPreviewsPerMessage) return;
      if (attributes.class === "mention" || attributes.href == null) return;
      const url = normaliseUrl(attributes.href);
      if (url == null || new URL(url).origin === origin || found.includes(url)) return;
      found.push(url);
    },
  });
  parser.end(html);
  return found;
}
