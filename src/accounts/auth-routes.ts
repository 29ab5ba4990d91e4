import type { Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { Session } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { addressKey, clientAddress } from "../http/client-address.ts";
import { enforceStrictRateLimits } from "../http/rate-limit.ts";
import { cleanName, codePointLength } from "../text.ts";
import { changePassword, login, register } from "./accounts.ts";
import { displayName, meSchema, serializeMe } from "./profile-routes.ts";
import {
  authenticate,
  deviceLabelFrom,
  type IssuedTokens,
  listSessions,
  refreshSession,
  revokeOtherSessions,
  revokeSession,
} from "./sessions.ts";

// ---- Schemas: they validate the requests and describe them in the OpenAPI document. ----

const username = z
  .string()
  .regex(/^[A-Za-z0-9_]{3,32}$/, "expected 3 to 32 characters of a-z, 0-9 and _")
  .describe("3–32 of a-z, 0-9 and _; case-insensitive");
const password = z.string().min(8, "expected at least 8 characters").max(256, "expected at most 256 characters");
const deviceLabel = z
  .string()
  .max(400)
  .transform(cleanName)
  .refine((v) => codePointLength(v) <= 100, "expected at most 100 characters");
const refreshTokenIn = z
  .enum(["cookie", "body"])
  .default("cookie")
  .describe("Where to deliver the refresh token: an HttpOnly cookie (browsers) or the response body");

export const registerBody = z.object({
  username,
  password,
  displayName: displayName.optional(),
  deviceLabel: deviceLabel.optional(),
  refreshTokenIn,
});
export const loginBody = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
  deviceLabel: deviceLabel.optional(),
  refreshTokenIn,
});
export const refreshBody = z.object({ refreshToken: z.string().min(1).max(200).optional() });
export const changePasswordBody = z.object({ currentPassword: z.string().min(1).max(256), newPassword: password });
const sessionIdParams = z.object({ id: z.uuid({ error: "expected a session id" }) });

const tokensSchema = z.object({
  user: meSchema,
  accessToken: z.string(),
  expiresIn: z.number().describe("Seconds until the access token expires"),
  refreshToken: z.string().optional().describe("Only when the refresh token is delivered in the body"),
});
const sessionSchema = z.object({
  id: z.string(),
  deviceLabel: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string(),
  address: z.string().nullable(),
  current: z.boolean(),
});

// ---- Serialisation ----

function serializeSession(session: Session, currentId: string | undefined): z.infer<typeof sessionSchema> {
  return {
    id: session.id,
    deviceLabel: session.deviceLabel,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    address: session.lastAddress,
    current: session.id === currentId,
  };
}

// ---- The refresh cookie ----

/** Browsers keep the refresh token in an HttpOnly cookie sent only to the auth endpoints. */
const cookiePath = "/api/v1/auth";

/**
 * The refresh cookie's name. Cookies ignore the port: two instances on one host (a developer's
 * `npm run two-instances`) would overwrite and clear each other's, signing each other out, so
 * an origin with an explicit port puts it in the name.
 */
function cookieName(deps: Pick<Deps, "config">): string {
  const origin = new URL(deps.config.origin);
  const name = `fedchat_refresh${origin.port ? `_${origin.port}` : ""}`;
  return origin.protocol === "https:" ? `__Secure-${name}` : name;
}

function setRefreshCookie(c: Context<Env>, issued: IssuedTokens): void {
  const deps = c.var.deps;
  setCookie(c, cookieName(deps), issued.refreshToken, {
    path: cookiePath,
    httpOnly: true,
    sameSite: "Strict",
    secure: deps.config.origin.startsWith("https:"),
    maxAge: Math.max(0, Math.floor((issued.refreshExpiresAt.getTime() - Date.now()) / 1000)),
    expires: issued.refreshExpiresAt,
  });
}

function clearRefreshCookie(c: Context<Env>): void {
  const deps = c.var.deps;
  deleteCookie(c, cookieName(deps), {
    path: cookiePath,
    secure: deps.config.origin.startsWith("https:"),
    httpOnly: true,
    sameSite: "Strict",
  });
}

