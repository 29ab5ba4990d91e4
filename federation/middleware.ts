import type { Federation } from "@fedify/fedify";
import type { MiddlewareHandler } from "hono";
import type { Deps } from "../src/deps.ts";
import { AppError, codeForStatus, errorCodes } from "../src/errors.ts";
import type { Env } from "../src/http/app.ts";
import { problemMediaType, problemResponse } from "../src/http/problem.ts";
import { previewInvite } from "../src/rooms/invites.ts";
import { blockedHostIn } from "./remote.ts";

/** Paths that are never ActivityPub, WebFinger or NodeInfo: skip Fedify's routing for them. */
const appOnly = /^\/(api\/|healthz$|readyz$|problems\/)/;

const jsonType = /^application\/(activity\+json|ld\+json|json)\s*(;|$)/i;

/**
 * Checks an inbox POST before Fedify sees it: a JSON media type and a body that parses,
 * so that every malformed delivery gets the same coded problem as the rest of the API.
 * The body's bytes are passed on untouched (their digest is signed).
 */
async function guardInbox(c: Parameters<MiddlewareHandler<Env>>[0]): Promise<void> {
  if (!jsonType.test(c.req.header("content-type") ?? "")) {
    throw new AppError("unsupported_media_type", "Deliver activities as application/activity+json.");
  }
  const bytes = new Uint8Array(await c.req.raw.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new AppError("malformed_json", "The activity is not valid JSON.", { cause });
  }
  if (json == null || typeof json !== "object" || Array.isArray(json)) {
    throw new AppError("bad_request", "An activity is a JSON object.");
  }
  // A blocked server is refused wherever it appears: as the signer, or any IRI in the activity.
  const keyId = /keyId="([^"]+)"/.exec(c.req.header("signature") ?? c.req.header("signature-input") ?? "")?.[1];
  const blocked = await blockedHostIn(c.var.deps, [json, keyId ?? null]);
  if (blocked) throw new AppError("server_blocked", `Activities that involve ${blocked} are refused here.`);
  c.req.raw = new Request(c.req.raw.url, { method: "POST", headers: c.req.raw.headers, body: bytes });
}

/**
 * Mounts Fedify in front of the Hono routes: Fedify answers the ActivityPub, WebFinger and
 * NodeInfo requests it knows; everything else (and content negotiation that asks for HTML)
 * falls through to the routes. Fedify's own error answers become problem documents.
 */
export function fedifyMiddleware(federation: Federation<Deps>): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (appOnly.test(c.req.path)) return next();
    if (c.req.method === "POST" && c.req.path.endsWith("/inbox")) await guardInbox(c);
    const invite = c.req.method === "GET" ? /^\/invite\/([A-Za-z0-9_-]{16,64})$/.exec(c.req.path)?.[1] : undefined;
    if (invite && /application\/(activity\+json|ld\+json)/.test(c.req.header("accept") ?? "")) {
      // Another server resolving an invite link: the room's `Group` is what it leads to.
      const { room } = await previewInvite(c.var.deps, invite);
      return c.redirect(`${c.var.deps.config.origin}/rooms/${room.id}`, 302);
    }
    let fellThrough = false;
    const response = await federation.fetch(c.req.raw, {
      contextData: c.var.deps,
      onNotFound: async () => {
        fellThrough = true;
        await next();
        return c.res;
      },
      // Fedify cannot tell whether the actor exists before it negotiates, and the shared actor
      // path `/{+identifier}` matches every path: a request that does not ask for ActivityPub
      // is simply the app's (the web client serves pages for actor URLs).
      onNotAcceptable: async () => {
        fellThrough = true;
        await next();
        return c.res;
      },
    });
    if (fellThrough) return;
    if (response.status >= 400 && !response.headers.get("content-type")?.startsWith(problemMediaType)) {
      const code = codeForStatus(response.status);
      const text = response.status >= 500 ? "" : (await response.text()).trim().slice(0, 300);
      c.res = problemResponse(c, code, text || errorCodes[code].title, {
        headers: Object.fromEntries([...response.headers].filter(([name]) => /^(allow|retry-after|vary)$/i.test(name))),
      });
      return;
    }
    c.res = response;
  };
}
