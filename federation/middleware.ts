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

/** How deep objects and arrays may nest in an activity (real ones stay under 15). */
const maxNesting = 64;

/** Whether objects and arrays nest more than `limit` levels deep in a parsed JSON value (iteratively). */
function nestedDeeperThan(json: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[json, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (value == null || typeof value !== "object") continue;
    if (depth >= limit) return true;
    for (const inner of Array.isArray(value) ? value : Object.values(value)) stack.push([inner, depth + 1]);
  }
  return false;
}

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
  // JSON-LD processing recurses through the document: a deeply nested one (an inline
  // `inReplyTo` chain, say) would exhaust the stack.
  if (nestedDeeperThan(json, maxNesting)) {
    throw new AppError("bad_request", `The activity is nested more than ${maxNesting} levels deep.`);
  }
  // A blocked server is refused wherever it appears: as the signer, or any IRI in the activity.
  // `keyId` in draft-cavage `Signature`, `keyid` in RFC 9421 `Signature-Input`.
  // (RFC 9421 sends a `Signature` header too, without the key.)
  const keyId = /keyId="([^"]+)"/i.exec(
    `${c.req.header("signature") ?? ""} ${c.req.header("signature-input") ?? ""}`,
  )?.[1];
  const blocked = await blockedHostIn(c.var.deps, [json, keyId ?? null]);
  if (blocked) throw new AppError("server_blocked", `Activities that involve ${blocked} are refused here.`);
  // A server speaks only for its own actors: Fedify believes a key document's `owner`, so a key
  // served by one server that names another server's actor as its owner must not sign for it.
  const actor = (json as { actor?: unknown }).actor;
  const actorIri = typeof actor === "string" ? actor : (actor as { id?: unknown } | null)?.id;
  if (keyId && typeof actorIri === "string" && URL.canParse(keyId) && URL.canParse(actorIri)) {
    if (new URL(keyId).origin !== new URL(actorIri).origin) {
      throw new AppError("unauthenticated", "The activity is signed by a key of another server than its actor's.");
    }
  }
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
    const inboxPost = c.req.method === "POST" && c.req.path.endsWith("/inbox");
    const response = await federation
      .fetch(c.req.raw, {
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
      })
      .catch((error: unknown) => {
        // A document whose JSON-LD cannot be expanded (a context that does not load, an id that
        // is no IRI) is the sender's fault, not ours.
        if (inboxPost && error instanceof Error && error.name.startsWith("jsonld.")) {
          throw new AppError("bad_request", "The activity's JSON-LD could not be processed.", { cause: error });
        }
        throw error;
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