/**
 * The refresh cookie authenticates whatever the browser sends with it: a request that uses it
 * must come from our own pages. `Origin` is checked when the browser sends one, else
 * `Sec-Fetch-Site`; a client that sends neither is no browser (and no page can forge for it).
 * @throws {AppError} `forbidden` for a request from another site.
 */
function assertOwnPage(c: Context<Env>): void {
  const origin = c.req.header("origin");
  const site = c.req.header("sec-fetch-site");
  const foreign = origin != null ? origin !== c.var.deps.config.origin : site != null && site !== "same-origin";
  if (foreign) throw new AppError("forbidden", "The session cookie works only from this server's own pages.");
}

/** Answers a login, registration or refresh: the refresh token goes where the client asked. */
async function tokensResponse(c: Context<Env>, issued: IssuedTokens, deliver: "cookie" | "body", status: 200 | 201) {
  const body: z.infer<typeof tokensSchema> = {
    user: await serializeMe(c.var.deps, issued.user),
    accessToken: issued.accessToken,
    expiresIn: issued.expiresIn,
  };
  if (deliver === "body") body.refreshToken = issued.refreshToken;
  else setRefreshCookie(c, issued);
  c.header("Cache-Control", "no-store");
  return c.json(body, status);
}

// ---- Rate limits (scaled by RATE_LIMIT_FACTOR) ----

function limit(deps: Deps, n: number): number {
  return Math.max(1, Math.round(n * deps.config.rateLimitFactor));
}

