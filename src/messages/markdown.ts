/**
 * The text of chat messages: a small Markdown subset rendered to sanitised HTML, mentions, and
 * the short excerpts used for reply quotes and notifications (from plain-text.ts).
 *
 * Rendering is done by markdown-it with raw HTML off and only the rules a chat needs; its
 * output then goes through sanitize-html with a strict allowlist, so a mistake in one layer
 * (ours or a library's) does not become script in someone's browser.
 */
import markdownIt, { type Env, type MarkdownIt, type StateInline } from "markdown-it";
import sanitizeHtml from "sanitize-html";
import { plainText } from "./plain-text.ts";
import { normaliseToneIndicators, toneIndicatorPlugin } from "./tone-indicators.ts";

/** A mention that {@link RenderOptions.resolveMention} recognised. */
export interface Mention {
  /** The username, lowercased. */
  username: string;
  /** The host as written (lowercased), or `undefined` for a local mention. */
  host: string | undefined;
  /** Where the mention links to. */
  url: string;
  /** The handle shown after the `@`. */
  handle: string;
}

/** How {@link renderMessage} resolves mentions. */
export interface RenderOptions {
  /**
   * This server's origin. A mention of a user at this origin's host (`@alice@our.host`) is
   * resolved as a local one: `resolveMention` is given `host` `undefined`.
   */
  origin: string;
  /**
   * Looks a mentioned user up: given the lowercased username and the lowercased host (or
   * `undefined` for a local mention), returns where to link and the handle to show, or
   * `undefined` to leave the text as it is. Called at most once per username and host in a
   * message.
   */
  resolveMention: (username: string, host: string | undefined) => { url: string; handle: string } | undefined;
}

/** The rendered message. */
export interface RenderedMessage {
  /** Sanitised HTML. */
  html: string;
  /** The resolved mentions, without repeats (by handle), in order of first appearance. */
  mentions: Mention[];
}

/** What a render carries through markdown-it (its `env`). */
interface RenderEnv extends Env {
  ownHost: string | undefined;
  resolve: RenderOptions["resolveMention"] | undefined;
  cache: Map<string, { url: string; handle: string } | undefined>;
  mentions: Mention[];
}

