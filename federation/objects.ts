/**
 * What an object from another server says as a chat message: a `Note` or Pleroma's
 * `ChatMessage` as it is; a Lemmy `Page`, an `Article`, an `Event`, a PeerTube `Video`, a
 * Funkwhale `Audio`, an `Image` or a poll (`Question`) with its title as a heading, its text,
 * what is particular to it (a poll's options and votes, an event's time and place) and a link
 * to the original. The table of programs and objects is in FEDERATION.md.
 */
import {
  type Object as APObject,
  Article,
  ChatMessage,
  Collection,
  Document,
  Event,
  Image,
  Link,
  Note,
  Place,
  Question,
} from "@fedify/vocab";
import { maxAttachmentsPerMessage } from "../src/media/attachments.ts";
import { type RemoteAttachment, remoteFileName } from "../src/media/carried.ts";
import { sanitizeRemoteHtml } from "../src/messages/markdown.ts";
import { maxMessageLength } from "../src/messages/messages.ts";
import { plainText } from "../src/messages/plain-text.ts";
import { storableText, truncate } from "../src/text.ts";

/** The largest HTML accepted in a remote message; larger ones are refused, not cut. */
const maxRemoteHtml = 64 * 1024;
/** Poll options shown (Mastodon allows 4 to 8, Misskey 10). */
const maxOptions = 20;

const mediaTypePattern = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/i;

/** Nothing an object names is fetched while it is read. */
const refuse = async (): Promise<never> => {
  throw new Error("Not fetched while reading a message.");
};

function dimension(value: number | null | undefined): number | null {
  return value != null && Number.isInteger(value) && value > 0 && value <= 65535 ? value : null;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
}

function isWeb(url: URL | null | undefined): url is URL {
  return url != null && (url.protocol === "https:" || url.protocol === "http:") && url.href.length <= 2048;
}

/**
 * Whether an object becomes a message here (the `Create`s the inbox takes; the inbox guard
 * lists the same types by name, for documents it has not parsed).
 */
export function isMessageObject(object: APObject): boolean {
  return (
    object instanceof Note ||
    object instanceof ChatMessage ||
    object instanceof Article ||
    object instanceof Question ||
    object instanceof Event ||
    object instanceof Document
  );
}

/** A file described by a `Document` (or `Image`, `Video`, `Audio`) or a `Link`, if it is on the web. */
function remoteFile(item: Document | Link, fallbackName?: string): RemoteAttachment | undefined {
  const url = item instanceof Link ? item.href : item.url instanceof Link ? item.url.href : item.url;
  if (!isWeb(url)) return undefined;
  const declared = item.mediaType ?? (item instanceof Document && item.url instanceof Link ? item.url.mediaType : null);
  return {
    url: url.href,
    name: remoteFileName(item.name?.toString() ?? fallbackName, url.href),
    mediaType: declared && mediaTypePattern.test(declared) ? declared.toLowerCase() : "application/octet-stream",
    width: dimension(item.width),
    height: dimension(item.height),
  };
}

/**
 * A remote object's files: its embedded `Document`s (and `Image`, `Video`, `Audio`) with an
 * http(s) URL, at most {@link maxAttachmentsPerMessage}; an `Image` is itself the picture.
 * Nothing is fetched: an attachment given only by its IRI is skipped, and the files themselves
 * are fetched when someone opens them.
 */
export async function objectAttachments(object: APObject): Promise<RemoteAttachment[]> {
  const found: RemoteAttachment[] = [];
  if (object instanceof Image) {
    for (const url of object.urls) {
      const link = url instanceof Link ? url : undefined;
      if (link && !link.mediaType?.startsWith("image/")) continue;
      const file = link ? remoteFile(link, object.name?.toString()) : remoteFile(object);
      if (file) {
        found.push(file);
        break;
      }
    }
  }
  for await (const item of object.getAttachments({ documentLoader: refuse, suppressError: true })) {
    if (found.length >= maxAttachmentsPerMessage) break;
    if (!(item instanceof Document)) continue;
    const file = remoteFile(item);
    if (file) found.push(file);
  }
  return found;
}

/** Where the original is shown: its `text/html` (or untyped) `url`, else its id. */
function originalLink(object: APObject): URL | undefined {
  for (const url of object.urls) {
    if (url instanceof URL && isWeb(url)) return url;
    if (url instanceof Link && isWeb(url.href) && (url.mediaType == null || url.mediaType === "text/html")) {
      return url.href;
    }
  }
  return isWeb(object.id) ? object.id : undefined;
}

