import type { RoomMember } from "../db/schema.ts";
import { AppError } from "../errors.ts";

/** Roles, highest first. */
export const roles = ["owner", "admin", "moderator", "member"] as const;
export type Role = (typeof roles)[number];

/**
 * What each role may do in a room. This table is the single source: the domain checks it on
 * every write, and the room's `permissions` field shows the caller theirs.
 *
 * | action            | owner | admin | moderator | member |
 * |-------------------|:-----:|:-----:|:---------:|:------:|
 * | rename            |   ✓   |   ✓   |           |        |
 * | setTopic          |   ✓   |   ✓   |     ✓     |        |
 * | setAvatar         |   ✓   |   ✓   |           |        |
 * | setTheme          |   ✓   |   ✓   |           |        |
 * | setVisibility     |   ✓   |   ✓   |           |        |
 * | setLinkPreviews   |   ✓   |   ✓   |     ✓     |        |
 * | setBots           |   ✓   |   ✓   |     ✓     |        |
 * | manageWebhooks    |   ✓   |   ✓   |     ✓     |        |
 * | setRetention      |   ✓   |   ✓   |     ✓     |        |
 * | invite            |   ✓   |   ✓   |     ✓     |        |
 * | kick              |   ✓   |   ✓   |     ✓     |        |
 * | ban               |   ✓   |   ✓   |     ✓     |        |
 * | deleteOthers      |   ✓   |   ✓   |     ✓     |        |
 * | pin               |   ✓   |   ✓   |     ✓     |        |
 * | changeRoles       |   ✓   |   ✓   |           |        |
 * | viewModerationLog |   ✓   |   ✓   |     ✓     |        |
 * | deleteRoom        |   ✓   |       |           |        |
 *
 * Acting on another member (kick, ban, role change, deleting their messages) also needs a
 * higher role than theirs; a role can be granted only below one's own, and only the owner
 * hands over ownership.
 */
export const permissions = {
  rename: ["owner", "admin"],
  setTopic: ["owner", "admin", "moderator"],
  setAvatar: ["owner", "admin"],
  setTheme: ["owner", "admin"],
  setVisibility: ["owner", "admin"],
  setLinkPreviews: ["owner", "admin", "moderator"],
  setBots: ["owner", "admin", "moderator"],
  manageWebhooks: ["owner", "admin", "moderator"],
  setRetention: ["owner", "admin", "moderator"],
  invite: ["owner", "admin", "moderator"],
  kick: ["owner", "admin", "moderator"],
  ban: ["owner", "admin", "moderator"],
  deleteOthers: ["owner", "admin", "moderator"],
  pin: ["owner", "admin", "moderator"],
  changeRoles: ["owner", "admin"],
  viewModerationLog: ["owner", "admin", "moderator"],
  deleteRoom: ["owner"],
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof permissions;

/** The rank of a role: owner 3 … member 0. */
export function rank(role: Role): number {
  return roles.length - 1 - roles.indexOf(role);
}

/** Whether a role may take an action. */
export function allows(role: Role, action: Action): boolean {
  return (permissions[action] as readonly Role[]).includes(role);
}

/** The actions a role may take, for the client. */
export function allowedActions(role: Role): Action[] {
  return (Object.keys(permissions) as Action[]).filter((action) => allows(role, action));
}

/**
 * Checks that `member` may take `action`, on `target` if given (whose role must be lower).
 * @throws {AppError} `forbidden`.
 */
export function authorize(member: Pick<RoomMember, "role">, action: Action, target?: Pick<RoomMember, "role">): void {
  if (!allows(member.role, action)) {
    throw new AppError("forbidden", `Your role (${member.role}) may not ${describe(action)} in this room.`);
  }
  if (target && rank(target.role) >= rank(member.role)) {
    throw new AppError("forbidden", `You may not ${describe(action)} a member whose role is ${target.role}.`);
  }
}

function describe(action: Action): string {
  return action.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
}
