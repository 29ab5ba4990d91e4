import type { AuthCache } from "./accounts/auth-cache.ts";
import type { ExportMaker } from "./accounts/exports.ts";
import type { ProfileLinkVerifier } from "./accounts/profile-links.ts";
import type { TokenService } from "./accounts/tokens.ts";
import type { Config } from "./config.ts";
import type { DatabaseLike } from "./db/client.ts";
import type { Room } from "./db/schema.ts";
import type { RateLimiter } from "./http/rate-limiter.ts";
import type { SendBatcher } from "./messages/send-batch.ts";
import type { SendContextCache } from "./messages/send-context.ts";
import type { Metrics } from "./metrics.ts";
import type { LinkPreviewer } from "./previews/previewer.ts";

/**
 * What a local member does in a room hosted on another server. The room's server decides:
 * nothing is applied here until it announces the result back.
 */
export type RemoteRoomAction =
  | {
      readonly type: "create";
      readonly id: string;
      readonly content: string;
      readonly html: string;
      /** The IRI of the message answered. */
      readonly inReplyTo: string | null;
      /** The IRI of the thread's root, for a thread reply (FEP-7888 `context`). */
      readonly thread: string | null;
    }
  | { readonly type: "update"; readonly messageIri: string; readonly content: string; readonly html: string }
  | { readonly type: "delete"; readonly messageIri: string }
  | { readonly type: "react"; readonly messageIri: string; readonly emoji: string; readonly on: boolean }
  /** A moderator's pin (`on`) or unpin: `Add`/`Remove` with the `Group`'s `featured` as target. */
  | { readonly type: "pin"; readonly messageIri: string; readonly on: boolean }
  | { readonly type: "leave" }
  /** An invitee's answer to the invitation a message carries: `Accept` or `Reject` of it. */
  | { readonly type: "answer-invitation"; readonly messageIri: string; readonly answer: "accepted" | "declined" }
  /** Withdraws a join not answered yet (`Undo{Join}`), naming the `Join` by its IRI. */
  | { readonly type: "cancel-join"; readonly joinIri: string };

/**
 * What the domain asks of federation. The federation layer implements it; src/ never imports
 * federation/, and without it (tests of the domain alone) remote targets are simply not found.
 */
export interface Federator {
  /** The actor id of a remote user, by `name@host` handle or actor URL, fetched and stored. */
  lookupActor(target: string): Promise<string | undefined>;
  /**
   * Asks a remote room (by handle, `Group` URL or invite link) to admit a local user.
   * @returns The local id of the room's mirror, where the request is pending.
   */
  joinRemoteRoom(actorId: string, target: string): Promise<string>;
  /** Tells a remote user's server that they are invited into a room hosted here (`Invite` with the link). */
  inviteToRoom(room: Room, inviterId: string, actorId: string, inviteUrl: string): Promise<void>;
  /**
   * Tells a remote user's server about a contact request between a local user and them:
   * `follow` (a request, with its IRI), `accept` / `reject` (an answer to theirs), `undo` (a
   * withdrawn request or an ended contact).
   */
  sendContact(
    actorId: string,
    remoteId: string,
    action: "follow" | "accept" | "reject" | "undo",
    iri: string,
  ): Promise<void>;
  /** Sends a local member's action in a remote room to the room's `Group`. */
  sendToRoom(actorId: string, room: Room, action: RemoteRoomAction): Promise<void>;
  /** Tells the servers of a room's other members, best effort, that a local member is typing (or stopped). */
  sendTyping(actorId: string, room: Room, typing: boolean): Promise<void>;
  /** Tells the servers of a room's other members, best effort, how far a local member has read. */
  sendRead(actorId: string, room: Room, seq: number): Promise<void>;
  /** Tells the servers that share a room with these local users, best effort, that they are online or gone. */
  sendPresence(actorIds: readonly string[], status: "online" | "offline"): Promise<void>;
  /**
   * Sends a report to a remote actor's server as a `Flag` from this server's instance actor
   * (as Mastodon forwards reports): the actor and these objects of theirs, and the comment;
   * never who reported.
   */
  forwardReport(actorId: string, objectIris: readonly string[], comment: string, reportId: string): Promise<void>;
}

/**
 * What domain functions and handlers need, passed explicitly (no module-level database), so a
 * test or a caller can pass a transaction instead of the pool.
 */
export interface Deps {
  readonly config: Config;
  readonly db: DatabaseLike;
  /** Signs and verifies access tokens. */
  readonly tokens: TokenService;
  /** This process's rate-limit counters, shared with the others through the database. */
  readonly limits: RateLimiter;
  /** This process's verified tokens and session lookups; see auth-cache.ts. */
  readonly auth: AuthCache;
  /** Federation, when this process runs it. */
  readonly federation?: Federator | undefined;
  /** Signs attachment download URLs (see `urlSigningKey` in secrets.ts). */
  readonly urlKey: Uint8Array;
  /** Writes sends in batches (group commit), on the pool. */
  readonly sends: SendBatcher;
  /** Rooms, memberships and senders' profiles that sends found, emptied by the event log (send-context.ts). */
  readonly sendContexts: SendContextCache;
  /** Fetches link preview cards in the background (see src/previews/). */
  readonly previews: LinkPreviewer;
  /** Verifies profile links (`rel="me"`) in the background (see src/accounts/profile-links.ts). */
  readonly profileLinks: ProfileLinkVerifier;
  /** This process's Prometheus metrics (see src/metrics.ts). */
  readonly metrics: Metrics;
  /** Makes users' data exports in the background (see src/accounts/exports.ts). */
  readonly exports: ExportMaker;
}
