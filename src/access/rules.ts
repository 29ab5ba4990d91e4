/**
 * Access rules by address (issue 19): CIDR allow and deny lists for sign-up, login and the
 * whole API, kept in `access_rules` and checked by the HTTP layer before any other work of a
 * request. Each process compiles them into `net.BlockList`s and reads them again at most
 * {@link rulesMaxAgeMs} after it last did, so a rule added on one process (or by the command
 * line) holds everywhere within that time; a change made here holds here at once.
 * @module
 */
import { BlockList, isIP } from "node:net";
import { asc, eq } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import type { DatabaseLike } from "../db/client.ts";
import { accessRules } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { embeddedIpv4 } from "../net.ts";

export const accessScopes = ["signup", "login", "api"] as const;
export type AccessScope = (typeof accessScopes)[number];
export type AccessAction = "allow" | "deny";

/** How stale a process's copy of the rules may be. */
export const rulesMaxAgeMs = 2000;
/** Rules kept at most: each request is checked against all of a scope's. */
export const maxRules = 1000;

export interface AccessRule {
  readonly id: string;
  readonly cidr: string;
  readonly action: AccessAction;
  readonly scope: AccessScope;
  readonly note: string;
  readonly createdAt: string;
}

/** A network: `addr/prefix`, or a bare address (a /32 or /128). */
interface Network {
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/**
 * Reads a CIDR (`203.0.113.0/24`, `2001:db8::/32`, a bare address) into its normal form, the
 * network's first address and its prefix: `203.0.113.7/24` is `203.0.113.0/24`.
 * @throws {AppError} `validation_failed` when it is not one.
 */
export function normalizeCidr(input: string): string {
  const network = parseCidr(input);
  if (network == null) {
    throw new AppError(
      "validation_failed",
      `${JSON.stringify(input.slice(0, 100))} is not an address or a CIDR network.`,
    );
  }
  const first = firstAddress(network);
  // An IPv4-mapped (or NAT64) network is the IPv4 one: clients are checked by their IPv4 address.
  const ipv4 = network.family === "ipv6" && network.prefix >= 96 ? embeddedIpv4(first) : undefined;
  return ipv4 ? `${ipv4}/${network.prefix - 96}` : `${first}/${network.prefix}`;
}

function parseCidr(input: string): Network | undefined {
  const [address = "", prefixText, extra] = input.trim().toLowerCase().split("/");
  if (extra !== undefined || address.includes("%")) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const bits = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return undefined;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** The first address of a network, in the canonical text form (RFC 5952 for IPv6). */
function firstAddress(network: Network): string {
  const bytes = toBytes(network.address, network.family);
  for (let bit = network.prefix; bit < bytes.length * 8; bit++) {
    bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) & ~(0x80 >> (bit & 7));
  }
  if (network.family === "ipv4") return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return canonicalIpv6(groups.join(":"));
}

/** An IPv6 address as WHATWG URLs write it: lowercase, zeros compressed, no dotted tail. */
function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

function toBytes(address: string, family: "ipv4" | "ipv6"): Uint8Array {
  if (family === "ipv4") return Uint8Array.from(address.split(".").map(Number));
  const [head = "", tail] = canonicalIpv6(address).split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill("0");
  const bytes = new Uint8Array(16);
  [...headGroups, ...zeros, ...tailGroups].forEach((group, i) => {
    const value = Number.parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 255;
  });
  return bytes;
}

/**
 * One scope's rules, compiled: a list per action and address family. Kept apart by family
 * because a `BlockList` checks an IPv4 address against its IPv6 subnets too, as `::ffff:a.b.c.d`:
 * a rule for `::/0` must not catch every IPv4 client.
 */
interface Compiled {
  readonly allow: Lists | null;
  readonly deny: Lists | null;
}
interface Lists {
  readonly ipv4: BlockList;
  readonly ipv6: BlockList;
}

interface Loaded {
  readonly at: number;
  readonly scopes: ReadonlyMap<AccessScope, Compiled>;
}

// Per database (a test's instance, the server's pool): the compiled rules, the read under way,
// and how many changes this process made (a read that began before the last one is not kept).
const loaded = new WeakMap<object, Loaded>();
const loading = new WeakMap<object, Promise<Loaded>>();
const changes = new WeakMap<object, number>();

async function load(db: DatabaseLike): Promise<Loaded> {
  const version = changes.get(db) ?? 0;
  const rows = await db.select().from(accessRules).orderBy(asc(accessRules.createdAt)).limit(maxRules);
  const lists = new Map<AccessScope, { allow: Lists | null; deny: Lists | null }>();
  for (const row of rows) {
    const network = parseCidr(row.cidr);
    if (network == null) continue;
    const entry = lists.get(row.scope) ?? { allow: null, deny: null };
    const list = entry[row.action] ?? { ipv4: new BlockList(), ipv6: new BlockList() };
    list[network.family].addSubnet(network.address, network.prefix, network.family);
    entry[row.action] = list;
    lists.set(row.scope, entry);
  }
  const result = { at: Date.now(), scopes: lists };
  if ((changes.get(db) ?? 0) === version) loaded.set(db, result);
  return result;
}

/** Forgets this process's copy of the rules after it changed them. */
function changed(db: DatabaseLike): void {
  changes.set(db, (changes.get(db) ?? 0) + 1);
  loaded.delete(db);
  loading.delete(db);
}

async function current(db: DatabaseLike): Promise<Loaded> {
  const have = loaded.get(db);
  if (have && Date.now() - have.at < rulesMaxAgeMs) return have;
  let pending = loading.get(db);
  if (pending == null) {
    pending = load(db).finally(() => loading.delete(db));
    loading.set(db, pending);
  }
  return await pending;
}

/** Whether one scope's rules let an address through. */
function admits(compiled: Compiled | undefined, address: string | undefined): boolean {
  if (compiled == null) return true;
  // An address we cannot read (no socket address) matches no network: allow lists refuse it.
  const ipv4 = address ? embeddedIpv4(address) : undefined;
  const family = ipv4
    ? "ipv4"
    : address && isIP(address) === 6
      ? "ipv6"
      : address && isIP(address) === 4
        ? "ipv4"
        : null;
  const plain = ipv4 ?? address;
  const matches = (list: Lists | null) =>
    list != null && family != null && plain != null && list[family].check(plain, family);
  if (matches(compiled.deny)) return false;
  return compiled.allow == null || matches(compiled.allow);
}

/**
 * Checks a request's address against the rules of the API and of the request's own scope
 * (sign-up, login).
 * @throws {AppError} `address_denied` when a rule refuses it.
 */
export async function checkAddress(
  deps: Pick<Deps, "db">,
  address: string | undefined,
  scope: AccessScope | null,
): Promise<void> {
  const rules = await current(deps.db);
  if (rules.scopes.size === 0) return;
  const refused =
    !admits(rules.scopes.get("api"), address) || (scope != null && !admits(rules.scopes.get(scope), address));
  if (refused) {
    throw new AppError(
      "address_denied",
      scope === "signup" ? "Sign-up is not open to your network." : "Your network may not use this server.",
    );
  }
}

function view(row: typeof accessRules.$inferSelect): AccessRule {
  return {
    id: row.id,
    cidr: row.cidr,
    action: row.action,
    scope: row.scope,
    note: row.note,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Every rule, oldest first. */
export async function listAccessRules(deps: Pick<Deps, "db">): Promise<AccessRule[]> {
  return (await deps.db.select().from(accessRules).orderBy(asc(accessRules.createdAt), asc(accessRules.id))).map(view);
}

/**
 * Adds a rule (the same rule again is the one there already); it holds in this process at once.
 * @throws {AppError} `validation_failed` for a bad CIDR or past {@link maxRules}.
 */
export async function addAccessRule(
  deps: Pick<Deps, "db">,
  rule: { cidr: string; action: AccessAction; scope: AccessScope; note?: string },
): Promise<AccessRule> {
  const cidr = normalizeCidr(rule.cidr);
  const existing = await deps.db.select().from(accessRules);
  const same = existing.find((r) => r.cidr === cidr && r.action === rule.action && r.scope === rule.scope);
  if (same) return view(same);
  if (existing.length >= maxRules) throw new AppError("validation_failed", `There are ${maxRules} rules already.`);
  const [row] = await deps.db
    .insert(accessRules)
    .values({ id: uuidv7(), cidr, action: rule.action, scope: rule.scope, note: rule.note ?? "" })
    .onConflictDoNothing()
    .returning();
  changed(deps.db);
  if (row) return view(row);
  const [raced] = (await listAccessRules(deps)).filter(
    (r) => r.cidr === cidr && r.action === rule.action && r.scope === rule.scope,
  );
  if (raced == null) throw new AppError("conflict", "The rule changed meanwhile: try again.");
  return raced;
}

/** Removes a rule by id; whether there was one. */
export async function removeAccessRule(deps: Pick<Deps, "db">, id: string): Promise<boolean> {
  const removed = await deps.db.delete(accessRules).where(eq(accessRules.id, id)).returning({ id: accessRules.id });
  changed(deps.db);
  return removed.length > 0;
}
