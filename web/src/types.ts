/** Shapes of the API's answers (see /api/v1/openapi.json). */

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId?: string;
  details?: unknown;
}

export interface User {
  id: string;
  username: string;
  handle: string;
  displayName: string;
  bio: string;
  color: string | null;
  avatarUrl: string | null;
  url: string;
  createdAt: string;
  /** A bot (an ActivityPub `Service`), made and owned by a user. */
  bot?: boolean;
  /** Up to four labels and values, in order. */
  fields?: ProfileField[];
  /** Only on the logged-in user: `admin` runs the instance. */
  role?: "user" | "admin";
}

/** A profile field; `verifiedAt` when this server found its link's page linking back (`rel="me"`). */
export interface ProfileField {
  name: string;
  value: string;
  verifiedAt: string | null;
}

export interface Actor {
  id: string;
  handle: string;
  displayName: string;
  avatarUrl: string | null;
  color: string | null;
  url: string;
  /** Custom emoji of their server that the display name names. */
  emojis?: { shortcode: string; url: string }[];
  /** Present for a bot: a local user's, or a remote `Service` or `Application`. */
  bot?: true;
  /** Present for a room's incoming webhook (with `bot`). */
  webhook?: true;
  /** Present for a deleted account: shown as "Deleted user", its messages kept. */
  deleted?: true;
}

export type Role = "owner" | "admin" | "moderator" | "member";

export interface Room {
  id: string;
  name: string;
  topic: string;
  visibility: "public" | "private";
  direct: boolean;
  theme: string | null;
  /** Whether links in the room's messages get preview cards (moderators choose). */
  linkPreviews?: boolean;
  /** Whether bots may join and post. */
  allowBots?: boolean;
  /** Days messages are kept (moderators choose; a mirror shows its room's); null: forever. */
  retentionDays?: number | null;
  avatarUrl: string | null;
  role: Role | null;
  permissions: string[];
  unread: number;
  mentions: number;
  lastSeq: number;
  lastReadSeq: number;
  handle: string;
  url: string;
  createdAt: string;
  /** How the room notifies us (null when not a member). */
  notifications?: { level: "all" | "mentions" | "none"; muted: boolean } | null;
  /** Whether the room lives on another server (its handle names the host). */
  remote?: boolean;
  /** Remote joins: "pending" until the room's server accepts. */
  membership?: "joined" | "pending" | "none";
  members?: number;
  /** A direct room's other people (never oneself): it is named and pictured by them. */
  others?: Actor[];
}

export interface Member {
  actor: Actor;
  role: Role;
  nickname: string | null;
  color: string | null;
  joinedAt: string;
  presence?: "online" | "offline";
  /** The number of the last message the member has read. */
  readUpTo?: number;
}

export interface Reaction {
  emoji: string;
  count: number;
  me: boolean;
  /** A custom emoji's image, served from our origin. */
  url?: string;
}

export interface Message {
  id: string;
  seq: number;
  roomId: string;
  url: string;
  author: Actor | null;
  content: string;
  html: string;
  replyTo: { id: string; seq: number; author?: Actor | null; snippet: string; deleted: boolean } | null;
  reactions: Reaction[];
  /** The custom emoji its text names, as images (`:shortcode:` in the text). */
  emojis?: { shortcode: string; url: string }[];
  attachments: Attachment[];
  /** Link preview cards, fetched by the server; a new message's arrive in `message.previews`. */
  previews?: PreviewCard[];
  /** The root of the thread it replies in; null on the main timeline. */
  threadRootId: string | null;
  /** A thread reply also shown on the main timeline. */
  alsoInRoom: boolean;
  /** The thread under it, when it has replies. */
  thread: ThreadSummary | null;
  /** History only: we block the author (shown collapsed, with a way to reveal). */
  hidden?: boolean;
  editedAt: string | null;
  /** Sent to a room on another server that has not numbered it yet (seq is 0 meanwhile). */
  pending?: true;
  /** A sticker: its one image is shown large, without a frame. */
  sticker?: true;
  /** An invitation card (to a game, a call or an event) with its answers. */
  invitation?: Invitation;
  deletedAt: string | null;
  createdAt: string;
}

