/**
 * Verifying profile links the way Mastodon does: a field whose value is a web address is
 * verified when that page links back to the profile with `rel="me"` (an `<a>` or a `<link>`).
 * The page is fetched in the background through the bounded fetcher (public addresses only
 * unless `FEDERATION_ALLOW_PRIVATE_ADDRESS`, DNS pinned, each redirect checked, one deadline,
 * only HTML and only its first 512 KiB) and read with htmlparser2, which never runs or fetches
 * anything. Only local users' links are verified: another server's word that a link is
 * verified is not taken, and remote fields are shown unverified.
 * @module
 */
import { and, eq, isNull } from "drizzle-orm";
import { Parser } from "htmlparser2";
import { profileFields } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { logger } from "../log.ts";
import { fetchRemoteMedia } from "../media/remote.ts";
import { pageLimits } from "../previews/fetch.ts";
import { isHtml } from "../previews/parse.ts";
import { fieldLink, fieldsOf } from "./profile-fields.ts";

const log = logger("profile-links");

/** A URL as compared: without its fragment, and without a trailing slash on its path. */
function comparable(url: URL): string {
  const copy = new URL(url);
  copy.hash = "";
  return copy.href.replace(/\/$/, "");
}

/**
 * Whether a page has an `<a>` or `<link>` with `rel="me"` whose address (resolved against the
 * page's, or its `<base href>`) is one of `targets`.
 *
 * @param html The page's text.
 * @param pageUrl The page's URL after redirects.
 * @param targets The profile's addresses.
 */
export function linksBack(html: string, pageUrl: string, targets: readonly string[]): boolean {
  const wanted = new Set(targets.flatMap((t) => (URL.canParse(t) ? [comparable(new URL(t))] : [])));
  let base = pageUrl;
  let found = false;
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (name === "base" && attributes.href && URL.canParse(attributes.href, pageUrl)) {
          base = new URL(attributes.href, pageUrl).href;
        }
        if ((name !== "a" && name !== "link") || attributes.href == null) return;
        // `rel` is a set of space-separated tokens, compared ASCII case-insensitively.
        if (
          !(attributes.rel ?? "")
            .toLowerCase()
            .split(/[\t\n\f\r ]+/)
            .includes("me")
        )
          return;
        if (!URL.canParse(attributes.href.trim(), base)) return;
        if (wanted.has(comparable(new URL(attributes.href.trim(), base)))) found = true;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return found;
}

/** Decodes a page's bytes: the declared charset, else UTF-8 (addresses are ASCII either way). */
function decode(bytes: Uint8Array, contentType: string | undefined): string {
  const declared = /charset\s*=\s*["']?([\w.:-]+)/i.exec(contentType ?? "")?.[1];
  try {
    return new TextDecoder(declared ?? "utf-8").decode(bytes);
  } catch {
    return new TextDecoder("utf-8").decode(bytes);
  }
}

/**
 * Fetches each of an actor's unverified link fields and marks those whose page links back to
 * one of `targets`. A page that cannot be fetched, or does not link back, leaves its field
 * unverified; that is not an error.
 * @returns How many fields were verified now.
 */
export async function verifyProfileLinks(deps: Deps, actorId: string, targets: readonly string[]): Promise<number> {
  let verified = 0;
  for (const field of await fieldsOf(deps, actorId)) {
    const url = fieldLink(field.value);
    if (url == null || field.verifiedAt != null) continue;
    let page: Awaited<ReturnType<typeof fetchRemoteMedia>>;
    try {
      page = await fetchRemoteMedia(deps.config, url.href, {
        limits: pageLimits,
        accept: "text/html, application/xhtml+xml;q=0.9",
        acceptContentType: isHtml,
        truncate: true,
      });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      log.debug("Profile link {url} not fetched: {code}", { url: url.href, code: error.code });
      continue;
    }
    if (!linksBack(decode(page.bytes, page.contentType), page.finalUrl, targets)) continue;
    // Only if the field still says this (the user may have changed it meanwhile).
    const marked = await deps.db
      .update(profileFields)
      .set({ verifiedAt: new Date() })
      .where(
        and(eq(profileFields.actorId, actorId), eq(profileFields.value, field.value), isNull(profileFields.verifiedAt)),
      )
      .returning({ position: profileFields.position });
    verified += marked.length;
  }
  return verified;
}

/** One per process (`deps.profileLinks`): runs verifications in the background. */
export class ProfileLinkVerifier {
  readonly #jobs = new Set<Promise<void>>();

  /**
   * After a user's fields changed (committed): verifies their unverified links. Never delays
   * or fails the request that caused it.
   */
  verifyLater(deps: Deps, actorId: string, targets: readonly string[]): void {
    const job = verifyProfileLinks(deps, actorId, targets).then(
      () => {},
      (error: unknown) => log.warn("Verifying profile links failed: {error}", { error }),
    );
    this.#jobs.add(job);
    void job.finally(() => this.#jobs.delete(job));
  }

  /** Resolves once no verification is left (tests; shutdown). */
  async settled(): Promise<void> {
    while (this.#jobs.size > 0) await Promise.allSettled([...this.#jobs]);
  }
}
