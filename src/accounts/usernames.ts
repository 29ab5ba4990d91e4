import { AppError } from "../errors.ts";

/** 3–32 characters of a-z, 0-9 and underscore, after lowercasing. */
export const usernamePattern = /^[a-z0-9_]{3,32}$/;

/**
 * Names nobody may register: operators' names, names people would mistake for the server, our
 * own path segments (actor IRIs live at `/users/<name>`, and WebFinger handles share one
 * namespace with rooms), and mention keywords.
 */
export const reservedUsernames: ReadonlySet<string> = new Set([
  "admin",
  "administrator",
  "root",
  "sysadmin",
  "system",
  "superuser",
  "owner",
  "staff",
  "support",
  "help",
  "info",
  "security",
  "abuse",
  "postmaster",
  "hostmaster",
  "webmaster",
  "moderator",
  "moderators",
  "mod",
  "mods",
  "official",
  "server",
  "instance",
  "actor",
  "relay",
  "bot",
  "api",
  "auth",
  "oauth",
  "login",
  "logout",
  "register",
  "signup",
  "signin",
  "settings",
  "account",
  "accounts",
  "me",
  "users",
  "user",
  "rooms",
  "room",
  "dms",
  "dm",
  "invite",
  "invites",
  "inbox",
  "outbox",
  "followers",
  "following",
  "media",
  "static",
  "assets",
  "public",
  "well_known",
  "nodeinfo",
  "webfinger",
  "healthz",
  "readyz",
  "problems",
  "everyone",
  "here",
  "channel",
  "all",
  "null",
  "undefined",
  "anonymous",
  "nobody",
]);

/**
 * Normalises and checks a requested username: lowercased (handles are case-insensitive),
 * then 3–32 of a-z, 0-9, `_`, and not reserved.
 * @param instanceHandle The instance actor's handle (the host name), also refused.
 * @throws {AppError} `validation_failed` naming the field.
 */
export function checkUsername(requested: string, instanceHandle: string): string {
  const username = requested.toLowerCase();
  if (!usernamePattern.test(username)) {
    throw new AppError("validation_failed", "A username is 3 to 32 characters of a-z, 0-9 and _.", {
      details: [{ path: "username", message: "expected 3 to 32 characters of a-z, 0-9 and _" }],
    });
  }
  if (reservedUsernames.has(username) || username === instanceHandle.toLowerCase()) {
    throw new AppError("validation_failed", "This username is reserved.", {
      details: [{ path: "username", message: "reserved" }],
    });
  }
  return username;
}
