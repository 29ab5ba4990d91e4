/**
 * Every error code a client can see, with its HTTP status and a short title. This list is the
 * single source: problem documents, the OpenAPI document and `/problems/:code` read it.
 * Codes are stable; clients switch on them, never on the text.
 */
export const errorCodes = {
  bad_request: { status: 400, title: "The request is malformed" },
  malformed_json: { status: 400, title: "The body is not valid JSON" },
  unauthenticated: { status: 401, title: "Authentication is required" },
  token_expired: { status: 401, title: "The access token has expired; refresh it" },
  invalid_credentials: { status: 401, title: "Wrong username or password" },
  invalid_refresh_token: { status: 401, title: "The refresh token is not valid" },
  forbidden: { status: 403, title: "Not allowed" },
  admin_only: { status: 403, title: "Only an admin of this server may do this" },
  registrations_closed: { status: 403, title: "Sign-up is closed on this server" },
  account_pending: { status: 403, title: "The account waits for an admin's approval" },
  address_denied: { status: 403, title: "An access rule of this server refuses your network" },
  not_a_member: { status: 403, title: "Not a member of this room" },
  banned: { status: 403, title: "Banned from this room" },
  server_blocked: { status: 403, title: "This server's administrators block that server" },
  token_scope: { status: 403, title: "The personal access token's scopes do not allow this" },
  bots_forbidden: { status: 403, title: "This room does not allow bots" },
  not_found: { status: 404, title: "Nothing is at this address" },
  report_not_found: { status: 404, title: "No such report" },
  room_not_found: { status: 404, title: "No such room" },
  user_not_found: { status: 404, title: "No such user" },
  session_not_found: { status: 404, title: "No such session" },
  token_not_found: { status: 404, title: "No such personal access token" },
  bot_not_found: { status: 404, title: "No such bot" },
  webhook_not_found: { status: 404, title: "No such webhook" },
  command_not_found: { status: 404, title: "No bot in this room offers that command" },
  interaction_not_found: { status: 404, title: "No such command interaction" },
  interaction_expired: { status: 410, title: "The command interaction has expired or been answered enough" },
  member_not_found: { status: 404, title: "No such member in this room" },
  message_not_found: { status: 404, title: "No such message in this room" },
  invite_not_found: { status: 404, title: "No such invite" },
  invite_expired: { status: 410, title: "The invite has expired, been used up or been revoked" },
  not_invited: { status: 403, title: "This invitation is not for you" },
  invitation_expired: { status: 410, title: "The invitation has expired" },
  method_not_allowed: { status: 405, title: "This address does not accept that method" },
  not_acceptable: { status: 406, title: "No acceptable representation" },
  conflict: { status: 409, title: "Conflicts with the current state" },
  managed_remotely: { status: 409, title: "The room's home server manages this" },
  username_taken: { status: 409, title: "This username is taken" },
  command_ambiguous: { status: 409, title: "Several bots offer that command; name the bot" },
  bot_limit_reached: { status: 409, title: "As many bots as allowed; delete one first" },
  webhook_limit_reached: { status: 409, title: "The room has as many webhooks as it may; revoke one first" },
  token_limit_reached: { status: 409, title: "As many personal access tokens as allowed; revoke some first" },
  already_member: { status: 409, title: "Already a member of this room" },
  rooms_owned: { status: 409, title: "You own rooms others are in: hand them over or delete them first" },
  export_not_found: { status: 404, title: "No such export of your data" },
  export_not_ready: { status: 409, title: "The export of your data is not ready yet" },
  pin_limit_reached: { status: 409, title: "The room has as many pinned messages as it may; unpin one first" },
  sticker_pack_not_found: { status: 404, title: "No such sticker pack" },
  sticker_not_found: { status: 404, title: "No such sticker" },
  sticker_limit_reached: { status: 409, title: "As many sticker packs or stickers as allowed; delete some first" },
  payload_too_large: { status: 413, title: "The body is too large" },
  quota_exceeded: { status: 413, title: "The upload would exceed your storage quota" },
  invalid_filename: { status: 422, title: "The file name is not acceptable" },
  media_type_mismatch: { status: 415, title: "The file's bytes do not match its name or declared type" },
  attachment_not_found: { status: 404, title: "No such attachment" },
  emoji_not_found: { status: 404, title: "No such custom emoji" },
  shortcode_taken: { status: 409, title: "Another custom emoji has this shortcode" },
  link_expired: { status: 410, title: "This link has expired; ask for a fresh one" },
  notification_not_found: { status: 404, title: "No such notification" },
  contact_request_not_found: { status: 404, title: "No such contact request" },
  unsupported_media_type: { status: 415, title: "The body's media type is not accepted here" },
  validation_failed: { status: 422, title: "The input is not valid" },
  unsupported_activity: { status: 422, title: "This server does not handle activities of that type" },
  unsupported_object: { status: 422, title: "This server does not handle objects of that type" },
  rate_limited: { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Something went wrong on the server" },
  remote_unreachable: { status: 502, title: "The remote server could not be reached" },
  bot_unavailable: { status: 502, title: "The bot could not be reached or gave no usable answer" },
  remote_media_refused: {
    status: 502,
    title: "The file on the other server was refused (too large, or not what it claims)",
  },
  not_ready: { status: 503, title: "The server is not ready" },
  busy: { status: 503, title: "The server is busy; try again later" },
  database_unavailable: { status: 503, title: "The database cannot be reached; try again shortly" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** The generic code for an HTTP status, for errors that come with a status only. */
export function codeForStatus(status: number): ErrorCode {
  const generic: Record<number, ErrorCode> = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    502: "remote_unreachable",
    503: "not_ready",
  };
  return generic[status] ?? (status >= 500 ? "internal" : "bad_request");
}

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