/** What a post links to: its `Link` attachments (a Lemmy link post's URL), at most 4. */
async function linkedUrls(object: APObject): Promise<URL[]> {
  const found: URL[] = [];
  for await (const item of object.getAttachments({ documentLoader: refuse, suppressError: true })) {
    if (item instanceof Link && isWeb(item.href) && found.length < 4) found.push(item.href);
  }
  return found;
}

/** A poll's options with their votes, as a list. */
async function pollOptions(question: Question): Promise<string> {
  const items: string[] = [];
  const options = [
    question.getExclusiveOptions({ documentLoader: refuse, suppressError: true }),
    question.getInclusiveOptions({ documentLoader: refuse, suppressError: true }),
  ];
  for (const list of options) {
    for await (const option of list) {
      if (items.length >= maxOptions) break;
      const name = option.name?.toString().trim();
      if (!name) continue;
      const replies = await option.getReplies({ documentLoader: refuse, suppressError: true }).catch(() => null);
      const votes = replies instanceof Collection ? replies.totalItems : null;
      const count = votes == null ? "" : ` (${votes} ${votes === 1 ? "vote" : "votes"})`;
      items.push(`<li>${escapeHtml(truncate(name, 200))}${count}</li>`);
    }
  }
  if (items.length === 0) return "";
  const ends = question.endTime ?? question.closed;
  const when =
    ends && typeof ends === "object" && "epochMilliseconds" in ends
      ? `<p>${question.closed ? "Closed" : "Ends"} ${formatInstant(ends.epochMilliseconds)}</p>`
      : "";
  return `<ul>${items.join("")}</ul>${when}`;
}

function formatInstant(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** An event's time and place. */
function eventDetails(event: Event): string {
  const parts: string[] = [];
  if (event.startTime) {
    const end = event.endTime ? ` to ${formatInstant(event.endTime.epochMilliseconds)}` : "";
    parts.push(`${formatInstant(event.startTime.epochMilliseconds)}${end}`);
  }
  return parts.length ? `<p>${escapeHtml(parts.join(", "))}</p>` : "";
}

/** An event's place, when embedded. */
async function eventPlace(event: Event): Promise<string> {
  for await (const location of event.getLocations({ documentLoader: refuse, suppressError: true })) {
    const name = location instanceof Place ? location.name?.toString().trim() : undefined;
    if (name) return `<p>${escapeHtml(truncate(name, 200))}</p>`;
  }
  return "";
}

/**
 * What a remote object says as a message, cleaned, with its files; undefined when it is not a
 * message object, or is unusable (too large, or nothing to show).
 */
export async function objectContent(
  object: APObject,
): Promise<{ content: string; html: string; attachments: RemoteAttachment[] } | undefined> {
  if (!isMessageObject(object)) return undefined;
  const raw = object.content?.toString() ?? "";
  if (raw.length > maxRemoteHtml) return undefined;
  const files = await objectAttachments(object);
  const body = sanitizeRemoteHtml(raw);
  if (object instanceof Note || object instanceof ChatMessage) {
    // A note rarely has a name; Hubzilla's and Discourse's topics do: it leads, as a post's title.
    const name = truncate(object.name?.toString().trim() ?? "", 500);
    const html = storableText(name ? `<p><strong>${escapeHtml(name)}</strong></p>${body}` : body);
    const source = object.source;
    const markdown =
      source?.mediaType === "text/markdown" || source?.mediaType === "text/plain"
        ? source.content?.toString()
        : undefined;
    const text = markdown ?? plainText(body);
    const content = truncate(storableText(name ? `${name}\n\n${text}` : text), maxMessageLength * 4);
    if (content.trim() === "" && html === "" && files.length === 0) return undefined;
    return { content, html, attachments: files };
  }
  // A post, article, event, poll or media: its title, text, particulars and a link to it.
  const title = truncate(object.name?.toString().trim() ?? "", 500);
  const particulars =
    object instanceof Question
      ? await pollOptions(object)
      : object instanceof Event
        ? eventDetails(object) + (await eventPlace(object))
        : "";
  const links = [...(await linkedUrls(object)), originalLink(object)].filter((u): u is URL => u != null);
  const html = storableText(
    [
      title ? `<p><strong>${escapeHtml(title)}</strong></p>` : "",
      body,
      particulars,
      ...links.map((url) => `<p><a href="${escapeHtml(url.href)}">${escapeHtml(url.href)}</a></p>`),
    ].join(""),
  );
  const checked = sanitizeRemoteHtml(html);
  const content = truncate(storableText(plainText(checked)), maxMessageLength * 4);
  if (content.trim() === "" && files.length === 0) return undefined;
  return { content, html: checked, attachments: files };
}
