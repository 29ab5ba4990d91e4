import { withContext } from "@logtape/logtape";
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { routePath } from "hono/route";
import { secureHeaders } from "hono/secure-headers";
import { accessRoutes } from "../access/routes.ts";
import { checkAddress } from "../access/rules.ts";
import { instanceRoutes } from "../accounts/instance-routes.ts";
import { accountRoutes } from "../accounts/routes.ts";
import type { AuthUser } from "../accounts/sessions.ts";
import { commandRoutes } from "../bots/routes.ts";
import { contactRoutes } from "../contacts/routes.ts";
import { databaseUnavailable, isDatabaseUnavailable } from "../db/errors.ts";
import type { Session } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { emojiRoutes } from "../emoji/routes.ts";
import { AppError, codeForStatus, errorCodes, isErrorCode } from "../errors.ts";
import { invitationRoutes } from "../invitations/routes.ts";
import { logger } from "../log.ts";
import { attachmentRoutes } from "../media/routes.ts";
import { pinRoutes } from "../messages/pin-routes.ts";
import { messageRoutes } from "../messages/routes.ts";
import { threadRoutes } from "../messages/thread-routes.ts";
import { metricsTokenMatches } from "../metrics.ts";
import { notificationRoutes } from "../notifications/routes.ts";
import { previewRoutes } from "../previews/routes.ts";
import { reportRoutes } from "../reports/routes.ts";
import { inviteRoutes } from "../rooms/invite-routes.ts";
import { memberRoutes } from "../rooms/member-routes.ts";
import { membershipRoutes } from "../rooms/membership-routes.ts";
import { roomRoutes } from "../rooms/routes.ts";
import { searchRoutes } from "../search/routes.ts";
import { stickerRoutes } from "../stickers/routes.ts";
import type { Hub } from "../stream/hub.ts";
import { streamRoutes } from "../stream/routes.ts";
import { webhookRoutes } from "../webhooks/routes.ts";
import { Api } from "./api.ts";
import { requireUser } from "./auth.ts";
import { clientAddress } from "./client-address.ts";
import { problemResponse } from "./problem.ts";
import { webRoutes } from "./web.ts";

/** Hono's environment for every route of this server. */
export interface Env {
  Bindings: {
    /** The socket peer's address, passed by the runtime entry. */
    clientAddress?: string;
  };
  Variables: {
    deps: Deps;
    origin: string;
    requestId: string;
    /** The live stream hub of this process, when it runs one. */
    hub?: Hub;
    /** Set by `requireUser`: the user without secrets (see `authUserColumns`). */
    user?: AuthUser;
    session?: Session;
    /** Set by `requireUser` for a personal access token: its id and scopes. */
    token?: { readonly id: string; readonly scopes: readonly string[] };
    /** The metrics' route label of a request answered by a front-end: `(inbox)`, `(federation)`. */
    metricsRoute?: string | undefined;
  };
}

/** The answer of a readiness probe. */
export interface Readiness {
  readonly ready: boolean;
  /** One entry per check, `ok` or what is wrong. */
  readonly checks: Readonly<Record<string, string>>;
}

/** What the app factory needs besides the domain dependencies. */
export interface AppOptions {
  /** Answers `/readyz`: database reachable, migrations applied, not shutting down. */
  readiness(): Promise<Readiness>;
  /**
   * Middleware mounted in front of the routes, in order: the federation layer plugs Fedify in
   * here, so src/ never imports federation/.
   */
  frontends?: readonly MiddlewareHandler<Env>[];
  /** The live stream hub (absent in tests that need no stream). */
  hub?: Hub;
  /** Extra routes mounted after the built-in ones (tests'). */
  routes?: (app: Hono<Env>, api: Api) => void;
  /** The built browser client's folder (default web/dist), or `false` to serve no client. */
  web?: string | false;
}

const log = logger("http");

/**
 * Whether an error is a request body that stopped arriving because the client hung up: Node's
 * "aborted" (code ECONNRESET) while reading it. (An outgoing request that fails is "fetch
 * failed", never this.)
 */
function clientWentAway(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.message === "aborted" || (error as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE")
  );
}

/**
 * Builds the HTTP application: request ids, access logs, security headers, body limits,
 * problem documents for every error, health probes, then the front-ends (Fedify) and routes.
 * The Node entry and the Deno entry both serve what this returns.
 */
