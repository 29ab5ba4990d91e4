/**
 * Reads what a page says about itself from the start of its HTML: Open Graph (`og:*`), Twitter
 * card (`twitter:*`) and plain HTML (`<title>`, `<meta name="description">`), through
 * htmlparser2, which reads broken markup as browsers do and never runs or fetches anything.
 * @module
 */
import { Parser } from "htmlparser2";
import { cleanName, codePointLength, storableText, truncate } from "../text.ts";
import { normaliseUrl } from "./links.ts";

/** What a card shows, before its image is fetched. */
export interface PageMeta {
  readonly title: string | null;
  readonly description: string | null;
  readonly siteName: string | null;
  /** The image's absolute http(s) URL, resolved against the page's. */
  readonly imageUrl: string | null;
}

/** Longest kept strings, in code points; longer ones are cut with an ellipsis. */
export const metaLimits = { title: 200, description: 400, siteName: 80 } as const;

/** Whether a declared `Content-Type` is a page we read (HTML or XHTML). */
export function isHtml(contentType: string | undefined): boolean {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  return type === "text/html" || type === "application/xhtml+xml";
}

/**
 * The page's character encoding: the `Content-Type` header's, else a `<meta charset>` (or its
 * `http-equiv` form) in the first 1024 bytes, as the HTML standard's prescan looks, else UTF-8.
 */
function charsetOf(bytes: Uint8Array, contentType: string | undefined): string {
  const declared = /charset\s*=\s*["']?([\w.:-]+)/i.exec(contentType ?? "")?.[1];
  if (declared) return declared;
  const head = Buffer.from(bytes.subarray(0, 1024)).toString("latin1");
  return /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1] ?? "utf-8";
}

function decode(bytes: Uint8Array, contentType: string | undefined): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charsetOf(bytes, contentType));
  } catch {
    // An encoding the platform does not know: UTF-8, with U+FFFD for what does not fit.
    decoder = new TextDecoder("utf-8");
  }
  return decoder.decode(bytes);
}

/** One line of text from a page: invisible and control characters gone, trimmed, capped. */
function clean(value: string | undefined, max: number): string | null {
  if (value == null) return null;
  const text = cleanName(storableText(value));
  if (text === "") return null;
  return codePointLength(text) > max ? `${truncate(text, max - 1).trimEnd()}…` : text;
}

/**
 * Reads a page's card from (the start of) its bytes.
 * @param bytes The body, possibly cut: the `<head>` is what matters and an unclosed tag is fine.
 * @param contentType The declared `Content-Type` (for its charset).
 * @param pageUrl The page's URL after redirects: relative image URLs resolve against it (or
 *   against `<base href>`).
 */
export function readPageMeta(bytes: Uint8Array, contentType: string | undefined, pageUrl: string): PageMeta {
  const meta = new Map<string, string>();
  let title: string | undefined;
  let inTitle = false;
  let titleText = "";
  let inSvg = 0;
  let inBody = false;
  let base = pageUrl;
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        // Cards are in the head: once the body starts, the rest is not read (see below).
        if (name === "body") inBody = true;
        if (name === "svg") inSvg++;
        if (name === "title" && inSvg === 0 && title == null) inTitle = true;
        if (name === "base" && attributes.href) {
          try {
            base = new URL(attributes.href, pageUrl).href;
          } catch {
            // A base that is no URL is ignored, as browsers do.
          }
        }
        if (name !== "meta" || attributes.content == null) return;
        // Open Graph uses `property`, Twitter cards and plain HTML `name`; pages mix them up.
        const key = (attributes.property ?? attributes.name ?? attributes.itemprop)?.trim().toLowerCase();
        if (key && !meta.has(key)) meta.set(key, attributes.content);
      },
      ontext(text) {
        if (inTitle) titleText += text;
      },
      onclosetag(name) {
        if (name === "svg") inSvg = Math.max(0, inSvg - 1);
        if (name === "title" && inTitle) {
          inTitle = false;
          title = titleText;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  // Fed in slices so that reading stops soon after <body>: a 512 KiB page costs its head, not
  // all of its markup (tens of milliseconds of the event loop each).
  const text = decode(bytes, contentType);
  for (let at = 0; at < text.length && !inBody; at += 8192) parser.write(text.slice(at, at + 8192));
  parser.end();
  const first = (...keys: string[]) => keys.map((k) => meta.get(k)).find((v) => v != null && v.trim() !== "");
  const image = first("og:image:secure_url", "og:image", "og:image:url", "twitter:image", "twitter:image:src");
  let imageUrl: string | null = null;
  if (image) {
    try {
      imageUrl = normaliseUrl(new URL(image.trim(), base).href) ?? null;
    } catch {
      imageUrl = null;
    }
  }
  return {
    title: clean(first("og:title", "twitter:title") ?? title ?? (inTitle ? titleText : undefined), metaLimits.title),
    description: clean(first("og:description", "twitter:description", "description"), metaLimits.description),
    siteName: clean(first("og:site_name", "application-name"), metaLimits.siteName),
    imageUrl,
  };
}
