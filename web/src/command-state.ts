/**
 * The slash commands each room's bots offer (loaded on first use, dropped when a bot's
 * commands change: `commands.updated`) and the ephemeral answers bots gave the signed-in user
 * (`command.reply`: never stored by the server, so kept here until dismissed or reloaded).
 * Imports no store, so the store can feed it events.
 */
import { type Signal, signal } from "@preact/signals";
import { api } from "./api.ts";

export interface CommandArgument {
  name: string;
  description: string;
  required: boolean;
}

export interface SlashCommand {
  name: string;
  description: string;
  arguments: CommandArgument[];
  usage: string;
  bot?: { id: string; username: string; displayName: string };
}

/** A bot's answer only the signed-in user sees. */
export interface EphemeralReply {
  interactionId: string;
  roomId: string;
  command: string;
  bot: { id: string; username: string; displayName: string } | null;
  content: string;
  /** Null when the rendered answer did not fit the event: the source is shown as text. */
  html: string | null;
  createdAt: string;
}

const commands = new Map<string, Signal<SlashCommand[] | null>>();
const loading = new Map<string, Promise<void>>();
const replies = new Map<string, Signal<EphemeralReply[]>>();

/** The room's commands (null while loading); the first call loads them. */
export function roomCommands(roomId: string): Signal<SlashCommand[] | null> {
  let list = commands.get(roomId);
  if (list == null) {
    list = signal<SlashCommand[] | null>(null);
    commands.set(roomId, list);
  }
  if (list.peek() == null && !loading.has(roomId)) {
    const target = list;
    const load = api<{ commands: SlashCommand[] }>("GET", `/rooms/${roomId}/commands`)
      .then((r) => {
        target.value = r.commands;
      })
      .catch(() => {
        target.value = [];
      })
      .finally(() => loading.delete(roomId));
    loading.set(roomId, load);
  }
  return list;
}

/** A bot's commands or hook changed: every room's list is loaded again on next use. */
export function commandsChanged(): void {
  for (const list of commands.values()) list.value = null;
}

/** The room's ephemeral answers, oldest first. */
export function ephemeralReplies(roomId: string): Signal<EphemeralReply[]> {
  let list = replies.get(roomId);
  if (list == null) {
    list = signal<EphemeralReply[]>([]);
    replies.set(roomId, list);
  }
  return list;
}

/** A `command.reply` event. */
export function applyCommandReply(data: Record<string, unknown>): void {
  if (typeof data.roomId !== "string" || typeof data.content !== "string") return;
  const reply = data as unknown as EphemeralReply;
  const list = ephemeralReplies(reply.roomId);
  if (list.peek().some((r) => r.interactionId === reply.interactionId && r.createdAt === reply.createdAt)) return;
  // A handful is plenty; the oldest go.
  list.value = [...list.peek(), reply].slice(-5);
}

export function dismissReply(roomId: string, reply: EphemeralReply): void {
  const list = ephemeralReplies(roomId);
  list.value = list.peek().filter((r) => r !== reply);
}
