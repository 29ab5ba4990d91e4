/**
 * Emoji in reactions: a reaction is one Unicode emoji or one custom emoji's `:shortcode:`.
 *
 * Unicode's own list decides what an emoji is: `\p{RGI_Emoji}` (a `v`-flag property of
 * strings, in V8 since Node 20 and in Deno) matches exactly the fully-qualified emoji and
 * sequences that Unicode recommends for general interchange, keycaps, flags, skin tones and
 * ZWJ sequences included.
 */

const rgiEmoji = /^\p{RGI_Emoji}$/v;
// `:name:`, or `:name@host:` for another server's emoji (Misskey's form; the host may have a port).
const shortcode = /^:([a-zA-Z0-9_+-]{1,64})(?:@([a-z0-9.-]{1,253}(?::[0-9]{1,5})?))?:$/;
const variationSelector16 = "\uFE0F";
/** Longer than any RGI emoji (the longest are about 35 UTF-16 units); saves regex work. */
const maxEmojiLength = 64;

/**
 * A reaction: a Unicode emoji, or a custom emoji by its shortcode (without colons) and, for
 * another server's, that server's host.
 */
export type ReactionKey = { kind: "unicode"; emoji: string } | { kind: "custom"; shortcode: string; host?: string };

/**
 * Whether a string is exactly one fully-qualified RGI emoji (`👍`, `👍🏽`, `1️⃣`, `🇫🇷`,
 * `👨‍👩‍👧`, `🏳️‍🌈`): not text, not two emoji, not an emoji with anything before or after it,
 * not a bare variation selector, not a digit, not an unqualified `❤` (`❤️` is one).
 *
 * @param value The string to check, as it is (not normalised, not trimmed).
 */
export function isEmoji(value: string): boolean {
  return value.length <= maxEmojiLength && rgiEmoji.test(value);
}

/**
 * Reads a reaction key, such as the `:emoji` path segment (already percent-decoded) or a
 * reaction's content from another server.
 *
 * `:name:` (name of 1–64 of `a-zA-Z0-9_+-`) is a custom emoji, `:name@host:` another
 * server's (lowercase host, optional port). Anything else must be one
 * emoji: it is put in NFC, and an emoji that arrives without its variation selector (`❤`, as
 * several fediverse servers send it) or with a needless one (`😀` followed by U+FE0F) is
 * given its fully-qualified form, so that one reaction always has one key.
 *
 * @param value The key.
 * @returns The reaction, or `undefined` when the key is neither.
 */
export function parseReactionKey(value: string): ReactionKey | undefined {
  const custom = shortcode.exec(value);
  if (custom?.[1] != null) {
    return custom[2]
      ? { kind: "custom", shortcode: custom[1], host: custom[2] }
      : { kind: "custom", shortcode: custom[1] };
  }
  if (value.length === 0 || value.length > maxEmojiLength) return undefined;
  const normalized = value.normalize("NFC");
  for (const candidate of qualifiedForms(normalized)) {
    if (isEmoji(candidate)) return { kind: "unicode", emoji: candidate };
  }
  return undefined;
}

/** The string itself, then with variation selector 16 added after its first character and/or removed. */
function qualifiedForms(value: string): string[] {
  const bare = value.replaceAll(variationSelector16, "");
  if (bare === "") return [value];
  const first = String.fromCodePoint(bare.codePointAt(0) ?? 0);
  const withSelector = `${first}${variationSelector16}${bare.slice(first.length)}`;
  return [value, bare, withSelector];
}

/** A reaction's key as stored: the emoji itself, `:name:` or `:name@host:`. */
export function reactionKeyText(key: ReactionKey): string {
  if (key.kind === "unicode") return key.emoji;
  return key.host ? `:${key.shortcode}@${key.host}:` : `:${key.shortcode}:`;
}
