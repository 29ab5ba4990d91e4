import type { Context, RequestContext } from "@fedify/fedify";
import { Group } from "@fedify/vocab";
import type { Room } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { publishedRoom } from "../src/rooms/keys.ts";
import { hasMemberAt } from "../src/rooms/roster.ts";
import { actorProperties } from "./actors.ts";
import type { RoomAudience } from "./notes.ts";

const roomPath = /^rooms\/([0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$/;

/** The actor identifier of a room in the shared dispatcher: `rooms/<id>`. */
export function roomIdentifier(roomId: string): string {
  return `rooms/${roomId}`;
}

/** The published room an actor identifier names, if any; checks the form before the database. */
export async function roomOf(deps: Deps, identifier: string): Promise<Room | undefined> {
  const id = roomPath.exec(identifier)?.[1];
  return id ? await publishedRoom(deps, id) : undefined;
}

/** Names of the room collections registered with `setOrderedCollectionDispatcher` and kin. */
export const roomCollection = {
  moderators: "room:moderators",
  followers: "room:followers",
  members: "room:members",
  featured: "room:featured",
} as const;

/** The IRI of one of a room's collections (`/rooms/<id>/<collection>`). */
export function roomCollectionUri(ctx: Context<Deps>, name: keyof typeof roomCollection, identifier: string): URL {
  return ctx.getCollectionUri(roomCollection[name], { identifier });
}

/** Who a room's messages are addressed to: its `Group`, and everyone for a public room. */
export function roomAudience(ctx: Context<Deps>, room: Room): RoomAudience {
  const open = room.visibility === "public" && !room.direct;
  if (room.iri) return { group: new URL(room.iri), public: open };
  const identifier = roomIdentifier(room.id);
  return {
    group: ctx.getActorUri(identifier),
    public: open,
    followers: roomCollectionUri(ctx, "followers", identifier),
  };
}

const lemmy = "https://join-lemmy.org/ns#";
/** Our own namespace (see FEDERATION.md): the room's retention, in days. */
const retentionIri = "urn:fedchat:retentionDays";

/** The terms Lemmy's context gives the properties it reads, which Fedify's actor context lacks. */
const threadiverseContext = {
  lemmy,
  postingRestrictedToMods: "lemmy:postingRestrictedToMods",
  sensitive: "as:sensitive",
  fedchat: "urn:fedchat:",
  retentionDays: "fedchat:retentionDays",
};

/**
 * A `Group` with Lemmy's `postingRestrictedToMods`, which Fedify's vocabulary does not have:
 * Lemmy, Mbin and PieFed read it to tell whether anyone but moderators may post. They read
 * JSON, not JSON-LD, so `sensitive` must be that key too (Fedify writes `as:sensitive`, its
 * actor context having no term for it).
 */
export class RoomGroup extends Group {
  postingRestrictedToMods = false;
  /** Days the room keeps messages (`fedchat:retentionDays`); null keeps them and is not written. */
  retentionDays: number | null = null;

  override async toJsonLd(options: Parameters<Group["toJsonLd"]>[0] = {}): Promise<unknown> {
    const json = await super.toJsonLd(options);
    // Copies, not edits: what Fedify returns may be a document it keeps.
    if (Array.isArray(json)) {
      // Expanded (as embedded in an activity): the property under its full IRI.
      const [node, ...rest] = json as Record<string, unknown>[];
      const value = [{ "@value": this.postingRestrictedToMods }];
      const retention = this.retentionDays == null ? {} : { [retentionIri]: [{ "@value": this.retentionDays }] };
      return node ? [{ ...node, [`${lemmy}postingRestrictedToMods`]: value, ...retention }, ...rest] : json;
    }
    if (json == null || typeof json !== "object") return json;
    const { "@context": context, "as:sensitive": sensitive, ...properties } = json as Record<string, unknown>;
    return {
      "@context": [...(Array.isArray(context) ? context : context == null ? [] : [context]), threadiverseContext],
      ...properties,
      ...(sensitive === undefined ? {} : { sensitive }),
      postingRestrictedToMods: this.postingRestrictedToMods,
      ...(this.retentionDays == null ? {} : { retentionDays: this.retentionDays }),
    };
  }
}

/**
 * A `Group`'s `fedchat:retentionDays` as it came (Fedify's vocabulary drops unknown terms, so
 * it is read from the document as received): under our term, its prefixed or full IRI, bare or
 * as a JSON-LD value. Anything but a whole number of 1 to 3,650 days counts as not said.
 */
export async function retentionOf(group: Group): Promise<number | null> {
  const json = (await group.toJsonLd().catch(() => null)) as unknown;
  const node = (Array.isArray(json) ? json[0] : json) as Record<string, unknown> | null;
  if (node == null || typeof node !== "object") return null;
  let value = node.retentionDays ?? node["fedchat:retentionDays"] ?? node[retentionIri];
  if (Array.isArray(value)) value = value[0];
  if (value != null && typeof value === "object" && "@value" in value)
    value = (value as { "@value": unknown })["@value"];
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 3650 ? value : null;
}

/**
 * A room as an ActivityPub `Group` (FEP-1b12), shaped as the threadiverse expects (Lemmy's
 * community, Mbin's magazine): name, topic as summary, avatar, both keys; `attributedTo` its
 * moderators collection, `followers` and `featured` their collections, `sensitive` false. Its
 * WebFinger handle is `<room id>@<host>`: room ids contain `-`, which usernames cannot, so the
 * two never collide.
 */
export async function toGroup(ctx: Context<Deps>, identifier: string, room: Room): Promise<Group> {
  const open = room.visibility === "public" || (await signedByMemberServer(ctx, room));
  const properties = await actorProperties(ctx, identifier, {
    preferredUsername: room.id,
    name: open ? room.name : "Private room",
    text: open ? room.topic : "",
    avatar: open ? room.avatar : null,
    createdAt: room.createdAt,
  });
  const group = new RoomGroup({
    ...properties,
    // Lemmy learns a community's moderators from this collection.
    attribution: roomCollectionUri(ctx, "moderators", identifier),
    followers: roomCollectionUri(ctx, "followers", identifier),
    featured: roomCollectionUri(ctx, "featured", identifier),
    sensitive: false,
    // A private room admits only the invited: followers are approved, not automatic.
    manuallyApprovesFollowers: room.visibility === "private",
    discoverable: room.visibility === "public",
  });
  // No room setting restricts posting to moderators (yet): everyone in the room may post.
  group.postingRestrictedToMods = false;
  group.retentionDays = room.retentionDays;
  return group;
}

/** The origin of the server that signed the request, if it is signed. */
async function signerOrigin(ctx: RequestContext<Deps>): Promise<string | undefined> {
  const owner = await ctx.getSignedKeyOwner().catch(() => null);
  return owner?.id?.origin;
}

/** Whether a request is signed by a server that has a member (or an invited user) in the room. */
async function signedByMemberServer(ctx: Context<Deps>, room: Room): Promise<boolean> {
  if (!("getSignedKeyOwner" in ctx)) return true;
  const origin = await signerOrigin(ctx as RequestContext<Deps>);
  return origin != null && (await hasMemberAt(ctx.data, room.id, origin, { invited: true }));
}

/**
 * Whether the signer of a request may read what a room holds (its history, messages, member
 * lists): anyone for a public room; for a private one, only a server that has a member in it.
 */
export async function mayRead(ctx: RequestContext<Deps>, room: Room): Promise<boolean> {
  if (room.visibility === "public" && !room.direct) return true;
  const origin = await signerOrigin(ctx);
  return origin != null && (await hasMemberAt(ctx.data, room.id, origin));
}