/** Mounts the auth endpoints: registration, login, refresh, logout, password and sessions. */
export function authRoutes(api: Api, app: Hono<Env>): void {
  const client = (c: Context<Env>) => {
    const deps = c.var.deps;
    return { address: clientAddress(c, deps.config.trustProxy), userAgent: c.req.header("user-agent") };
  };

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/auth/register",
      tag: "auth",
      summary: "Create an account and log in",
      body: registerBody,
      description:
        "As the server's registration mode allows (`GET /api/v1/instance`): open, 201 with a session; by approval, " +
        "202 and no session until an admin approves the account (logging in answers 403 `account_pending` meanwhile); " +
        "closed, 403 `registrations_closed`.",
      responses: {
        201: { description: "The new user and its first session's tokens", schema: tokensSchema },
        202: {
          description: "The account waits for an admin's approval",
          schema: z.object({ status: z.literal("awaiting_approval") }),
        },
      },
      errors: ["username_taken", "registrations_closed"],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const { address, userAgent } = client(c);
      await enforceStrictRateLimits(deps, [
        { key: `register:addr:${addressKey(address)}`, limit: limit(deps, 5), windowSeconds: 3600 },
      ]);
      const issued = await register(deps, body, {
        deviceLabel: body.deviceLabel || deviceLabelFrom(userAgent),
        address,
      });
      // By approval: the account waits, and nobody is logged in yet.
      if (issued == null) return c.json({ status: "awaiting_approval" as const }, 202);
      return tokensResponse(c, issued, body.refreshTokenIn, 201);
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/auth/login",
      tag: "auth",
      summary: "Log in and start a session",
      body: loginBody,
      responses: { 200: { description: "The user and the new session's tokens", schema: tokensSchema } },
      errors: ["invalid_credentials", "account_pending"],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const { address, userAgent } = client(c);
      // By address, and by account from one address: a limit by account alone would let
      // anyone lock anyone out with ten wrong passwords.
      const from = addressKey(address);
      await enforceStrictRateLimits(deps, [
        { key: `login:addr:${from}`, limit: limit(deps, 30), windowSeconds: 300 },
        { key: `login:user:${body.username.toLowerCase()}:${from}`, limit: limit(deps, 10), windowSeconds: 300 },
      ]);
      const issued = await login(deps, body, { deviceLabel: body.deviceLabel || deviceLabelFrom(userAgent), address });
      return tokensResponse(c, issued, body.refreshTokenIn, 200);
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/auth/refresh",
      tag: "auth",
      summary: "Exchange the refresh token for new tokens",
      description:
        "The refresh token comes from the body or, when absent, the cookie; the new one goes back the same way. " +
        "A refresh token works once: presenting a used one ends the session.",
      body: refreshBody,
      responses: { 200: { description: "New tokens", schema: tokensSchema } },
      errors: ["invalid_refresh_token", "forbidden"],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const fromBody = body.refreshToken;
      if (!fromBody) assertOwnPage(c);
      const presented = fromBody ?? getCookie(c, cookieName(deps));
      if (!presented) throw new AppError("invalid_refresh_token", "Send the refresh token in the body or the cookie.");
      try {
        const issued = await refreshSession(deps, presented, { address: client(c).address });
        return await tokensResponse(c, issued, fromBody ? "body" : "cookie", 200);
      } catch (error) {
        if (!fromBody) clearRefreshCookie(c);
        throw error;
      }
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/auth/logout",
      tag: "auth",
      summary: "End the current session",
      description: "Identifies the session by the bearer token, else by the refresh token (body or cookie).",
      body: refreshBody,
      responses: { 204: { description: "The session has ended" } },
      errors: ["unauthenticated", "token_expired", "invalid_refresh_token", "forbidden"],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const bearer = /^Bearer (.+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
      if (bearer) {
        const { user, session } = await authenticate(deps, bearer);
        await revokeSession(deps, user.id, session.id, "logout");
      } else {
        if (!body.refreshToken) assertOwnPage(c);
        const presented = body.refreshToken ?? getCookie(c, cookieName(deps));
        if (!presented) throw new AppError("unauthenticated", "Send the access token or the refresh token.");
        // Refreshing proves the token is current; the fresh session row is then ended.
        const issued = await refreshSession(deps, presented, { address: client(c).address });
        await revokeSession(deps, issued.user.id, issued.session.id, "logout");
      }
      clearRefreshCookie(c);
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/auth/password",
      tag: "auth",
      summary: "Change the password; every other session ends",
      auth: true,
      body: changePasswordBody,
      responses: {
        200: { description: "Changed", schema: z.object({ revokedSessions: z.number() }) },
      },
      errors: ["invalid_credentials"],
    },
    async (c, { body }) => {
      const deps = c.var.deps;
      const { user, session } = authenticated(c);
      await enforceStrictRateLimits(deps, [
        { key: `password:user:${user.id}`, limit: limit(deps, 10), windowSeconds: 3600 },
      ]);
      return c.json(await changePassword(deps, user.id, session.id, body));
    },
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/auth/sessions",
      tag: "auth",
      summary: "List the sessions (devices) that are logged in",
      auth: true,
      responses: { 200: { description: "Sessions", schema: z.object({ sessions: z.array(sessionSchema) }) } },
    },
    async (c) => {
      const { user, session } = authenticated(c);
      const rows = await listSessions(c.var.deps, user.id);
      return c.json({ sessions: rows.map((row) => serializeSession(row, session.id)) });
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/auth/sessions/:id",
      tag: "auth",
      summary: "End one session",
      auth: true,
      params: sessionIdParams,
      responses: { 204: { description: "Ended" } },
      errors: ["session_not_found"],
    },
    async (c, { params }) => {
      const { user } = authenticated(c);
      await revokeSession(c.var.deps, user.id, params.id, "revoked");
      return c.body(null, 204);
    },
  );

  api.route(
    app,
    {
      method: "delete",
      path: "/api/v1/auth/sessions",
      tag: "auth",
      summary: "End every session but this one",
      auth: true,
      responses: { 200: { description: "Ended", schema: z.object({ revokedSessions: z.number() }) } },
    },
    async (c) => {
      const { user, session } = authenticated(c);
      return c.json({ revokedSessions: await revokeOtherSessions(c.var.deps, user.id, session.id, "revoked") });
    },
  );
}
