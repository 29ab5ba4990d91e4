/**
 * Custom emoji shown: an image the height of the line, its `:shortcode:` as alt text (copied
 * with the text, read by screen readers), in messages, names and reactions. Every image is
 * served from our origin (remote emoji through the server), never from another server.
 */
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import { customEmoji, isLocalHandle, loadCustomEmoji, splitEmoji, type UsedEmoji } from "./custom-emoji.ts";
import { Name } from "./names.tsx";
import { me } from "./store.ts";

/** One emoji's image. */
export function EmojiImage(props: { shortcode: string; url: string; class?: string }) {
  const code = `:${props.shortcode}:`;
  return (
    <img
      class={props.class ?? "custom-emoji"}
      src={props.url}
      alt={code}
      title={code}
      draggable={false}
      loading="lazy"
    />
  );
}

/** A reaction's emoji: the image of a custom one known here, else its text. */
export function ReactionEmoji(props: { emoji: string; url?: string | undefined }) {
  const url = props.url ?? localUrl(props.emoji);
  if (!url) return <>{props.emoji}</>;
  return <EmojiImage shortcode={props.emoji.slice(1, -1)} url={url} />;
}

/** The image of `:blob:` among this server's emoji, if it is one (a reaction the stream just brought). */
function localUrl(key: string): string | undefined {
  if (!/^:[a-zA-Z0-9_]+:$/.test(key)) return undefined;
  return customEmoji.value?.find((e) => e.shortcode === key.slice(1, -1))?.url;
}

/** Text with the given emoji as images, each word run isolated as {@link Name} does. */
export function EmojiName(props: { text: string; emojis: readonly UsedEmoji[] | undefined; class?: string }) {
  const parts = splitEmoji(props.text, props.emojis);
  if (parts.length === 1 && typeof parts[0] === "string") return <Name text={props.text} class={props.class} />;
  return (
    <bdi class={props.class}>
      {parts.map((part, i) =>
        typeof part === "string" ? (
          <Name key={i} text={part} />
        ) : (
          <EmojiImage key={i} shortcode={part.shortcode} url={part.url} />
        ),
      )}
    </bdi>
  );
}

/**
 * A person's name with the emoji of their server: those their profile names (`emojis`), else,
 * for someone on this server, this server's.
 */
export function PersonEmojiName(props: {
  name: string;
  handle?: string | undefined;
  emojis?: readonly UsedEmoji[] | undefined;
}) {
  const local = isLocalHandle(props.handle, me.value?.handle);
  const named = local && !props.emojis && props.name.includes(":");
  useEffect(() => {
    // The list is fetched once, when a name first needs it.
    if (named) void loadCustomEmoji();
  }, [named]);
  const list = props.emojis ?? (local ? (customEmoji.value ?? undefined) : undefined);
  return <EmojiName text={props.name} emojis={list} />;
}

/** Elements whose text keeps its `:shortcode:`s: code is shown as written. */
const verbatim = new Set(["CODE", "PRE"]);

/** Replaces the known `:shortcode:`s in the text nodes under `root` with images. */
function replaceInTree(root: HTMLElement, emojis: readonly UsedEmoji[]): void {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => {
      for (let el = node.parentElement; el && el !== root; el = el.parentElement) {
        if (verbatim.has(el.tagName)) return NodeFilter.FILTER_REJECT;
      }
      return node.nodeValue?.includes(":") ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
    },
  });
  const nodes: Text[] = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) nodes.push(node as Text);
  for (const node of nodes) {
    const parts = splitEmoji(node.nodeValue ?? "", emojis);
    if (parts.length === 1 && typeof parts[0] === "string") continue;
    const fragment = document.createDocumentFragment();
    for (const part of parts) {
      if (typeof part === "string") {
        fragment.append(part);
        continue;
      }
      // Built with DOM calls, never as markup: the URL and the shortcode cannot become HTML.
      const img = document.createElement("img");
      img.className = "custom-emoji";
      img.src = part.url;
      img.alt = `:${part.shortcode}:`;
      img.title = img.alt;
      img.draggable = false;
      fragment.append(img);
    }
    node.replaceWith(fragment);
  }
}

/**
 * A message's HTML (rendered and sanitised by the server, the only markup the client inserts)
 * with the emoji its text names shown as images.
 */
export function MessageHtml(props: { html: string; emojis?: readonly UsedEmoji[] | undefined }) {
  if (!props.emojis?.length) {
    return <div key="plain" class="content" dir="auto" dangerouslySetInnerHTML={{ __html: props.html }} />;
  }
  return <HtmlWithEmoji key="emoji" html={props.html} emojis={props.emojis} />;
}

function HtmlWithEmoji(props: { html: string; emojis: readonly UsedEmoji[] }) {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.innerHTML = props.html;
    replaceInTree(el, props.emojis);
  }, [props.html, props.emojis]);
  return <div ref={ref} class="content" dir="auto" />;
}
