/**
 * Which hosts an admin's server block covers: the blocked host itself and every subdomain of
 * it. Federation refuses their activities with it, and the domain leaves them out of whom it
 * tells things.
 */
import { inArray } from "drizzle-orm";
import { blockedServers } from "./db/schema.ts";
import type { Deps } from "./deps.ts";
import { canonicalHost } from "./net.ts";

/**
 * A host as block lists compare it: lowercase, port kept when not the default, IP literals in
 * one form (`[::ffff:127.0.0.3]` and `2130706435` are both 127.0.0.3).
 */
export function hostOf(iri: URL | string): string {
  const host = (typeof iri === "string" ? new URL(iri) : iri).host.toLowerCase();
  return canonicalHost(host) ?? host;
}

/** The names a block of which covers this host: itself and each parent domain. */
function blockNames(host: string): string[] {
  const labels = host.replace(/:\d+$/, "").split(".");
  return [host, ...labels.slice(0, -1).map((_, i) => labels.slice(i).join("."))];
}

/**
 * Those of these hosts (as {@link hostOf} gives them) that a block covers, in one query for
 * them all.
 */
export async function blockedAmong(deps: Pick<Deps, "db">, hosts: readonly string[]): Promise<Set<string>> {
  if (hosts.length === 0) return new Set();
  const rows = await deps.db
    .select({ host: blockedServers.host })
    .from(blockedServers)
    .where(inArray(blockedServers.host, [...new Set(hosts.flatMap(blockNames))]));
  const blocked = new Set(rows.map((r) => r.host));
  return new Set(hosts.filter((host) => blockNames(host).some((name) => blocked.has(name))));
}
