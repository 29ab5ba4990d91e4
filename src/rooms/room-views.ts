/** The room's API shape: the schemas of its bodies and answer, and the serialiser. */
import type { Context } from "hono";
import { z } from "zod";
import { handleHost } from "../accounts/accounts.ts";
import type { Room } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { avatarUrl } from "../media/avatars.ts";
import { cleanName, cleanText, codePointLength } from "../text.ts";
import { type ActorProfile, actorProfileSchema } from "./actors.ts";
import { directAvatar, directName, directOthersOf } from "./direct-views.ts";
import { pendingRooms } from "./pending-joins.ts";
import { allowedActions, type Role, roles } from "./permissions.ts";
import { accessRoom, listMyRooms, type NotificationSettings } from "./rooms.ts";
import { notificationSettingsSchema } from "./schemas.ts";

const roomName = z
  .string()
  .max(1000, "expected at most 100 characters")
  .transform(cleanName)
  .refine((v) => v.length > 0, "expected at least one visible character")
  .refine((v) => codePointLength(v) <= 100, "expected at most 100 characters");
const topic = z
  .string()
  .max(8000, "expected at most 1000 characters")
  .transform(cleanText)
  .refine((v) => codePointLength(v) <= 1000, "expected at most 1000 characters");
const theme = z
  .string()
  .regex(/^#[0-9A-Fa-f]{6}$/, "expected an accent colour such as #3366ff")
  .transform((v) => v.toLowerCase());
const visibility = z.enum(["public", "private"]);
export const createRoomBody = z.object({ name: roomName, topic: topic.optional(), visibility });
const retentionDays = z
  .number()
  .int()
  .min(1)
  .max(3650)
  .nullable()
  .describe("Messages older than this many days are deleted (moderators); null keeps them");
export const updateRoomBody = z.object({
  name: roomName.optional(),
  topic: topic.optional(),
  theme: theme.nullable().optional(),
  visibility: visibility.optional(),
  linkPreviews: z.boolean().optional().describe("Whether links in the room's messages get preview cards (moderators)"),
  allowBots: z
    .boolean()
    .optional()
    .describe("Whether bots may join and post (moderators); bots already in stay but cannot post"),
  retentionDays: retentionDays.optional(),
});
export const roomSchema = z.object({
  id: z.string(),
  name: z.string(),
  topic: z.string(),
  visibility,
  direct: z.boolean(),
  theme: z.string().nullable(),
  linkPreviews: z.boolean().describe("Whether links in the room's messages get preview cards"),
  allowBots: z.boolean().describe("Whether bots may join and post"),
  retentionDays,
  avatarUrl: z.string().nullable(),
  role: z.enum(roles).nullable().describe("The caller's role; null when not a member"),
  permissions: z.array(z.string()).describe("What the caller may do here"),
  unread: z.number(),
  mentions: z.number(),
  lastSeq: z.number(),
  lastReadSeq: z.number(),
  notifications: notificationSettingsSchema.nullable(),
  handle: z.string().describe("The room's WebFinger handle"),
  url: z.string().describe("The room's ActivityPub Group IRI"),
  remote: z.boolean().describe("Whether the room lives on another server"),
  membership: z
    .enum(["joined", "pending", "none"])
    .describe("`pending` while a room on another server has not answered the caller's join"),
  others: z
    .array(actorProfileSchema)
    .describe(
      "In a direct room: the other people in it (never the caller), in the order they joined; it is named and pictured by them. Empty elsewhere",
    ),
  createdAt: z.string(),
});
/** A room as the API shows it to one caller. */
export function serializeRoom(
  deps: Deps,
  room: Room,
  caller: {
    role: Role | null;
    unread?: number;
    mentions?: number;
    lastReadSeq?: number;
    notifications?: NotificationSettings;
    pending?: boolean;
    /** In a direct room: the others in it ({@link directOthers}). */
    others?: readonly ActorProfile[];
  },
): z.infer<typeof roomSchema> {
  const remoteUrl = room.iri ? new URL(room.iri) : undefined;
  const others = room.direct
    ? (caller.others ?? []).map((p) => ({ ...p, emojis: p.emojis ? [...p.emojis] : undefined }))
    : [];
  return {
    id: room.id,
    name: room.direct ? directName(room.name, room.nameChosen, others) : room.name,
    topic: room.topic,
    visibility: room.visibility,
    direct: room.direct,
    theme: room.theme,
    linkPreviews: room.linkPreviews,
    allowBots: room.allowBots,
    retentionDays: room.retentionDays,
    avatarUrl: room.direct ? directAvatar(avatarUrl(deps, room.avatar), others) : avatarUrl(deps, room.avatar),
    role: caller.role,
    permissions: caller.role ? allowedActions(caller.role) : [],
    unread: caller.unread ?? 0,
    mentions: caller.mentions ?? 0,
    lastSeq: room.lastSeq,
    lastReadSeq: caller.lastReadSeq ?? 0,
    notifications: caller.notifications ?? null,
    handle: remoteUrl
      ? `${remoteUrl.pathname.split("/").filter(Boolean).at(-1) ?? room.id}@${remoteUrl.host}`
      : `${room.id}@${handleHost(deps)}`,
    url: room.iri ?? `${deps.config.origin}/rooms/${room.id}`,
    remote: room.iri != null,
    membership: caller.pending ? "pending" : caller.role ? "joined" : "none",
    others,
    createdAt: room.createdAt.toISOString(),
  };
}

export async function roomFor(c: Context<Env>, roomId: string) {
  const deps = c.var.deps;
  const { user } = authenticated(c);
  const [entry] = await listMyRooms(deps, user.id, roomId);
  if (entry) {
    const others = entry.room.direct ? await directOthersOf(deps, user.id, roomId) : [];
    return serializeRoom(deps, entry.room, { ...entry, others });
  }
  const pending = (await pendingRooms(deps, user.id)).find((r) => r.id === roomId);
  if (pending) return serializeRoom(deps, pending, { role: null, pending: true });
  const { room } = await accessRoom(deps, roomId, user.id, "visible");
  return serializeRoom(deps, room, { role: null });
}
