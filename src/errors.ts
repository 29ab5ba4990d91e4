/**
 * Every error code a client can see, with its HTTP status and a short title. This list is the
 * single source: problem documents, the OpenAPI document and `/problems/:code` read it.
 * Codes are stable; clients switch on them, never on the text.
 */
export const errorCodes = {
  bad_request: { status: 400, title: "The request is malformed" },
  malformed_json: { status: 400, title: "The body is not valid JSON" },
  unauthenticated: { status: 401, title: "Authentication is required" },
  forbidden: { status: 403, title: "Not allowed" },
  not_a_member: { status: 403, title: "Not a member of this room" },
  not_found: { status: 404, title: "Nothing is at this address" },
  room_not_found: { status: 404, title: "No such room" },
  method_not_allowed: { status: 405, title: "This address does not accept that method" },
  not_acceptable: { status: 406, title: "No acceptable representation" },
  conflict: { status: 409, title: "Conflicts with the current state" },
  payload_too_large: { status: 413, title: "The body is too large" },
  unsupported_media_type: { status: 415, title: "The body's media type is not accepted here" },
  validation_failed: { status: 422, title: "The input is not valid" },
  rate_limited: { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Something went wrong on the server" },
  remote_unreachable: { status: 502, title: "The remote server could not be reached" },
  not_ready: { status: 503, title: "The server is not ready" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** Whether a string is one of the known error codes. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCodes, code);
}

/**
 * An error meant for the client: a stable code, a message safe to show, and optional
 * structured details (for example the fields that failed validation). Anything that is not an
 * `AppError` reaches clients only as `internal`.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  /** Extra response headers, such as `Allow` or `Retry-After`. */
  readonly headers: Readonly<Record<string, string>>;

  /**
   * @param code The stable error code.
   * @param message A message safe to show to the client.
   * @param options `details` for the problem document, `headers` for the response, `cause`.
   */
  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: unknown; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }

  /** The HTTP status of this error's code. */
  get status(): number {
    return errorCodes[this.code].status;
  }
}
