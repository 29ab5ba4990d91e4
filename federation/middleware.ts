import type { Federation } from "@fedify/fedify";
import type { MiddlewareHandler } from "hono";
import type { Deps } from "../src/deps.ts";
import { AppError, codeForStatus, errorCodes } from "../src/errors.ts";
import type { Env } from "../src/http/app.ts";
import { problemMediaType, problemResponse } from "../src/http/problem.ts";
import { logger } from "../src/log.ts";
import { inviteRoomId } from "../src/rooms/invites.ts";
import { isEphemeral, receiveRoomNotice } from "./ephemeral.ts";
import { relayFast } from "./inbox-fast.ts";
import { checkInbox, readInbox } from "./inbox-guard.ts";
import { ed25519KeyDocument, ed25519KeyPath } from "./keys.ts";
import { receivePresence } from "./presence.ts";
import type { RelayBatcher } from "./relay-batch.ts";
import { withEmptyFeatured } from "./room-collections.ts";
import type { WorkGate } from "./work-gate.ts";

const log = logger("federation", "inbox");

/** Paths that are never ActivityPub, WebFinger or NodeInfo: skip Fedify's routing for them. */
const appOnly = /^\/(api\/|healthz$|readyz$|problems\/)/;

/**
 * Mounts Fedify in front of the Hono routes: Fedify answers the ActivityPub, WebFinger and
 * NodeInfo requests it knows; everything else (and content negotiation that asks for HTML)
 * falls through to the routes. Fedify's own error answers become problem documents.
 */
export function fedifyMiddleware(
  federation: Federation<Deps>,
  gate: WorkGate,
  relay?: RelayBatcher,
): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (appOnly.test(c.req.path)) return next();
    const inboxPost = c.req.method === "POST" && c.req.path.endsWith("/inbox");
    // For the request metrics: what Fedify answers has no route pattern of its own.
    c.set("metricsRoute", inboxPost ? "(inbox)" : "(federation)");
    const delivery = inboxPost ? await readInbox(c) : undefined;
    const invite = c.req.method === "GET" ? /^\/invite\/([A-Za-z0-9_-]{16,64})$/.exec(c.req.path)?.[1] : undefined;
    if (invite && /application\/(activity\+json|ld\+json)/.test(c.req.header("accept") ?? "")) {
      // Another server resolving an invite link: the room's `Group` is what it leads to.
      const roomId = await inviteRoomId(c.var.deps, invite);
      return c.redirect(`${c.var.deps.config.origin}/rooms/${roomId}`, 302);
    }
    const keyOf = c.req.method === "GET" ? ed25519KeyPath.exec(c.req.path)?.[1] : undefined;
    if (keyOf) {
      const ctx = federation.createContext(c.req.raw, c.var.deps);
      const document = await ed25519KeyDocument(ctx, keyOf);
      if (document != null)
        return c.body(JSON.stringify(document), 200, { "content-type": "application/activity+json" });
    }
    let fellThrough = false;
    const handle = () =>
      federation.fetch(c.req.raw, {
        contextData: c.var.deps,
        onNotFound: async () => {
          fellThrough = true;
          c.set("metricsRoute", undefined);
          await next();
          return c.res;
        },
        // Fedify cannot tell whether the actor exists before it negotiates, and the shared actor
        // path `/{+identifier}` matches every path: a request that does not ask for ActivityPub
        // is simply the app's (the web client serves pages for actor URLs).
        onNotAcceptable: async () => {
          fellThrough = true;
          c.set("metricsRoute", undefined);
          await next();
          return c.res;
        },
      });
    // Verifying and parsing a delivery is CPU work that does not yield: within the work budget.
    // What the fast path leaves to do (waiting for its batch to commit) is done outside it.
    const checkedHandle = async (): Promise<Response | (() => Promise<Response>)> => {
      if (delivery) {
        const activity = await checkInbox(c, delivery.bytes);
        const fast = relay && (await relayFast(c, federation, relay, activity, delivery.bytes, delivery.sender));
        if (fast) return fast;
        if (relay && activity.type === "Announce") c.var.deps.metrics.inboxFastPath.inc({ outcome: "declined" });
        // What is not queued (typing, read positions, presence) is ours alone, and answered at once.
        if (isEphemeral(activity)) {
          return activity.type === "Presence"
            ? await receivePresence(c, activity, delivery.bytes)
            : await receiveRoomNotice(c, activity, delivery.bytes);
        }
      }
      return await handle();
    };
    const gated = async () => {
      const outcome = await gate.run((delivery as { sender: string }).sender, checkedHandle);
      return typeof outcome === "function" ? await outcome() : outcome;
    };
    const response = await (delivery ? gated() : handle()).catch((error: unknown) => {
      // A document whose JSON-LD cannot be expanded (a context that does not load, an id that
      // is no IRI) is the sender's fault, not ours; so is one whose values Fedify's parser
      // chokes on (`published: 3` or `""`, in the activity or in the signer's actor document),
      // which it throws as a TypeError or RangeError; so is a key that is not one (an embedded
      // actor's `publicKeyPem` that is not PEM, which the ASN.1 reader throws as an AsnError,
      // WebCrypto's import as a DataError). Only parsing and verifying run here: our
      // listeners run later, from the queue.
      const unparsable =
        error instanceof TypeError ||
        error instanceof RangeError ||
        error instanceof SyntaxError ||
        (error instanceof Error && (error.name === "AsnError" || error.name === "DataError"));
      if (inboxPost && error instanceof Error && (error.name.startsWith("jsonld.") || unparsable)) {
        log.info("Refused a delivery that could not be parsed: {error}", { error });
        throw new AppError("bad_request", "The activity or a document it names could not be processed.", {
          cause: error,
        });
      }
      // Fedify checks draft-cavage signatures with RSASSA-PKCS1-v1_5 whatever the key: a key
      // of another kind (an Ed25519 key with `algorithm="ed25519-sha512"` or `hs2019`) makes
      // WebCrypto throw. Such a signature is not one we can verify.
      if (inboxPost && error instanceof Error && error.name === "InvalidAccessError") {
        throw new AppError("unauthenticated", "The signature's key is of a kind this server does not verify.", {
          cause: error,
        });
      }
      throw error;
    });
    if (fellThrough) return;
    // A deleted account's actor: 410 Gone with its `Tombstone`, which other servers read as it is.
    const tombstone = response.status === 410 && /json/.test(response.headers.get("content-type") ?? "");
    if (response.status >= 400 && !tombstone && !response.headers.get("content-type")?.startsWith(problemMediaType)) {
      const code = codeForStatus(response.status);
      const text = response.status >= 500 ? "" : (await response.text()).trim().slice(0, 300);
      c.res = problemResponse(c, code, text || errorCodes[code].title, {
        headers: Object.fromEntries([...response.headers].filter(([name]) => /^(allow|retry-after|vary)$/i.test(name))),
      });
      return;
    }
    c.res = await withEmptyFeatured(new URL(c.req.url), response);
  };
}
