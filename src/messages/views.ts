import { and, eq, inArray, sql } from "drizzle-orm";
import { type Attachment, blocks, type Message, messages, reactions } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { emojiInTexts, reactionEmojiUrls, type UsedEmoji } from "../emoji/usage.ts";
import { type InvitationView, invitationViews } from "../invitations/views.ts";
import type { AttachmentView } from "../media/attachments.ts";
import { attachmentsOf } from "../media/carried.ts";
import { attachmentView } from "../media/downloads.ts";
import { type PreviewCard, previewCards } from "../previews/cards.ts";
import { type ActorProfile, actorProfiles } from "../rooms/actors.ts";
import { snippet } from "./markdown.ts";
import { type ThreadSummaryRow, threadSummaries } from "./thread-summaries.ts";

/** What a thread's root shows under it. */
export interface ThreadSummary {
  readonly count: number;
  readonly lastReplyAt: string;
  /** The latest repliers, the last first. */
  readonly participants: ActorProfile[];
  /** Replies by others the viewer has not read (0 in stream events, which have no viewer). */
  readonly unread: number;
}

/** A message as the API and the stream show it. */
export interface MessageView {
  readonly id: string;
  readonly seq: number;
  readonly roomId: string;
  /** The message's ActivityPub object IRI. */
  readonly url: string;
  readonly author: ActorProfile | null;
  readonly content: string;
  readonly html: string;
  readonly replyTo: { id: string; seq: number; author: ActorProfile | null; snippet: string; deleted: boolean } | null;
  /** `url`: the image of a custom emoji known here (`:blob:` ours, `:blob@host:` another server's). */
  readonly reactions: { emoji: string; count: number; me: boolean; url?: string }[];
  /** The custom emoji the text names that are known here (the author's server's), as Mastodon's `emojis`. */
  readonly emojis: UsedEmoji[];
  /** The root of the thread this message replies in; null on the main timeline. */
  readonly threadRootId: string | null;
  /** A thread reply also shown on the main timeline. */
  readonly alsoInRoom: boolean;
  /** The thread under this message, when it has replies. */
  readonly thread: ThreadSummary | null;
  readonly attachments: AttachmentView[];
  /**
   * Link preview cards of the message's first links, those fetched already. Empty in the
   * event of a new message; `message.previews` brings them once fetched.
   */
  readonly previews: PreviewCard[];
  /**
   * History only: the viewer blocks the author, so clients collapse the message (with a way to
   * reveal it). Stream events are serialised once for every member and leave this out; clients
   * hide those by their own block list.
   */
  readonly hidden?: boolean;
  readonly editedAt: string | null;
  readonly deletedAt: string | null;
  readonly createdAt: string;
  /** Sent to a room on another server, which has not numbered it yet (`seq` is 0 meanwhile). */
  readonly pending?: true;
  /** A sticker: one image attachment sent from a sticker pack, shown large without a bubble. */
  readonly sticker?: true;
  /** An invitation to a game, a call or an event (src/invitations), with its answers. */
  readonly invitation?: InvitationView;
}

/** The ActivityPub IRI of a local message. */
export function messageUrl(deps: Pick<Deps, "config">, message: Pick<Message, "id" | "iri">): string {
  return message.iri ?? `${deps.config.origin}/messages/${message.id}`;
}

/**
 * Serialises messages for one viewer in a few queries for the whole page: authors, replied-to
 * messages, reaction counts with the viewer's own marked, and link preview cards.
 */