/** The tags the output may contain, and their attributes. */
const allowedTags = [
  "p",
  "br",
  "strong",
  "em",
  "s",
  "code",
  "pre",
  "a",
  "ul",
  "ol",
  "li",
  "blockquote",
  "span",
  "abbr",
];
const linkRel = "nofollow noopener noreferrer ugc";
const languagePattern = /^[a-z0-9+#-]{1,20}$/i;

/** A username in a mention (the same shape as our usernames; see src/accounts/usernames.ts). */
const usernamePattern = /[a-z0-9_]{3,32}/iy;
/** A DNS name (labels of letters, digits and inner hyphens), with an optional port. */
const hostPattern =
  /(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?/iy;
/**
 * A mention must not continue a word, an address or a URL: `bob@example.com`, `a.b/@c`,
 * `x=@y` are not mentions.
 */
const notBeforeMention = /[\p{L}\p{N}\p{M}_@./:+=%&#-]$/u;
/** What may not follow a mention: more of a name (`@dev-chat` is a room, not user `dev`). */
const notAfterMention = /[\p{L}\p{N}\p{M}_@-]/u;

/** Whether a link's (normalised) address is one we link to: http(s) with a host, or mailto. */
function isAllowedUrl(url: string): boolean {
  // The raw text must start with the scheme itself, so that nothing the URL parser would skip
  // (spaces, tabs, newlines, control characters) can hide another scheme.
  if (!/^(?:https?:\/\/|mailto:)/i.test(url)) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === "mailto:") return true;
  return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname !== "";
}

function createRenderer(): MarkdownIt {
  const md = markdownIt("default", {
    html: false,
    linkify: true,
    typographer: false,
    // A single newline is a line break, as in every chat client.
    breaks: true,
    xhtmlOut: false,
    // Deep nesting is abuse, not formatting; markdown-it stops nesting at this depth.
    maxNesting: 20,
  });
  // Not in the subset: headings, tables, rules, raw HTML, images, and link reference
  // definitions (which would swallow a line that looks like `[x]: y`). Each stays literal text;
  // `![x](https://y)` becomes `!` followed by a link.
  md.disable(["heading", "lheading", "table", "hr", "html_block", "reference", "html_inline", "image"]);
  // Only addresses with a scheme are linked: bare names such as `main.py` or `notes.md` are
  // file names far more often than sites in a chat. Mail addresses are still linked (mailto:).
  md.linkify.set({ fuzzyLink: false, fuzzyEmail: true, fuzzyIP: false });
  md.linkify.add("//", null).add("ftp:", null);
  md.validateLink = isAllowedUrl;

  md.inline.ruler.before("emphasis", "mention", (state, silent) => {
    // Only ever a single token with no brackets or backticks inside, so skipping it as text
    // while scanning a link label (silent mode) finds the same label end.
    if (silent || state.linkLevel > 0) return false;
    const src = state.src;
    const start = state.pos;
    if (src.charCodeAt(start) !== 0x40 /* @ */) return false;
    // Two code units, so that a letter outside the BMP is seen whole.
    if (notBeforeMention.test(src.slice(Math.max(0, start - 2), start))) return false;
    usernamePattern.lastIndex = start + 1;
    const user = usernamePattern.exec(src);
    if (user == null) return false;
    let end = start + 1 + user[0].length;
    let host: string | undefined;
    if (src[end] === "@") {
      hostPattern.lastIndex = end + 1;
      const hostMatch = hostPattern.exec(src);
      if (hostMatch == null || hostMatch[0].length > 253) return false;
      host = hostMatch[0].toLowerCase();
      end += 1 + hostMatch[0].length;
    }
    if (end < state.posMax && notAfterMention.test(String.fromCodePoint(src.codePointAt(end) ?? 0))) return false;
    const env = state.env as RenderEnv;
    if (host != null && host === env.ownHost) host = undefined;
    const resolved = resolveOnce(env, user[0].toLowerCase(), host);
    if (resolved == null) return false;
    const token = state.push("mention", "a", 0);
    token.meta = resolved;
    state.pos = end;
    return true;
  });

  // markdown-it's text rule swallows `|` (it is no marker of its own), so ours stops there too.
  md.inline.ruler.at("text", textRule);
  md.inline.ruler.before("emphasis", "spoiler", spoilerRule);
  md.renderer.rules.spoiler_open = () => '<span class="spoiler">';
  md.renderer.rules.spoiler_close = () => "</span>";
  md.use(toneIndicatorPlugin);

  const escapeHtml = md.utils.escapeHtml;
  md.renderer.rules.mention = (tokens, idx) => {
    const meta = tokens[idx]?.meta as { url: string; handle: string } | null | undefined;
    if (meta == null) return "";
    const { url, handle } = meta;
    return `<a class="mention" href="${escapeHtml(url)}" rel="${linkRel}">@${escapeHtml(handle)}</a>`;
  };
  md.renderer.rules.link_open = (tokens, idx) => {
    const href = String(tokens[idx]?.attrGet("href") ?? "");
    return `<a href="${escapeHtml(href)}" rel="${linkRel}" target="_blank">`;
  };
  md.renderer.rules.fence = (tokens, idx) => {
    const token = tokens[idx];
    if (token == null) return "";
    const language = md.utils.unescapeAll(token.info).trim().split(/\s+/)[0] ?? "";
    const attribute = languagePattern.test(language) ? ` class="language-${escapeHtml(language)}"` : "";
    return `<pre><code${attribute}>${escapeHtml(token.content)}</code></pre>\n`;
  };
  return md;
}

/** The characters that may start some inline rule; a run of anything else is plain text. */
const inlineMarkers = /[\n!#$%&*+\-:<=@[\\\]^_`{}~|]/g;

/** Plain text up to the next character that may start an inline rule (`|` included). */
function textRule(state: StateInline, silent: boolean): boolean {
  inlineMarkers.lastIndex = state.pos;
  const next = inlineMarkers.exec(state.src);
  const end = next == null || next.index > state.posMax ? state.posMax : next.index;
  if (end === state.pos) return false;
  if (!silent) state.pending += state.src.slice(state.pos, end);
  state.pos = end;
  return true;
}

/**
 * `||hidden||`: a spoiler, as in Discord. Markup is a plain `<span class="spoiler">` so that a
 * server that does not know it keeps the text readable (see FEDERATION.md); the client hides it
 * until it is activated. Its content is parsed as inline Markdown up to the next `||` on the
 * same paragraph; an unclosed or empty `||` stays literal text.
 */
function spoilerRule(state: StateInline, silent: boolean): boolean {
  // In silent mode (scanning a link label) the markers are plain text: one character each, so
  // the label ends where it would without this rule.
  if (silent) return false;
  const start = state.pos;
  const src = state.src;
  if (src.charCodeAt(start) !== 0x7c || src.charCodeAt(start + 1) !== 0x7c) return false;
  const close = src.indexOf("||", start + 2);
  // Nothing between the markers (`||||`), or no end before the paragraph's: text.
  if (close < 0 || close >= state.posMax || close === start + 2) return false;
  const oldMax = state.posMax;
  state.push("spoiler_open", "span", 1);
  state.pos = start + 2;
  state.posMax = close;
  state.md.inline.tokenize(state);
  state.pos = close + 2;
  state.posMax = oldMax;
  state.push("spoiler_close", "span", -1);
  return true;
}

/** Calls the resolver at most once per username and host, and records what it recognised. */
function resolveOnce(env: RenderEnv, username: string, host: string | undefined) {
  const key = host == null ? username : `${username}@${host}`;
  if (env.cache.has(key)) return env.cache.get(key);
  const answer = env.resolve?.(username, host);
  // A resolver that hands back something other than a web address gets no link from us.
  const resolved = answer != null && /^https?:\/\//i.test(answer.url) && isAllowedUrl(answer.url) ? answer : undefined;
  env.cache.set(key, resolved);
  if (resolved != null && !env.mentions.some((m) => m.handle === resolved.handle)) {
    env.mentions.push({ username, host, url: resolved.url, handle: resolved.handle });
  }
  return resolved;
}

const md = createRenderer();

/** The second line of defence: only the subset's tags, attributes, classes and schemes. */
const sanitizeOptions: sanitizeHtml.IOptions = {
  allowedTags,
  allowedAttributes: {
    a: ["href", "rel", "target", "class"],
    abbr: ["class", "title"],
    code: ["class"],
    ol: ["start"],
    span: ["class"],
  },
  allowedClasses: { a: ["mention"], abbr: ["tone"], code: [/^language-[a-z0-9+#-]{1,20}$/i], span: ["spoiler"] },
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesByTag: {},
  allowedSchemesAppliedToAttributes: ["href"],
  allowProtocolRelative: false,
  allowVulnerableTags: false,
  // Anything unexpected is shown, not run and not silently dropped.
  disallowedTagsMode: "escape",
  transformTags: {
    // A span is kept only as a spoiler; any other (Mastodon's `h-card`, `invisible`) loses its
    // attributes here and its tags in unwrapSpans, and its text stays.
    // (Renaming it to a disallowed tag would be neater, but sanitize-html then closes a later
    // tag at the same depth with the new name; unwrapSpans does it after.)
    span: (tagName, attribs) => {
      const out: sanitizeHtml.Attributes = attribs.class === "spoiler" ? { class: "spoiler" } : {};
      return { tagName, attribs: out };
    },
    // An abbr is kept only as a tone indicator, whose title normaliseToneIndicators rewrites.
    abbr: (tagName, attribs) => {
      const out: sanitizeHtml.Attributes = attribs.class === "tone" ? { class: "tone", title: "tone" } : {};
      return { tagName, attribs: out };
    },
    // Whatever produced the link, it carries our rel, and opens elsewhere unless a mention.
    a: (tagName, attribs) => {
      const href = attribs.href ?? "";
      const out: sanitizeHtml.Attributes =
        attribs.class === "mention"
          ? { class: "mention", href, rel: linkRel }
          : { href, rel: linkRel, target: "_blank" };
      return { tagName, attribs: out };
    },
  },
};

/**
 * Removes the tags of spans that are not spoilers, keeping their content. Safe on
 * sanitize-html's output only: there every tag is balanced and `<` never occurs but in a tag.
 */
function unwrapSpans(html: string): string {
  const kept: boolean[] = [];
  return html.replace(/<span( class="spoiler")?>|<\/span>/g, (tag, spoiler: string | undefined) => {
    if (tag === "</span>") return kept.pop() ? tag : "";
    kept.push(spoiler != null);
    return spoiler != null ? tag : "";
  });
}

/**
 * Sanitises a message's HTML from another server with the same allowlist. Unknown elements
 * (Mastodon's `<span class="h-card">`, say) are dropped but their text stays.
 */
export function sanitizeRemoteHtml(html: string): string {
  return clean(sanitizeHtml(html, { ...sanitizeOptions, disallowedTagsMode: "discard" }));
}

/** The last pass over sanitize-html's output: only spoiler spans and known tone indicators. */
function clean(html: string): string {
  return normaliseToneIndicators(unwrapSpans(html)).trim();
}

function render(source: string, env: RenderEnv): string {
  return clean(sanitizeHtml(md.render(source, env), sanitizeOptions));
}

/**
 * Renders a chat message's Markdown source to sanitised HTML and collects its mentions.
 *
 * The subset: paragraphs, line breaks (a single newline is `<br>`), `**bold**`, `*italic*`,
 * `~~strikethrough~~`, `||spoiler||` (`<span class="spoiler">`), tone indicators at the end of
 * a clause (`lol /j` gives `<abbr class="tone" title="joking">/j</abbr>`; tone-indicators.ts), `` `code` ``, fenced and indented code blocks, links (`[text](url)`,
 * `<url>` and bare `http(s)://` / `mailto:` addresses, plus mail addresses), lists and block
 * quotes. Headings, tables, rules, images and raw HTML stay literal text (`![a](u)` is `!` and a
 * link). Only http, https and mailto links are made; anything else stays text.
 *
 * Mentions are `@user` (local) and `@user@host`; they become links when `resolveMention`
 * recognises them, never inside code, link text or addresses, nor after a word character
 * (`bob@example.com`).
 *
 * @param source The Markdown source.
 * @param options This server's origin and the mention resolver.
 * @returns The HTML and the resolved mentions.
 */
export function renderMessage(source: string, options: RenderOptions): RenderedMessage {
  let ownHost: string | undefined;
  try {
    ownHost = new URL(options.origin).host.toLowerCase();
  } catch {
    ownHost = undefined;
  }
  const env: RenderEnv = { ownHost, resolve: options.resolveMention, cache: new Map(), mentions: [] };
  const html = render(source, env);
  return { html, mentions: env.mentions };
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * A short plain-text excerpt of a message, for reply quotes: the text of the rendered message
 * (mentions as written, spoilers as `[spoiler]`), cut at a word boundary with an ellipsis when longer than `max`.
 *
 * Lengths are in code points, the ellipsis included; a character made of several code points
 * (an emoji sequence, a letter with accents) is never split.
 *
 * @param source The message's Markdown source.
 * @param max The longest excerpt, at least 1.
 * @returns The excerpt.
 * @throws {RangeError} When `max` is not a positive integer.
 */
export function snippet(source: string, max = 140): string {
  if (!Number.isInteger(max) || max < 1) throw new RangeError("max must be a positive integer");
  return excerpt(render(source, { ownHost: undefined, resolve: undefined, cache: new Map(), mentions: [] }), max);
}

/**
 * {@link snippet} from a message already rendered by {@link renderMessage}, without rendering
 * it again: the same excerpt when `rendered.mentions` is empty (a mention that was not linked
 * renders as the text it was), else the source is rendered once more.
 * @param source The message's Markdown source.
 * @param rendered What {@link renderMessage} made of it.
 */
export function snippetOf(source: string, rendered: RenderedMessage, max = 140): string {
  return rendered.mentions.length === 0 ? excerpt(rendered.html, max) : snippet(source, max);
}

/** The excerpt of rendered HTML, as {@link snippet} describes it. */
function excerpt(html: string, max: number): string {
  const text = plainText(html, true);
  let length = 0;
  for (const _ of text) length++;
  if (length <= max) return text;
  // Keep whole graphemes while they fit, leaving room for the ellipsis.
  let cut = "";
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const size = [...segment].length;
    if (used + size > max - 1) break;
    cut += segment;
    used += size;
  }
  // Back up to the last space, unless the cut is already at one or backing up would throw away
  // most of the excerpt.
  const space = cut.lastIndexOf(" ");
  if (text[cut.length] !== " " && space > 0 && space >= cut.length / 2) cut = cut.slice(0, space);
  return `${cut.trimEnd()}…`;
}