export function createApp(deps: Deps, options: AppOptions): Hono<Env> {
  const app = new Hono<Env>();

  app.use(requestId({ limitLength: 64 }));
  app.use(async (c, next) => {
    c.set("deps", deps);
    if (options.hub) c.set("hub", options.hub);
    c.set("origin", deps.config.origin);
    const started = performance.now();
    await withContext({ requestId: c.var.requestId }, async () => {
      await next();
      const status = c.res.status;
      const elapsed = performance.now() - started;
      // The pattern of the route that answered, never the path: a bounded set of labels. What
      // Fedify answered is `(inbox)` or `(federation)`; what the not-found handler did, `/*`.
      const pattern = routePath(c);
      const route = pattern === "/*" ? (c.var.metricsRoute ?? pattern) : pattern;
      deps.metrics.observeRequest(c.req.method, route, status, elapsed / 1000);
      const fields = {
        method: c.req.method,
        path: c.req.path,
        status,
        ms: Math.round(elapsed * 10) / 10,
      };
      if (status >= 500) log.error("{method} {path} {status} in {ms} ms", fields);
      else log.info("{method} {path} {status} in {ms} ms", fields);
    });
  });
  app.use(
    secureHeaders({
      // Defaults only: a route that sets its own header (an avatar's sandboxing CSP and
      // cross-origin resource policy) keeps it.
      overwrite: false,
      // The JSON API and federation documents never need to load anything; the web client
      // sets its own policy when it is served.
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"] },
      crossOriginResourcePolicy: "same-site",
      referrerPolicy: "no-referrer",
      strictTransportSecurity: new URL(deps.config.origin).protocol === "https:" ? "max-age=31536000" : false,
    }),
  );
  // Access rules by address, before any other work of an API request.
  app.use("/api/*", async (c, next) => {
    const path = c.req.path;
    const scope =
      c.req.method !== "POST"
        ? null
        : path === "/api/v1/auth/register"
          ? "signup"
          : path === "/api/v1/auth/login"
            ? "login"
            : null;
    await checkAddress(deps, clientAddress(c, deps.config.trustProxy), scope);
    return next();
  });
  const api = new Api(requireUser);
  const limiters = new Map<number, MiddlewareHandler>();
  app.use((c, next) => {
    const max = api.bodyLimitFor(c.req.method, c.req.path) ?? deps.config.bodyLimit;
    let limiter = limiters.get(max);
    if (limiter == null) {
      limiter = bodyLimit({
        maxSize: max,
        onError: () => {
          throw new AppError("payload_too_large", `The body is larger than ${max} bytes.`);
        },
      });
      limiters.set(max, limiter);
    }
    return limiter(c, next);
  });
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        problemResponse(c, "method_not_allowed", `${c.req.method} is not allowed here.`, {
          headers: { Allow: methods.join(", ") },
        }),
    }),
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const readiness = await options.readiness();
    if (readiness.ready) return c.json({ status: "ready", checks: readiness.checks });
    return problemResponse(c, "not_ready", "The server is not ready to serve requests.", {
      details: readiness.checks,
      headers: { "Retry-After": "5" },
    });
  });
  app.get("/problems/:code", (c) => {
    const code = c.req.param("code");
    if (!isErrorCode(code)) throw new AppError("not_found", "No such problem type.");
    return c.json({ code, ...errorCodes[code] });
  });

  app.get("/metrics", async (c) => {
    const token = deps.config.metricsToken;
    // Without a token nothing is exposed, as if there were no such path.
    if (token == null) return problemResponse(c, "not_found", `Nothing is at ${c.req.path}.`);
    if (!metricsTokenMatches(c.req.header("authorization"), token)) {
      return problemResponse(c, "unauthenticated", "The metrics need the bearer token set in METRICS_TOKEN.", {
        headers: { "WWW-Authenticate": 'Bearer realm="metrics"' },
      });
    }
    const { body, contentType } = await deps.metrics.render();
    return c.body(body, 200, { "Content-Type": contentType, "Cache-Control": "no-store" });
  });

  for (const frontend of options.frontends ?? []) app.use(frontend);
  accountRoutes(api, app);
  instanceRoutes(api, app);
  accessRoutes(api, app);
  roomRoutes(api, app);
  memberRoutes(api, app);
  inviteRoutes(api, app);
  messageRoutes(api, app);
  invitationRoutes(api, app);
  pinRoutes(api, app);
  membershipRoutes(api, app);
  threadRoutes(api, app);
  streamRoutes(api, app);
  contactRoutes(api, app);
  attachmentRoutes(api, app, deps.config);
  notificationRoutes(api, app);
  reportRoutes(api, app);
  previewRoutes(api, app);
  searchRoutes(api, app);
  stickerRoutes(api, app);
  emojiRoutes(api, app);
  webhookRoutes(api, app);
  commandRoutes(api, app);
  options.routes?.(app, api);
  if (options.web !== false) webRoutes(app, options.web);
  const openapi = JSON.stringify(api.document(deps.config.origin));
  app.get("/api/v1/openapi.json", (c) => c.body(openapi, 200, { "Content-Type": "application/json" }));

  app.notFound((c) => problemResponse(c, "not_found", `Nothing is at ${c.req.path}.`));
  app.onError((error, c) => {
    if (error instanceof AppError) {
      return problemResponse(c, error.code, error.message, { details: error.details, headers: error.headers });
    }
    if (clientWentAway(error)) {
      // Nobody will read this answer; it is the client's doing, not a fault of ours.
      log.info("The client closed the connection during {method} {path}.", { method: c.req.method, path: c.req.path });
      return problemResponse(c, "bad_request", "The request was cut short.");
    }
    if (error instanceof HTTPException && error.status < 500) {
      const code = codeForStatus(error.status);
      return problemResponse(c, code, error.message || errorCodes[code].title);
    }
    if (isDatabaseUnavailable(error)) {
      // An outage, not a bug: one line per request, and the client is told to come back.
      log.warn("The database is unreachable on {method} {path}: {cause}", {
        method: c.req.method,
        path: c.req.path,
        cause: String((error as { cause?: unknown }).cause ?? error),
      });
      const unavailable = databaseUnavailable(error);
      return problemResponse(c, unavailable.code, unavailable.message, { headers: unavailable.headers });
    }
    log.error("Unhandled error on {method} {path}: {error}", { method: c.req.method, path: c.req.path, error });
    return problemResponse(c, "internal", "An unexpected error occurred; it has been logged.");
  });
  return app;
}