export async function messageViews(
  deps: Deps,
  list: readonly Message[],
  viewerId: string | null,
): Promise<MessageView[]> {
  if (list.length === 0) return [];
  const replyIds = [...new Set(list.flatMap((m) => (m.replyTo ? [m.replyTo] : [])))];
  const replied = replyIds.length ? await deps.db.select().from(messages).where(inArray(messages.id, replyIds)) : [];
  const repliedById = new Map(replied.map((m) => [m.id, m]));
  const summaries = await threadSummaries(
    deps.db,
    list.filter((m) => m.threadRootId == null).map((m) => m.id),
    viewerId,
  );
  const profiles = await actorProfiles(deps, [
    ...[...list, ...replied].map((m) => m.authorId),
    ...[...summaries.values()].flatMap((s) => s.participants),
  ]);
  const counts = await deps.db
    .select({
      messageId: reactions.messageId,
      key: reactions.key,
      count: sql<number>`count(*)`.mapWith(Number),
      me: viewerId ? sql<boolean>`bool_or(${reactions.actorId} = ${viewerId})` : sql<boolean>`false`,
      first: sql<string>`min(${reactions.createdAt})`,
    })
    .from(reactions)
    .where(
      inArray(
        reactions.messageId,
        list.map((m) => m.id),
      ),
    )
    .groupBy(reactions.messageId, reactions.key)
    .orderBy(sql`min(${reactions.createdAt})`);
  const reactionsOf = new Map<string, MessageView["reactions"]>();
  const reactionUrls = await reactionEmojiUrls(
    deps,
    counts.map((row) => row.key),
  );
  for (const row of counts) {
    const entry = reactionsOf.get(row.messageId) ?? [];
    const url = reactionUrls.get(row.key);
    entry.push({ emoji: row.key, count: row.count, me: Boolean(row.me), ...(url ? { url } : {}) });
    reactionsOf.set(row.messageId, entry);
  }
  const files = await attachmentsOf(
    deps.db,
    list.map((m) => m.id),
  );
  const cards = await previewCards(deps, list, viewerId);
  const invites = await invitationViews(
    deps,
    list.filter((m) => m.deletedAt == null).map((m) => m.id),
  );
  const emojis = await emojiInTexts(
    deps,
    list.map((m) => ({ id: m.id, host: authorHost(deps, profiles.get(m.authorId)), text: m.content })),
  );
  const authors = [...new Set(list.map((m) => m.authorId))];
  const blocked = viewerId
    ? new Set(
        (
          await deps.db
            .select({ id: blocks.blockedId })
            .from(blocks)
            .where(and(eq(blocks.blockerId, viewerId), inArray(blocks.blockedId, authors)))
        ).map((r) => r.id),
      )
    : new Set<string>();
  return list.map((m) => {
    const view = toView(
      deps,
      m,
      profiles,
      m.replyTo ? repliedById.get(m.replyTo) : undefined,
      reactionsOf.get(m.id) ?? [],
      files.get(m.id) ?? [],
      summaries.get(m.id),
    );
    const invitation = invites.get(m.id);
    const withCards = {
      ...view,
      previews: cards.get(m.id) ?? [],
      emojis: emojis.get(m.id) ?? [],
      ...(invitation ? { invitation } : {}),
    };
    return viewerId ? { ...withCards, hidden: blocked.has(m.authorId) } : withCards;
  });
}

/** The host of an author's server, or null for one of ours. */
function authorHost(deps: Deps, author: ActorProfile | undefined): string | null {
  if (author == null) return null;
  const host = new URL(author.url).host;
  return host === new URL(deps.config.origin).host ? null : host;
}

/** The custom emoji one message's text names (for the views made without {@link messageViews}). */
export async function textEmojis(
  deps: Deps,
  message: Pick<Message, "id" | "authorId" | "content">,
  profiles: Map<string, ActorProfile>,
): Promise<UsedEmoji[]> {
  const host = authorHost(deps, profiles.get(message.authorId));
  return (await emojiInTexts(deps, [{ id: message.id, host, text: message.content }])).get(message.id) ?? [];
}

/** {@link textEmojis} of several messages, in one lookup. */
export async function textEmojisOfMany(
  deps: Deps,
  list: readonly Pick<Message, "id" | "authorId" | "content">[],
  profiles: Map<string, ActorProfile>,
): Promise<Map<string, UsedEmoji[]>> {
  const items = list.map((m) => ({ id: m.id, host: authorHost(deps, profiles.get(m.authorId)), text: m.content }));
  return await emojiInTexts(deps, items);
}

export async function oneView(deps: Deps, message: Message, viewerId: string | null): Promise<MessageView> {
  const [view] = await messageViews(deps, [message], viewerId);
  if (view == null) throw new Error("A message could not be serialised.");
  return view;
}

/**
 * A message's view from its row, the profiles of its author (and of the quoted message's and
 * the thread's participants), the quoted message, its reaction counts and its thread's summary.
 */
export function toView(
  deps: Deps,
  message: Message,
  profiles: Map<string, ActorProfile>,
  reply: Message | undefined,
  reactionCounts: MessageView["reactions"],
  files: readonly Attachment[],
  thread?: ThreadSummaryRow,
): MessageView {
  return {
    id: message.id,
    seq: message.seq,
    roomId: message.roomId,
    url: messageUrl(deps, message),
    author: profiles.get(message.authorId) ?? null,
    content: message.content,
    html: message.html,
    replyTo: reply
      ? {
          id: reply.id,
          seq: reply.seq,
          author: profiles.get(reply.authorId) ?? null,
          snippet: reply.deletedAt ? "" : snippet(reply.content),
          deleted: reply.deletedAt != null,
        }
      : null,
    reactions: reactionCounts,
    threadRootId: message.threadRootId,
    alsoInRoom: message.alsoInRoom,
    thread: thread
      ? {
          count: thread.count,
          lastReplyAt: thread.lastReplyAt,
          participants: thread.participants.flatMap((id) => {
            const profile = profiles.get(id);
            return profile ? [profile] : [];
          }),
          unread: thread.unread,
        }
      : null,
    attachments: files.map((file) => attachmentView(deps, file)),
    previews: [],
    emojis: [],
    editedAt: message.editedAt?.toISOString() ?? null,
    deletedAt: message.deletedAt?.toISOString() ?? null,
    createdAt: message.createdAt.toISOString(),
    ...(files.length === 1 && files[0]?.sticker ? { sticker: true as const } : {}),
  };
}
