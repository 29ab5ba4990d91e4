/**
 * What other servers run, from their NodeInfo, and which of them are microblogs: programs that
 * show a room's message only when the room announces the note itself (by its id), and ignore
 * FEP-1b12's `Announce{Create{Note}}` (Mastodon's `Announce` handler fetches the object by id and
 * keeps it only if it is a status). Learned in the background, never on the way of a delivery.
 */
import { parseNodeInfo } from "@fedify/fedify";
import type { Deps } from "../src/deps.ts";
import { logger } from "../src/log.ts";
import { fetchRemoteMedia } from "../src/media/remote.ts";
import { knownSoftware, rememberSoftware } from "../src/servers.ts";

const log = logger("federation", "software");

/** NodeInfo `software.name`s of microblogs (Mastodon's forks report `mastodon`). */
const microblogSoftware = new Set([
  "mastodon",
  "hometown",
  "fedibird",
  "pleroma",
  "akkoma",
  "misskey",
  "sharkey",
  "firefish",
  "iceshrimp",
  "foundkey",
  "cherrypick",
  "catodon",
  "gotosocial",
  "hollo",
  "snac",
  "takahe",
  "wildebeest",
  "mitra",
]);

/** How long what a server runs is believed before it is asked again. */
const relearnAfterMs = 24 * 60 * 60 * 1000;
/** How long this process trusts what it read from the database (others may have learned more). */
const cacheMs = 10 * 60 * 1000;
/** NodeInfo fetches in flight at once, per process. */
const maxLearning = 4;

const cache = new Map<string, { software: string | null; at: number; checkedAt: number }>();
const learning = new Set<string>();

/** Whether a NodeInfo software name is a microblog's. */
export function isMicroblog(software: string | null | undefined): boolean {
  return software != null && microblogSoftware.has(software.toLowerCase());
}

/** NodeInfo documents are small; anything larger is not one. */
const maxNodeInfoBytes = 64 * 1024;

/** A JSON document from another server, through the bounded fetcher (public addresses only). */
async function fetchJson(deps: Deps, url: URL): Promise<unknown> {
  const limits = { maxBytes: maxNodeInfoBytes, timeoutMs: 10_000, maxRedirects: 3 };
  const { bytes } = await fetchRemoteMedia(deps.config, url.href, { limits });
  return JSON.parse(new TextDecoder().decode(bytes));
}

const nodeInfoRels = new Set([
  "http://nodeinfo.diaspora.software/ns/schema/2.0",
  "http://nodeinfo.diaspora.software/ns/schema/2.1",
]);

/** The software a server's NodeInfo names (through `/.well-known/nodeinfo`), if any. */
async function nodeInfoSoftware(deps: Deps, origin: string): Promise<{ name: string; version: string | null } | null> {
  const index = (await fetchJson(deps, new URL("/.well-known/nodeinfo", origin))) as { links?: unknown };
  const links = Array.isArray(index?.links) ? (index.links as { rel?: unknown; href?: unknown }[]) : [];
  const href = links.find((l) => typeof l?.rel === "string" && nodeInfoRels.has(l.rel))?.href;
  if (typeof href !== "string" || !URL.canParse(href)) return null;
  const info = parseNodeInfo(await fetchJson(deps, new URL(href)), { tryBestEffort: true });
  return info ? { name: info.software.name, version: String(info.software.version) } : null;
}

/** Reads what a server runs and records it (null when it has no NodeInfo that parses). */
async function learn(deps: Deps, origin: string): Promise<void> {
  let found: { name: string; version: string | null } | null = null;
  try {
    found = await nodeInfoSoftware(deps, origin);
  } catch (error) {
    log.debug("The NodeInfo of {origin} could not be read: {error}", { origin, error });
  }
  await rememberSoftware(deps, origin, found?.name ?? null, found?.version ?? null);
  cache.set(origin, { software: found?.name.toLowerCase() ?? null, at: Date.now(), checkedAt: Date.now() });
}

/** Starts learning what a server runs, unless it is known, being learned, or too many are. */
export function learnSoftware(deps: Deps, origin: string): void {
  if (learning.has(origin) || learning.size >= maxLearning) return;
  learning.add(origin);
  learn(deps, origin)
    .catch((error: unknown) => log.warn("Could not record what {origin} runs: {error}", { origin, error }))
    .finally(() => learning.delete(origin));
}

/**
 * What the servers at these origins run (lowercase NodeInfo software names; null: not known).
 * An origin not learned yet (or learned more than a day ago) is asked in the background.
 */
export async function softwareOf(deps: Deps, origins: readonly string[]): Promise<Map<string, string | null>> {
  const now = Date.now();
  if (cache.size > 10_000) cache.clear();
  const stale = origins.filter((o) => (cache.get(o)?.at ?? 0) < now - cacheMs);
  if (stale.length > 0) {
    const rows = await knownSoftware(deps, stale);
    for (const origin of stale) {
      const row = rows.get(origin);
      cache.set(origin, { software: row?.software ?? null, at: now, checkedAt: row?.checkedAt.getTime() ?? 0 });
    }
  }
  const found = new Map<string, string | null>();
  for (const origin of origins) {
    const known = cache.get(origin);
    if (known == null || known.checkedAt < now - relearnAfterMs) learnSoftware(deps, origin);
    found.set(origin, known?.software ?? null);
  }
  return found;
}

/**
 * The origins among these that run a microblog. One not known yet counts as not one: it gets
 * the room's own activities, which every FEP-1b12 server (ours included) reads.
 */
export async function microblogOrigins(deps: Deps, origins: readonly string[]): Promise<Set<string>> {
  const known = await softwareOf(deps, origins);
  return new Set(origins.filter((origin) => isMicroblog(known.get(origin))));
}
