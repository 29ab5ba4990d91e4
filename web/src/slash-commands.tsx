/**
 * Slash commands in the composer: typing `/` at the start offers the room's bots' commands
 * (name, description, argument hint), keyboard navigable like the other completions; sending
 * `/name text` for a command the room offers invokes it instead of posting the text. A bot's
 * ephemeral answers are shown above the composer, to the signed-in user only.
 */
import { type Signal, useComputed } from "@preact/signals";
import type { RefObject } from "preact";
import { api } from "./api.ts";
import {
  dismissReply,
  type EphemeralReply,
  ephemeralReplies,
  roomCommands,
  type SlashCommand,
} from "./command-state.ts";
import type { Completion } from "./completion.tsx";
import { replaceBeforeCaret } from "./completion.tsx";
import { Icon } from "./icons.tsx";
import { Name } from "./names.tsx";
import { attempt, say } from "./status.ts";

/** `/wea` typed at the very start, the caret still in the name. */
const typedName = /^\/([a-z0-9_-]{0,32})$/i;

/** The command completion for the text before the caret, or an empty list. */
export function useCommandCompletion(
  roomId: string,
  text: Signal<string>,
  caret: Signal<number>,
  dismissed: Signal<string | null>,
  area: RefObject<HTMLTextAreaElement | null>,
): Completion<SlashCommand> {
  const typed = useComputed(() => typedName.exec(text.value.slice(0, caret.value))?.[1]?.toLowerCase() ?? null);
  const list = typed.value == null ? null : roomCommands(roomId).value;
  const q = typed.value;
  const items =
    q == null || list == null || dismissed.value === text.value
      ? []
      : list.filter((c) => c.name.startsWith(q)).slice(0, 8);
  return {
    id: "command-list",
    label: "Commands",
    items,
    key: (c) => `${c.bot?.id}:${c.name}`,
    render: (c) => (
      <span class="command-option">
        <span class="command-usage">{c.usage}</span> <span class="muted small">{c.description}</span>
        {c.bot ? <Name class="muted small command-bot" text={`@${c.bot.username}`} /> : null}
      </span>
    ),
    choose(c) {
      if (!area.current) return;
      replaceBeforeCaret(area.current, text, caret, /\/[A-Za-z0-9_-]*$/, `/${c.name} `);
      // The completion stays closed for what it wrote.
      dismissed.value = text.value;
      chosen.set(roomId, c);
    },
  };
}

/** The command last chosen from the list per room, to call that bot when several offer the name. */
const chosen = new Map<string, SlashCommand>();

/**
 * Invokes `content` as a command if it names one the room offers.
 * @returns Whether it was a command (then nothing is posted).
 */
export async function runSlashCommand(roomId: string, content: string): Promise<boolean> {
  const m = /^\/([a-z0-9][a-z0-9_-]{0,31})(?:\s+([\s\S]*))?$/i.exec(content.trim());
  if (!m) return false;
  const name = (m[1] as string).toLowerCase();
  const offered = (roomCommands(roomId).peek() ?? []).filter((c) => c.name === name);
  if (offered.length === 0) return false;
  const pick = chosen.get(roomId);
  const command = offered.find((c) => c.bot?.id === pick?.bot?.id && c.name === pick?.name) ?? offered[0];
  const missing = command?.arguments.find((a, i) => a.required && !(m[2] ?? "").trim().split(/\s+/)[i]);
  if (missing) {
    say(`Usage: ${command?.usage}`, true);
    return true;
  }
  await attempt(() =>
    api("POST", `/rooms/${roomId}/interactions`, { command: name, text: m[2] ?? "", botId: command?.bot?.id }),
  );
  return true;
}

/** The bots' answers only the signed-in user sees, above the composer. */
export function CommandReplies(props: { roomId: string }) {
  const list = ephemeralReplies(props.roomId).value;
  if (list.length === 0) return null;
  return (
    <ul class="command-replies" aria-label="Answers only you can see">
      {list.map((reply) => (
        <li key={`${reply.interactionId}-${reply.createdAt}`} class="command-reply">
          <ReplyBody reply={reply} />
          <button
            type="button"
            class="icon-button small"
            aria-label="Dismiss"
            onClick={() => dismissReply(props.roomId, reply)}
          >
            <Icon name="close" size={14} />
          </button>
        </li>
      ))}
    </ul>
  );
}

function ReplyBody(props: { reply: EphemeralReply }) {
  const { reply } = props;
  return (
    <div class="command-reply-body">
      <p class="muted small">
        {reply.bot ? <Name text={reply.bot.displayName} /> : "A bot"} answered /{reply.command} · only you can see this
      </p>
      {reply.html != null ? (
        // The server rendered and sanitised it (the same Markdown subset and allowlist as messages).
        <div class="content" dir="auto" dangerouslySetInnerHTML={{ __html: reply.html }} />
      ) : (
        <div class="content">{reply.content}</div>
      )}
    </div>
  );
}
