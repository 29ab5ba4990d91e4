import type { Context, MiddlewareHandler } from "hono";
import { authenticateAccessToken } from "../accounts/access-tokens.ts";
import { type AuthUser, authenticate } from "../accounts/sessions.ts";
import { checkTokenScope, isPersonalAccessToken } from "../accounts/token-scopes.ts";
import type { Session } from "../db/schema.ts";
import { AppError } from "../errors.ts";
import type { Env } from "./app.ts";
import { clientAddress } from "./client-address.ts";

/**
 * Authenticates `Authorization: Bearer <access token>` and sets `c.var.user` and
 * `c.var.session`; anything else is 401 `unauthenticated` (or `token_expired`). A personal
 * access token (`fct_…`) is looked up on every request and held to its scopes (403
 * `token_scope`), and sets `c.var.token` too.
 */
export const requireUser: MiddlewareHandler<Env> = async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  // RFC 9110 §11.1: the scheme is case-insensitive.
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header);
  if (match?.[1] == null) {
    throw new AppError("unauthenticated", "Send an access token: Authorization: Bearer <token>.", {
      headers: { "WWW-Authenticate": "Bearer" },
    });
  }
  const deps = c.var.deps;
  const address = clientAddress(c, deps.config.trustProxy);
  if (isPersonalAccessToken(match[1])) {
    const { user, session, token } = await authenticateAccessToken(deps, match[1], address);
    checkTokenScope(token.scopes, c.req.method, c.req.path);
    c.set("user", user);
    c.set("session", session);
    c.set("token", token);
    return await next();
  }
  const { user, session } = await authenticate(deps, match[1], address);
  c.set("user", user);
  c.set("session", session);
  await next();
};

/** The authenticated user and session of a request that went through {@link requireUser}. */
export function authenticated(c: Context<Env>): { user: AuthUser; session: Session } {
  const { user, session } = c.var;
  if (user == null || session == null) throw new AppError("unauthenticated", "Authentication is required.");
  return { user, session };
}

/**
 * After {@link requireUser}: lets only the instance's admins through (`npm run admin --
 * users:role <name> admin`); anyone else gets 403 `admin_only`.
 */
export const requireAdmin: MiddlewareHandler<Env> = async (c, next) => {
  if (authenticated(c).user.role !== "admin") {
    throw new AppError("admin_only", "Only an admin of this server may do this.");
  }
  await next();
};
