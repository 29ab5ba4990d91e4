import { isIP } from "node:net";
import type { Context } from "hono";
import { embeddedIpv4 } from "../net.ts";

/**
 * The address of the client: the socket's peer, or when `TRUST_PROXY` says how many proxies
 * stand in front of the server, the address those proxies recorded in `X-Forwarded-For`.
 * The runtime entry passes the socket's address as `c.env.clientAddress`.
 */
export function clientAddress(c: Context, trustedProxies: number): string | undefined {
  const peer = (c.env as { clientAddress?: string } | undefined)?.clientAddress;
  return addressOf(peer, c.req.header("x-forwarded-for"), trustedProxies);
}

/**
 * {@link clientAddress} from its parts, for requests that never reach Hono (the stream's
 * WebSocket upgrades): the socket's peer, and `X-Forwarded-For` when proxies are trusted.
 */
export function addressOf(
  peer: string | undefined,
  forwardedFor: string | null | undefined,
  trustedProxies: number,
): string | undefined {
  if (trustedProxies <= 0) return peer;
  const forwarded = (forwardedFor ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  // Each trusted proxy appended the address it saw; the one before them is the client.
  const candidate = forwarded[forwarded.length - trustedProxies];
  return candidate && isIP(candidate) ? candidate : peer;
}

/**
 * The key under which an address is rate limited: IPv4 as is, IPv6 by its /64 network (one
 * subscriber usually holds a whole /64), IPv4-mapped IPv6 as the IPv4 address.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return "unknown";
  const mapped = embeddedIpv4(address);
  if (mapped) return mapped;
  if (isIP(address) !== 6) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("%")[0]?.split("::") ?? [];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups = address.includes("::")
    ? [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups]
    : headGroups;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
