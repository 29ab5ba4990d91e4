/**
 * How requests to a bot's URL are signed, and the one function a bot uses to check them. This
 * file imports nothing but `node:crypto`, so a bot can copy it as it is (README, "Writing a bot").
 *
 * Every request fedchat sends to a bot's URL is a `POST` with a JSON body and these headers:
 * - `X-Fedchat-Timestamp`: the Unix time of sending, in whole seconds;
 * - `X-Fedchat-Signature`: `v1=` and the lowercase hex HMAC-SHA256, keyed with the bot's secret
 *   (`fcs_…`, the whole string as UTF-8), of `v1:<timestamp>:<body>` (the body's exact bytes);
 * - `X-Fedchat-Delivery`: an id that is the same on every retry of one request (the
 *   interaction's id for a command), so a bot can drop a repeat.
 *
 * A bot refuses a request whose signature does not match, or whose timestamp is more than
 * {@link replayWindowSeconds} away from its own clock (a captured request replayed later); within
 * the window, a repeated delivery id is a replay too.
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const signatureHeader = "x-fedchat-signature";
export const timestampHeader = "x-fedchat-timestamp";
export const deliveryHeader = "x-fedchat-delivery";
/** How far a request's timestamp may be from the receiver's clock, either way. */
export const replayWindowSeconds = 300;

/** The `X-Fedchat-Signature` value of a body sent at `timestamp` (Unix seconds). */
export function signBotRequest(secret: string, timestamp: number, body: string | Uint8Array): string {
  return `v1=${createHmac("sha256", secret).update(`v1:${timestamp}:`).update(body).digest("hex")}`;
}

/** Why {@link verifyBotRequest} refused a request. */
export type VerifyFailure = "missing" | "timestamp" | "signature";

/**
 * Checks a request a bot received: its signature over the raw body, and its timestamp against
 * the replay window.
 * @param request the two headers as received (undefined when absent) and the body as bytes or
 *   text, exactly as received (parse the JSON only after this passes).
 * @param now the receiver's clock in milliseconds (for tests).
 */
export function verifyBotRequest(
  secret: string,
  request: { signature: string | null | undefined; timestamp: string | null | undefined; body: string | Uint8Array },
  now: number = Date.now(),
): { ok: true } | { ok: false; reason: VerifyFailure } {
  const { signature, timestamp } = request;
  if (!signature || !timestamp) return { ok: false, reason: "missing" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "timestamp" };
  const sent = Number(timestamp);
  if (Math.abs(now / 1000 - sent) > replayWindowSeconds) return { ok: false, reason: "timestamp" };
  const expected = Buffer.from(signBotRequest(secret, sent, request.body));
  const given = Buffer.from(signature);
  // Compared in constant time; a length difference says nothing about the secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "signature" };
  return { ok: true };
}
