/**
 * Custom emoji on the wire: Mastodon's `Emoji` tags (`{type: "Emoji", name: ":blob:", icon:
 * {type: "Image", mediaType, url}}`), which Misskey, Pleroma, Akkoma and GoToSocial send and
 * read too, on notes, actors and reactions. Misskey also names a `Like`'s emoji in
 * `_misskey_reaction`; Pleroma and Akkoma send `EmojiReact` with the emoji in `content`.
 */
import type { Context } from "@fedify/fedify";
import { type Object as APObject, Emoji, type EmojiReact, Image, type Like } from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import type { Deps } from "../src/deps.ts";
import {
  acceptableImageUrl,
  type EmojiTag,
  learnRemoteEmoji,
  maxEmojiTags,
  tagShortcode,
} from "../src/emoji/remote.ts";
import { incomingReactionKey, type OutgoingEmoji } from "../src/emoji/usage.ts";

/**
 * A document loader that fetches nothing: what an object does not embed (a tag given as a bare
 * IRI, an emoji's icon) is not looked up, so one object cannot make us fetch 50 documents.
 */
export const embeddedOnly = async (): Promise<never> => {
  throw new Error("Not fetched: tags and emoji icons must be embedded.");
};

/** One of our `Emoji` tags. */
export function emojiObject(emoji: OutgoingEmoji): Emoji {
  return new Emoji({
    name: emoji.name,
    icon: new Image({ url: new URL(emoji.url), mediaType: emoji.mediaType }),
    updated: Temporal.Instant.fromEpochMilliseconds(emoji.updated.getTime()),
  });
}

/** The `Emoji` tags of an object (a note, an actor, a reaction), at most {@link maxEmojiTags}. */
export async function emojiTagsOf(object: APObject): Promise<EmojiTag[]> {
  const tags: EmojiTag[] = [];
  let count = 0;
  for await (const tag of object.getTags({ documentLoader: embeddedOnly, suppressError: true })) {
    if (++count > 50 || tags.length >= maxEmojiTags) break;
    if (!(tag instanceof Emoji)) continue;
    const name = tag.name?.toString();
    // Only an embedded icon: an emoji whose image needs another fetch to find is not shown.
    const icon = await tag.getIcon({ documentLoader: embeddedOnly, suppressError: true }).catch(() => null);
    const url = icon?.url instanceof URL ? icon.url.href : icon?.url?.href?.href;
    if (name == null || url == null || !acceptableImageUrl(url)) continue;
    tags.push({ name, url, mediaType: icon?.mediaType ?? null });
  }
  return tags;
}

/**
 * Remembers the emoji an object from another server names (its author's server's).
 * @param host The host of the object's author.
 */
export async function learnEmojiOf(deps: Deps, host: string, object: APObject): Promise<void> {
  const tags = await emojiTagsOf(object);
  if (tags.length > 0) await learnRemoteEmoji(deps, host, tags);
}

/**
 * The reaction key of a custom emoji reaction: `:blob:` (ours) or `:blob@host:`, with the
 * emoji it names remembered. Reads `content`, else Misskey's `_misskey_reaction`.
 * @param shortcode The shortcode the reaction's `content` named, if it did.
 * @returns undefined when the reaction names no custom emoji.
 */
export async function customReactionKey(
  ctx: Context<Deps>,
  reaction: Like | EmojiReact,
  shortcode: string | undefined,
): Promise<string | undefined> {
  const deps = ctx.data;
  let name = shortcode;
  if (name == null) {
    // Misskey before it sent `content` too: the reaction only in its own property.
    const raw = (await reaction.toJsonLd({ contextLoader: ctx.contextLoader }).catch(() => null)) as Record<
      string,
      unknown
    > | null;
    const misskey = raw?._misskey_reaction;
    name = typeof misskey === "string" ? tagShortcode(misskey.replace(/@[^:]*:$/, ":")) : undefined;
    if (name == null) return undefined;
  }
  const actor = reaction.actorId;
  if (actor == null) return undefined;
  const local = actor.origin === new URL(deps.config.origin).origin;
  const tags = await emojiTagsOf(reaction);
  const tag = tags.find((t) => tagShortcode(t.name)?.toLowerCase() === name.toLowerCase());
  if (!local && tag) await learnRemoteEmoji(deps, actor.host, [tag]);
  return await incomingReactionKey(deps, name, local ? null : actor.host, tag?.url);
}
