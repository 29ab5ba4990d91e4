import { ApiError } from "./api.ts";

/** A wait in words: "40 seconds", "5 minutes", "2 hours". */
export function waitText(seconds: number): string {
  const [value, unit] =
    seconds < 90
      ? [seconds, "second"]
      : seconds < 5400
        ? [Math.ceil(seconds / 60), "minute"]
        : [Math.ceil(seconds / 3600), "hour"];
  return `${value} ${unit}${value === 1 ? "" : "s"}`;
}

/** What an error means for the user, by the problem's code. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return "Something went wrong.";
  switch (error.code) {
    case "network":
      return "You are offline or the server cannot be reached.";
    case "rate_limited": {
      const seconds = (error.details as { retryAfter?: unknown } | undefined)?.retryAfter;
      return typeof seconds === "number" && seconds > 0
        ? `Too many attempts: try again in ${waitText(seconds)}.`
        : "Too many attempts: wait a moment and try again.";
    }
    case "unauthenticated":
      return "Your session has ended: sign in again.";
    case "forbidden":
    case "not_a_member":
      return error.message || "You are not allowed to do that.";
    case "room_not_found":
      return "This room does not exist or you cannot see it.";
    case "validation_failed": {
      const details = Array.isArray(error.details) ? (error.details as { path?: string; message?: string }[]) : [];
      const first = details[0];
      return first?.message ? `${first.path ? `${first.path}: ` : ""}${first.message}` : error.message;
    }
    default:
      return error.message || "Something went wrong.";
  }
}
