/** Compact grouping of the timeline: which messages share the name and avatar above them. */
import type { Message } from "./types.ts";

/** Consecutive messages by one author within this long share one header. */
export const groupWindowMs = 5 * 60 * 1000;

type Groupable = Pick<Message, "createdAt" | "replyTo" | "threadRootId" | "deletedAt" | "thread"> & {
  author: { id: string } | null;
};

/**
 * Whether a message goes under the previous one's name and avatar, as Discord and Element
 * group them: same author, same day, within {@link groupWindowMs}, and nothing that starts a
 * new context in between (a reply, a thread under the previous message, a thread reply shown
 * in the room, a deleted message). The caller also breaks a group at a line between the two
 * (new messages, someone joined).
 */
export function continuesGroup(previous: Groupable | null, message: Groupable): boolean {
  if (!previous || !message.author || previous.author?.id !== message.author.id) return false;
  if (message.replyTo || message.threadRootId || previous.deletedAt || (previous.thread?.count ?? 0) > 0) return false;
  const gap = Date.parse(message.createdAt) - Date.parse(previous.createdAt);
  return (
    gap >= 0 &&
    gap < groupWindowMs &&
    new Date(previous.createdAt).toDateString() === new Date(message.createdAt).toDateString()
  );
}
