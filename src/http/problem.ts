import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ErrorCode, errorCodes } from "../errors.ts";

/** RFC 9457 media type. */
export const problemMediaType = "application/problem+json";

/** The body of a problem document as this server writes it. */
export interface ProblemDocument {
  /** A URI naming the problem type: `<origin>/problems/<code>`, which describes it. */
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The stable code clients switch on. */
  code: ErrorCode;
  /** The request id, for matching a report with the server's logs. */
  requestId?: string;
  /** Structured details, such as the fields that failed validation. */
  details?: unknown;
}

/**
 * Builds an RFC 9457 problem response.
 * @param c The request context (for the origin and request id).
 * @param code The stable error code; sets the status and title.
 * @param detail A message safe to show to the client.
 */
export function problemResponse(
  c: Context,
  code: ErrorCode,
  detail: string,
  options: { details?: unknown; headers?: Readonly<Record<string, string>> } = {},
): Response {
  const { status, title } = errorCodes[code];
  const origin = (c.get("origin") as string | undefined) ?? new URL(c.req.url).origin;
  const requestId = c.get("requestId") as string | undefined;
  const body: ProblemDocument = { type: `${origin}/problems/${code}`, title, status, detail, code };
  if (requestId) body.requestId = requestId;
  if (options.details !== undefined) body.details = options.details;
  return c.body(JSON.stringify(body), status as ContentfulStatusCode, {
    ...options.headers,
    "Content-Type": problemMediaType,
  });
}
