import { DrizzleQueryError } from "drizzle-orm/errors";
import { AppError } from "../errors.ts";

/** What a client is told to wait before trying again while the database is unreachable. */
export const databaseRetryAfterSeconds = 2;

/** Errors of the socket under postgres.js: the server is down, restarting, or out of reach. */
const socketCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** postgres.js's own names for a connection that ended, was cut, or never finished opening. */
const driverCodes = new Set(["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT"]);

/**
 * SQLSTATEs that mean "this connection or server is gone", not "this statement is wrong":
 * admin_shutdown (a fast stop or restart), crash_shutdown, cannot_connect_now (starting up or
 * shutting down); class 08 is connection_exception.
 */
function isUnavailableState(state: string): boolean {
  return state === "57P01" || state === "57P02" || state === "57P03" || /^08[0-9A-Z]{3}$/.test(state);
}

/**
 * Whether an error says the database cannot be reached (down, restarting, out of reach),
 * rather than that a statement failed. Recognises postgres.js's errors as they are and as
 * drizzle wraps them (a `DrizzleQueryError` whose `cause` is the driver's error). Socket
 * error codes count only on the driver's error itself: the same codes under another wrapper
 * (`fetch failed`) are some other server's trouble.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current = error;
  // Drizzle's wrapper carries the driver's error as its cause (bounded: a cause may loop).
  for (let depth = 0; depth < 4 && current instanceof DrizzleQueryError; depth++) current = current.cause;
  if (current == null || typeof current !== "object") return false;
  const code = (current as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  if ((current as { name?: unknown }).name === "PostgresError") return isUnavailableState(code);
  return socketCodes.has(code) || driverCodes.has(code);
}

/**
 * The client's view of an unreachable database: 503 `database_unavailable` with `Retry-After`.
 * @param cause The driver's error, kept for the log.
 */
export function databaseUnavailable(cause?: unknown): AppError {
  return new AppError("database_unavailable", "The database cannot be reached; try again in a few seconds.", {
    headers: { "Retry-After": String(databaseRetryAfterSeconds) },
    cause,
  });
}