/** An invitation a message carries. */
export interface Invitation {
  kind: "game" | "call" | "event";
  title: string;
  link: string | null;
  startsAt: string | null;
  expiresAt: string;
  /** Expired when the server made the view; the card also flips by itself at `expiresAt`. */
  expired: boolean;
  /** Everyone in the room is invited (else `invitees`). */
  everyone: boolean;
  invitees: Actor[];
  responses: { actor: Actor; answer: "accepted" | "declined"; answeredAt: string }[];
}

/** A link's preview card; the image is served from our origin. */
export interface PreviewCard {
  url: string;
  title: string | null;
  description: string | null;
  siteName: string | null;
  image: { url: string; width: number; height: number } | null;
}

export interface ThreadSummary {
  count: number;
  lastReplyAt: string;
  /** The latest repliers, the last first. */
  participants: Actor[];
  /** Replies by others not read yet. */
  unread: number;
}

export interface Attachment {
  id: string;
  name: string;
  mediaType: string;
  /** Absent for a file on another server that nobody here opened yet. */
  size?: number;
  width?: number;
  height?: number;
  /** Signed; expires after a few hours (ask `GET /attachments/:id` for a fresh one). */
  url: string;
  /** Animated when the image is. */
  previewUrl?: string;
  /** Animated images: the first frame, for people who prefer reduced motion. */
  stillUrl?: string;
  sticker?: true;
}

export interface AppNotification {
  id: string;
  type: "mention" | "reply" | "thread" | "message" | "invite" | "contact_request" | "report";
  actor: Actor | null;
  roomId: string | null;
  messageId: string | null;
  /** `seq` and `snippet` for messages; `code` (local) or `url` (remote) and `roomName` for invites. */
  data: Record<string, unknown>;
  read: boolean;
  createdAt: string;
}

export interface Contacts {
  contacts: { actor: Actor; presence: "online" | "offline"; since: string }[];
  incoming: { id: string; actor: Actor; createdAt: string }[];
  outgoing: { id: string; actor: Actor; createdAt: string }[];
}

/** A message of ours not yet acknowledged, or refused. */
export interface PendingMessage {
  txnId: string;
  roomId: string;
  content: string;
  replyTo: Message["replyTo"];
  attachments?: Attachment[];
  /** Files not uploaded yet (the server was unreachable): the outbox uploads them before the send. */
  files?: { name: string; size: number; blob: Blob }[];
  /** A reply in the thread under this message. */
  threadRootId?: string;
  alsoInRoom?: boolean;
  state: "sending" | "failed";
  error?: string;
  /** The failure may pass (offline, server error): sent again when the stream reconnects. */
  retryable?: boolean;
  createdAt: string;
  /**
   * Sent to a room on another server, which numbers it: the message's id, shown pending until
   * the room's announcement brings it back with its number.
   */
  messageId?: string;
}

export interface Invite {
  id: string;
  roomId: string;
  code?: string;
  url?: string;
  createdAt: string;
  expiresAt: string | null;
  maxUses: number | null;
  uses: number;
  revoked: boolean;
  /** For an invite to one user: their actor id. */
  invitee?: string | null;
}

export interface SessionInfo {
  id: string;
  deviceLabel: string;
  createdAt: string;
  lastUsedAt: string;
  address: string | null;
  current: boolean;
}

export interface StreamEvent {
  type: string;
  position?: number;
  roomId?: string;
  actorId?: string;
  data: Record<string, unknown>;
}

/** A pinned message (`GET /rooms/:id/pins`, the `pins` event). */
export interface Pin {
  message: Message;
  pinnedAt: string;
  /** Null in a room on another server, which does not say who pinned. */
  pinnedBy: Actor | null;
}

/** A search result (`GET /api/v1/search`): the snippet is plain text with match ranges. */
export interface SearchResult {
  message: Message;
  room: { id: string; name: string };
  snippet: { text: string; highlights: [number, number][] };
  rank: number;
}
