/**
 * The JSON-LD contexts the fediverse puts in its documents, answered from memory: no context
 * is ever fetched, at inbox time or any other. A context named by a URL the sender chooses
 * would be fetched from that sender (or from a dead instance, whose context never loads and
 * whose every activity would then be refused), once per document it is not cached for.
 *
 * Known contexts are Fedify's preloaded set (ActivityStreams, security, data integrity,
 * Multikey, Mastodon's `toot`, Lemmy's, GoToSocial's, ...), their `http:` and trailing-slash
 * spellings, and the LitePub context that Pleroma, Akkoma and Mobilizon serve from each
 * instance. Any other context is read as empty: the terms of the ActivityStreams context,
 * which every activity also names, still parse, and a term only the unknown context defines
 * is dropped, as a program that does not know it would.
 */
import { type DocumentLoader, preloadedContexts, type RemoteDocument } from "@fedify/fedify";
import { logger } from "../src/log.ts";

const log = logger("contexts");

type ContextDocument = { "@context": unknown };

/**
 * What Pleroma and Akkoma serve at `https://<instance>/schemas/litepub-0.1.jsonld` (and
 * Mobilizon at `https://litepub.social/litepub/context.jsonld`): ActivityStreams, security
 * v1, and the LitePub, Mastodon and schema.org terms they use.
 *
 * One deliberate difference: an `Emoji`'s `id` is read as a plain property. Akkoma sends a
 * custom emoji's tag with `"id": null`, which JSON-LD refuses as a node identifier (the whole
 * activity would fail to parse); nothing here needs an emoji's id, only its name and icon.
 */
const litepub: ContextDocument = {
  "@context": [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    {
      litepub: "http://litepub.social/ns#",
      toot: "http://joinmastodon.org/ns#",
      ostatus: "http://ostatus.org#",
      schema: "http://schema.org#",
      misskey: "https://misskey-hub.net/ns#",
      fedibird: "http://fedibird.com/ns#",
      ChatMessage: "litepub:ChatMessage",
      EmojiReact: "litepub:EmojiReact",
      Emoji: { "@id": "toot:Emoji", "@context": { id: { "@id": "litepub:emojiId", "@type": "@id" } } },
      Hashtag: "as:Hashtag",
      PropertyValue: "schema:PropertyValue",
      value: "schema:value",
      sensitive: "as:sensitive",
      manuallyApprovesFollowers: "as:manuallyApprovesFollowers",
      discoverable: "toot:discoverable",
      atomUri: "ostatus:atomUri",
      conversation: { "@id": "ostatus:conversation", "@type": "@id" },
      directMessage: "litepub:directMessage",
      invisible: "litepub:invisible",
      listMessage: { "@id": "litepub:listMessage", "@type": "@id" },
      capabilities: "litepub:capabilities",
      quoteUrl: "as:quoteUrl",
      quoteUri: "fedibird:quoteUri",
      alsoKnownAs: { "@id": "as:alsoKnownAs", "@type": "@id" },
      formerRepresentations: "litepub:formerRepresentations",
    },
  ],
};

const empty: ContextDocument = { "@context": {} };

/** The known contexts by URL, spelling variants included. */
const known = new Map<string, ContextDocument>();
for (const [url, document] of Object.entries(preloadedContexts)) {
  const variants = [url, url.replace(/^https:/, "http:"), url.replace(/^http:/, "https:")];
  for (const variant of variants.flatMap((u) => (u.endsWith("/") ? [u, u.slice(0, -1)] : [u, `${u}/`]))) {
    if (!known.has(variant)) known.set(variant, document as ContextDocument);
  }
}
known.set("https://litepub.social/litepub/context.jsonld", litepub);

/** The context a URL names: known, LitePub by its per-instance path, or empty. */
export function contextDocument(url: string): ContextDocument | undefined {
  const bare = url.split("#")[0] ?? url;
  const found = known.get(bare);
  if (found) return found;
  let parsed: URL;
  try {
    parsed = new URL(bare);
  } catch {
    return undefined;
  }
  if (parsed.pathname === "/schemas/litepub-0.1.jsonld") return litepub;
  return undefined;
}

/** Unknown context URLs already logged (bounded, so a sender cannot grow it without end). */
const reported = new Set<string>();

/**
 * The context loader of every JSON-LD operation of this server (see the module's comment).
 * Never fetches: a known context from memory, anything else as an empty context.
 */
export const contextLoader: DocumentLoader = async (url: string): Promise<RemoteDocument> => {
  const document = contextDocument(url);
  if (document == null && reported.size < 1_000 && !reported.has(url)) {
    reported.add(url);
    log.debug("The unknown JSON-LD context {url} is read as empty.", { url });
  }
  return { contextUrl: null, documentUrl: url, document: document ?? empty };
};
