/**
 * What a personal access token may reach. Scopes:
 * - `read`: safe methods (GET, HEAD) and the live stream;
 * - `write`: everything `read` allows, and every other method;
 * - `rooms:<uuid>` (any number): only the routes of those rooms (`/api/v1/rooms/<id>/...`) and
 *   `GET /api/v1/me`, still within `read` or `write`. Such a token cannot open the live stream,
 *   which carries the events of every room its user is in.
 *
 * Whatever the scopes, a token never reaches the routes that manage tokens, bots, passwords,
 * sessions and rooms' incoming webhooks: a leaked token cannot mint another credential or lock
 * its owner out.
 * @module
 */
import { z } from "zod";
import { AppError } from "../errors.ts";

const roomScope = /^rooms:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The zod schema of a token's scopes: at least `read` or `write`, rooms optional. */
export const tokenScopes = z
  .array(
    z
      .string()
      .max(60)
      .transform((v) => v.toLowerCase())
      .refine((v) => v === "read" || v === "write" || roomScope.test(v), "expected read, write or rooms:<room id>"),
  )
  .min(1)
  .max(20)
  .transform((scopes) => [...new Set(scopes)])
  .refine((scopes) => scopes.includes("read") || scopes.includes("write"), "expected read or write among the scopes")
  .describe("`read`, `write` (which includes read), and any number of `rooms:<room id>` to limit it to those rooms");

/** Routes no token reaches: they manage credentials, or the server itself (its admins'). */
const credentialRoutes = /^\/api\/v1\/(tokens|bots|auth|admin)(\/|$)/;
/** A room's incoming webhooks: making one hands out a secret URL, a credential of its own. */
const webhookRoutes = /^\/api\/v1\/rooms\/[^/]+\/webhooks(\/|$)/;
const roomRoute = /^\/api\/v1\/rooms\/([0-9a-f-]{36})(\/|$)/i;
const streamTicket = "/api/v1/stream/ticket";

function refuse(message: string): AppError {
  return new AppError("token_scope", message);
}

/**
 * Checks a request against a token's scopes.
 * @throws {AppError} `token_scope` when the token may not make it.
 */
export function checkTokenScope(scopes: readonly string[], method: string, path: string): void {
  if (credentialRoutes.test(path) || webhookRoutes.test(path)) {
    throw refuse(
      "A personal access token cannot manage tokens, bots, webhooks, passwords, sessions or the server; log in for that.",
    );
  }
  const rooms = scopes.flatMap((scope) => roomScope.exec(scope)?.[1] ?? []);
  const safe = method === "GET" || method === "HEAD";
  const write = scopes.includes("write");
  // The ticket is a POST, but opening the stream only reads.
  if (path === streamTicket) {
    if (rooms.length > 0) throw refuse("A token limited to rooms cannot open the live stream.");
    return;
  }
  if (!safe && !write) throw refuse("This token may only read; it needs the write scope for this.");
  if (rooms.length > 0) {
    const room = roomRoute.exec(path)?.[1]?.toLowerCase();
    const allowed = room != null ? rooms.includes(room) : path === "/api/v1/me" && safe;
    if (!allowed) throw refuse("This token is limited to other rooms.");
  }
}

/** Whether a bearer token is a personal access token (rather than a session's access token). */
export function isPersonalAccessToken(token: string): boolean {
  return token.startsWith(personalTokenPrefix);
}

/** What every personal access token starts with, so that it is recognised (and found by secret scanners). */
export const personalTokenPrefix = "fct_";
