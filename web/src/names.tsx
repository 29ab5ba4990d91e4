/**
 * Showing what people wrote so that it cannot rearrange the page: every name is isolated
 * (`<Name>`, a `<bdi>`; `isolate()` where only plain text will do), so a right-to-left name
 * cannot carry the words around it along, and blocks of their text (`<UserText>`, message
 * bodies) take their direction from their own first strong character (`dir="auto"`). Names
 * that look like another member's are shown with their handle (`lookalikes.ts`).
 */
import { signal } from "@preact/signals";
import type { Lookalikes } from "./lookalikes.ts";
import type { Member } from "./types.ts";

/** Bidi embeddings, overrides, isolates and marks (U+202A–E, U+2066–9, U+200E/F, U+061C). */
const bidiControls = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/**
 * A name without bidi controls. The server removes them (src/text.ts), but names stored
 * before it did, and names from other servers, may still have them; inside a `<bdi>` an
 * override would still turn "gnp.exe" into "exe.png".
 */
export function plain(text: string): string {
  return text.replace(bidiControls, "");
}

/**
 * A name for plain text (attributes, titles, the status line, browser notifications): between
 * FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE, the plain-text twin of `<bdi>`.
 */
export function isolate(text: string): string {
  return `\u2068${plain(text)}\u2069`;
}

/**
 * An inline name (a person's, a room's, a file's, a handle) or other short piece of what
 * someone wrote (a reply's snippet, a ban's reason), isolated from the text around it.
 */
export function Name(props: { text: string; class?: string | undefined }) {
  return <bdi class={props.class}>{plain(props.text)}</bdi>;
}

/** A block of what someone wrote (a topic, a bio), in the direction of its first strong character. */
export function UserText(props: { text: string; as?: "p" | "span" | "blockquote"; class?: string | undefined }) {
  const Tag = props.as ?? "p";
  return (
    <Tag class={props.class} dir="auto">
      {props.text}
    </Tag>
  );
}

/** Text with names in it: the strings as written here, each `{ name }` isolated when shown. */
export type Phrase = readonly (string | { readonly name: string })[];

/**
 * A phrase as plain text, its names isolated; `plain` for an accessible name, which is heard
 * rather than seen.
 */
export function phraseText(phrase: Phrase, wrap: (name: string) => string = isolate): string {
  return phrase.map((part) => (typeof part === "string" ? part : wrap(part.name))).join("");
}

/** A phrase in the page, its names in `<bdi>`. */
export function PhraseView(props: { phrase: Phrase }) {
  return <>{props.phrase.map((part, i) => (typeof part === "string" ? part : <Name key={i} text={part.name} />))}</>;
}

/** The name a room shows for a member: their nickname there, else their display name. */
export function memberName(member: Member): string {
  return member.nickname || member.actor.displayName || member.actor.handle;
}

/** Whether a person's name, as shown, looks like someone else's in the room. */
export type LooksAlike = (actorId: string, name: string) => boolean;

const never: LooksAlike = () => false;
/** The confusables table, once loaded: until then no name is marked. */
const loaded = signal<typeof Lookalikes | null>(null);
let asked = false;
const indexes = new WeakMap<readonly Member[], LooksAlike>();

/**
 * Who looks like whom among these members. The first call loads the table in the background,
 * and components that called it render again once it is in.
 */
export function lookalikesIn(members: readonly Member[] | null): LooksAlike {
  const Index = loaded.value;
  if (!Index) {
    if (!asked) {
      asked = true;
      import("./lookalikes.ts").then(
        (module) => {
          loaded.value = module.Lookalikes;
        },
        () => {
          // Offline or a new deployment: try again on the next render that asks.
          asked = false;
        },
      );
    }
    return never;
  }
  if (!members) return never;
  let looksAlike = indexes.get(members);
  if (!looksAlike) {
    const index = new Index(members.map((m) => ({ id: m.actor.id, name: memberName(m) })));
    looksAlike = (id, name) => index.has(id, name);
    indexes.set(members, looksAlike);
  }
  return looksAlike;
}

/**
 * A person's name as a room shows it, isolated, with their handle beside it when the name
 * looks like another member's: the name alone would not tell the two apart.
 */
export function PersonName(props: { name: string; handle?: string | undefined; alike: boolean }) {
  return (
    <>
      <Name text={props.name} />
      {props.alike && props.handle ? (
        <>
          {" "}
          <span class="lookalike-handle" title="This name looks like another member's">
            <Name text={`@${props.handle}`} />
          </span>
        </>
      ) : null}
    </>
  );
}

/** The "BOT" mark beside a bot's name; screen readers hear "bot". */
export function BotBadge(props: { webhook?: boolean | undefined }) {
  return props.webhook ? (
    <span
      class="bot-badge"
      title="A webhook: posted by a program through the room's webhook"
      aria-label="webhook"
      role="img"
    >
      WEBHOOK
    </span>
  ) : (
    <span class="bot-badge" title="A bot: an automated account" aria-label="bot" role="img">
      BOT
    </span>
  );
}

/** `PersonName` as plain text; `plain` for an accessible name, as for {@link phraseText}. */
export function personText(
  person: { name: string; handle?: string | undefined; alike: boolean },
  wrap: (name: string) => string = isolate,
): string {
  return person.alike && person.handle ? `${wrap(person.name)} (${wrap(`@${person.handle}`)})` : wrap(person.name);
}
