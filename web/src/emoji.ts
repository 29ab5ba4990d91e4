/** The reaction picker's emoji, with words to search by, and the user's recent choices. */

const emojiList: readonly (readonly [string, string])[] = [
  ["👍", "thumbs up yes like approve +1"],
  ["👎", "thumbs down no dislike -1"],
  ["❤️", "heart love red"],
  ["😂", "joy laugh tears lol"],
  ["🤣", "rofl rolling laugh"],
  ["😀", "grin smile happy"],
  ["😊", "blush smile happy"],
  ["🙂", "slight smile"],
  ["😉", "wink"],
  ["😍", "heart eyes love"],
  ["🥰", "smiling hearts love"],
  ["😘", "kiss"],
  ["😎", "cool sunglasses"],
  ["🤔", "thinking hmm"],
  ["🙃", "upside down"],
  ["😅", "sweat smile relief"],
  ["😬", "grimace awkward"],
  ["😮", "open mouth wow surprised"],
  ["😱", "scream shock"],
  ["😢", "cry sad tear"],
  ["😭", "sob cry loud"],
  ["😡", "angry rage mad"],
  ["🤯", "mind blown exploding"],
  ["🥳", "party celebrate"],
  ["😴", "sleep tired zzz"],
  ["🤗", "hug"],
  ["🙄", "eye roll"],
  ["😇", "angel innocent"],
  ["🤝", "handshake deal"],
  ["🙏", "pray thanks please"],
  ["👏", "clap applause"],
  ["🙌", "raised hands hooray"],
  ["👋", "wave hello bye"],
  ["💪", "muscle strong"],
  ["👀", "eyes look see"],
  ["🤷", "shrug dunno"],
  ["🤦", "facepalm"],
  ["✅", "check done yes"],
  ["❌", "cross no wrong"],
  ["⚠️", "warning caution"],
  ["❓", "question"],
  ["❗", "exclamation"],
  ["💯", "hundred perfect"],
  ["🔥", "fire hot lit"],
  ["✨", "sparkles shiny"],
  ["⭐", "star"],
  ["🎉", "tada party celebration"],
  ["🎂", "cake birthday"],
  ["🚀", "rocket launch ship"],
  ["💡", "idea bulb"],
  ["🐛", "bug"],
  ["🔧", "wrench fix tool"],
  ["📌", "pin"],
  ["📎", "paperclip attach"],
  ["📅", "calendar date"],
  ["⏰", "alarm clock time"],
  ["☕", "coffee tea"],
  ["🍕", "pizza food"],
  ["🍺", "beer drink"],
  ["🌈", "rainbow"],
  ["☀️", "sun sunny"],
  ["🌧️", "rain cloud"],
  ["❄️", "snow cold"],
  ["🐱", "cat"],
  ["🐶", "dog"],
  ["🦊", "fox"],
  ["🐘", "elephant mastodon"],
  ["🦄", "unicorn"],
  ["💚", "green heart"],
  ["💙", "blue heart"],
  ["💜", "purple heart"],
  ["🖤", "black heart"],
  ["💔", "broken heart"],
  ["😏", "smirk"],
  ["🤐", "zipper mouth secret"],
  ["🫡", "salute"],
  ["🫠", "melting"],
  ["💀", "skull dead"],
  ["👻", "ghost"],
  ["🤖", "robot bot"],
  ["🎵", "music note"],
  ["📢", "loudspeaker announce"],
  ["🔒", "lock private"],
  ["🔗", "link"],
];

const recentKey = "fedchat.recentEmoji";

/** The user's most recent reactions, newest first (at most 8). */
export function recentEmoji(): string[] {
  try {
    const value = JSON.parse(localStorage.getItem(recentKey) ?? "[]") as unknown;
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string").slice(0, 8) : [];
  } catch {
    return [];
  }
}

export function rememberEmoji(emoji: string): void {
  try {
    localStorage.setItem(recentKey, JSON.stringify([emoji, ...recentEmoji().filter((e) => e !== emoji)].slice(0, 8)));
  } catch {
    // storage unavailable: nothing to remember
  }
}

/** Emoji whose words start with the query (or which are the query). */
export function searchEmoji(query: string): string[] {
  const q = query.trim().toLowerCase();
  if (!q) return emojiList.map(([e]) => e);
  return emojiList.filter(([e, words]) => e === q || words.split(" ").some((w) => w.startsWith(q))).map(([e]) => e);
}
