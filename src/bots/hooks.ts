/**
 * A bot's outgoing webhook: the URL fedchat calls (commands, pushed events) and the secret it
 * signs with (signature.ts). Calls go through the bounded fetcher (src/media/remote.ts): public
 * addresses only, DNS pinned to the checked address, no redirects, a size and a time limit.
 * Loopback addresses (and plain http) are allowed only with `BOT_HOOKS_ALLOW_LOOPBACK` (tests, a
 * bot on the same machine in development), or with `FEDERATION_ALLOW_PRIVATE_ADDRESS`.
 * @module
 */
import { randomBytes, randomUUID } from "node:crypto";
import { isIP } from "node:net";
import { eq } from "drizzle-orm";
import type { AuthUser } from "../accounts/sessions.ts";
import type { DatabaseLike } from "../db/client.ts";
import { botHooks } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { fetchRemoteMedia, isPrivateAddress, type RemoteFetchLimits } from "../media/remote.ts";
import { embeddedIpv4 } from "../net.ts";
import { announceCommands, requireBot } from "./commands.ts";
import { deliveryHeader, signatureHeader, signBotRequest, timestampHeader } from "./signature.ts";

/** The events a bot may have pushed to its URL. */
export const pushableEvents = ["message.created"] as const;
export type PushableEvent = (typeof pushableEvents)[number];

/** A call to a bot: its answer must come within 5 s and 64 KiB. */
export const botCallLimits: RemoteFetchLimits = { maxBytes: 64 * 1024, timeoutMs: 5000, maxRedirects: 0 };

/** What a bot (and its owner) sees of its hook: never the secret after it was set. */
export interface HookView {
  readonly url: string;
  readonly events: readonly string[];
  readonly createdAt: string;
}

function isLoopback(address: string): boolean {
  const v4 = isIP(address) === 4 ? address : embeddedIpv4(address);
  if (v4) return v4.startsWith("127.");
  return address === "::1";
}

/** Whether a bot's URL may be at this address. */
function allowedAddress(deps: Pick<Deps, "config">): (address: string) => boolean {
  return (address) =>
    !isPrivateAddress(address) ||
    deps.config.allowPrivateAddress ||
    (deps.config.botHooksAllowLoopback && isLoopback(address));
}

/**
 * Checks a hook URL before it is kept: http(s), no credentials, https unless loopback is
 * allowed. Where it resolves to is checked at each call, since DNS can change.
 * @throws {AppError} `validation_failed`.
 */
export function checkHookUrl(deps: Pick<Deps, "config">, url: string): string {
  const invalid = (detail: string) =>
    new AppError("validation_failed", "The url is not acceptable.", { details: [{ path: "url", message: detail }] });
  if (!URL.canParse(url)) throw invalid("expected an absolute URL");
  const parsed = new URL(url);
  if (parsed.username || parsed.password) throw invalid("expected a URL without credentials");
  const plain = deps.config.botHooksAllowLoopback || deps.config.allowPrivateAddress;
  if (parsed.protocol !== "https:" && !(plain && parsed.protocol === "http:")) throw invalid("expected an https URL");
  parsed.hash = "";
  return parsed.href;
}

/**
 * Sets (or replaces) the bot's hook with a fresh secret, which is returned only here: the old
 * secret stops working at once.
 */
export async function setHook(
  deps: Pick<Deps, "config" | "db">,
  bot: AuthUser,
  input: { url: string; events: readonly PushableEvent[] },
): Promise<{ hook: HookView; secret: string }> {
  requireBot(bot);
  const url = checkHookUrl(deps, input.url);
  const secret = `fcs_${randomBytes(32).toString("base64url")}`;
  const values = { url, secret, events: [...new Set(input.events)], createdAt: new Date() };
  const row = await deps.db.transaction(async (tx) => {
    const [written] = await tx
      .insert(botHooks)
      .values({ botId: bot.id, ...values })
      .onConflictDoUpdate({ target: botHooks.botId, set: values })
      .returning();
    await announceCommands(tx, bot.id);
    return written;
  });
  if (row == null) throw new Error("The hook was not written.");
  return { hook: hookView(row), secret };
}

export function hookView(row: typeof botHooks.$inferSelect): HookView {
  return { url: row.url, events: row.events, createdAt: row.createdAt.toISOString() };
}

/** The bot's hook, if it has one. */
export async function hookOf(db: DatabaseLike, botId: string): Promise<typeof botHooks.$inferSelect | undefined> {
  const [row] = await db.select().from(botHooks).where(eq(botHooks.botId, botId));
  return row;
}

/** Removes the bot's hook; its commands are no longer offered, and pending pushes are dropped. */
export async function deleteHook(deps: Pick<Deps, "db">, bot: AuthUser): Promise<boolean> {
  requireBot(bot);
  return await deps.db.transaction(async (tx) => {
    const gone = await tx.delete(botHooks).where(eq(botHooks.botId, bot.id)).returning({ id: botHooks.botId });
    if (gone.length > 0) await announceCommands(tx, bot.id);
    return gone.length > 0;
  });
}

/**
 * POSTs a signed JSON body to a bot's URL through the bounded fetcher.
 * @param deliveryId the same on every retry of this request.
 * @returns the answer's bytes (empty for none).
 * @throws {AppError} `remote_unreachable` (with `details.reason`) or `payload_too_large`.
 */
export async function callBot(
  deps: Pick<Deps, "config">,
  hook: { url: string; secret: string },
  body: string,
  deliveryId: string = randomUUID(),
): Promise<Uint8Array> {
  const timestamp = Math.floor(Date.now() / 1000);
  const answer = await fetchRemoteMedia(deps.config, hook.url, {
    limits: botCallLimits,
    allowAddress: allowedAddress(deps),
    accept: "application/json",
    userAgent: "fedchat bot hooks",
    post: {
      body,
      headers: {
        "content-type": "application/json",
        [timestampHeader]: String(timestamp),
        [signatureHeader]: signBotRequest(hook.secret, timestamp, body),
        [deliveryHeader]: deliveryId,
      },
    },
  });
  return answer.bytes;
}
