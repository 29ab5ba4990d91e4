import { asc, desc, eq, inArray, like, or, sql } from "drizzle-orm";
import { actors, blockedServers, inboxRefusals, knownServers, roomMembers } from "./db/schema.ts";
import type { Deps } from "./deps.ts";
import { AppError } from "./errors.ts";
import { canonicalHost } from "./net.ts";
import { removeRemoteMember } from "./rooms/remote.ts";

/**
 * A host as the block list stores it: lowercase, port kept, no scheme or path, IP literals in
 * their one canonical form (see {@link canonicalHost}). Accepts a bare host (`bad.example`,
 * `bad.example:8443`, `127.0.0.3`, `[2001:db8::1]`) or a URL.
 * @throws {AppError} `validation_failed` for anything else.
 */
export function normalizeHost(input: string): string {
  const text = input.trim().toLowerCase();
  const host = text.includes("://") ? (URL.canParse(text) ? new URL(text).host : "") : text;
  const canonical = /^[a-z0-9.:[\]-]+$/.test(host) ? canonicalHost(host) : undefined;
  // Labels of a-z, 0-9 and inner `-`, separated by single dots, or an IP literal; optional port.
  const label = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?";
  const name = new RegExp(`^(?:${label}(?:\\.${label})*|\\[[0-9a-f:.]+\\])(?::\\d{1,5})?$`);
  if (canonical == null || !name.test(canonical))
    throw new AppError("validation_failed", `Not a server name: ${input}`);
  return canonical;
}

/**
 * Blocks a server: its activities and every activity naming it are refused from now on, and
 * its users leave the rooms hosted here. Subdomains are blocked with it.
 */
export async function blockServer(deps: Deps, input: string, reason = ""): Promise<{ host: string; removed: number }> {
  const host = normalizeHost(input);
  await deps.db
    .insert(blockedServers)
    .values({ host, reason })
    .onConflictDoUpdate({ target: blockedServers.host, set: { reason } });
  const members = await deps.db
    .select({ roomId: roomMembers.roomId, actorId: roomMembers.actorId })
    .from(roomMembers)
    .innerJoin(actors, eq(actors.id, roomMembers.actorId))
    .where(
      or(like(actors.iri, `http://${host}/%`), like(actors.iri, `https://${host}/%`), like(actors.iri, `%.${host}/%`)),
    );
  for (const m of members) await removeRemoteMember(deps, m.roomId, m.actorId, "banned");
  return { host, removed: members.length };
}

/** Lifts a block; returns whether there was one. */
export async function unblockServer(deps: Deps, input: string): Promise<boolean> {
  const host = normalizeHost(input);
  const removed = await deps.db.delete(blockedServers).where(eq(blockedServers.host, host)).returning();
  return removed.length > 0;
}

/** The blocked servers, by name. */
export async function listBlockedServers(deps: Pick<Deps, "db">) {
  return await deps.db.select().from(blockedServers).orderBy(asc(blockedServers.host));
}

/** Types counted per server before the rest count as `(other)`. */
const refusalTypesPerHost = 100;

/** What the inbox refuses for its type: an activity it does not handle, or such an object. */
export type RefusalCode = "unsupported_activity" | "unsupported_object";

/**
 * Counts a delivery the inbox refused for its type. One statement; a server that invents
 * types without end gets at most {@link refusalTypesPerHost} rows, then `(other)`.
 * @param host The host of the signing key, or `(unsigned)`.
 */
export async function recordRefusal(deps: Pick<Deps, "db">, host: string, code: RefusalCode, type: string) {
  const name = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(type) ? type : "(other)";
  await deps.db.execute(sql`
    INSERT INTO ${inboxRefusals} (host, code, type)
    SELECT ${host}, ${code}, CASE
      WHEN EXISTS (SELECT 1 FROM ${inboxRefusals} WHERE host = ${host} AND code = ${code} AND type = ${name})
        OR (SELECT count(*) FROM ${inboxRefusals} WHERE host = ${host}) < ${refusalTypesPerHost}
      THEN ${name} ELSE '(other)' END
    ON CONFLICT (host, code, type) DO UPDATE SET count = ${inboxRefusals}.count + 1, last_at = now()`);
}

/** The refusals counted, the most recent first. */
export async function listRefusals(deps: Pick<Deps, "db">) {
  return await deps.db.select().from(inboxRefusals).orderBy(desc(inboxRefusals.lastAt)).limit(1_000);
}

/** What the servers at these origins run, as last learned (`software` null: unreadable). */
export async function knownSoftware(
  deps: Pick<Deps, "db">,
  origins: readonly string[],
): Promise<Map<string, { software: string | null; checkedAt: Date }>> {
  if (origins.length === 0) return new Map();
  const rows = await deps.db
    .select()
    .from(knownServers)
    .where(inArray(knownServers.origin, [...origins]));
  return new Map(rows.map((r) => [r.origin, { software: r.software, checkedAt: r.checkedAt }]));
}

/** Records what a server runs (its NodeInfo's software name and version, or null for neither). */
export async function rememberSoftware(
  deps: Pick<Deps, "db">,
  origin: string,
  software: string | null,
  version: string | null,
): Promise<void> {
  const values = {
    origin,
    software: software?.toLowerCase().slice(0, 64) ?? null,
    version: version?.slice(0, 64) ?? null,
    checkedAt: new Date(),
  };
  await deps.db.insert(knownServers).values(values).onConflictDoUpdate({ target: knownServers.origin, set: values });
}
