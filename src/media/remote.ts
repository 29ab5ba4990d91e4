import { lookup as dnsLookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP } from "node:net";
import type { Config } from "../config.ts";
import { AppError } from "../errors.ts";
import { embeddedIpv4 } from "../net.ts";

/** Bounds of one remote fetch. */
export interface RemoteFetchLimits {
  /** The most bytes accepted; a larger answer is cut off and refused. */
  readonly maxBytes: number;
  /** The whole fetch, redirects included, must finish in this time. */
  readonly timeoutMs: number;
  /** How many redirects are followed, each checked like the first URL. */
  readonly maxRedirects: number;
}

/** Defaults for remote attachments: images and files of federated messages. */
export const remoteMediaLimits: RemoteFetchLimits = { maxBytes: 25 * 1024 * 1024, timeoutMs: 20_000, maxRedirects: 3 };

/** A fetched remote file. */
export interface RemoteMedia {
  /** The bytes, as received; what the remote server declared about them is not trusted. */
  readonly bytes: Uint8Array;
  /** The URL the bytes came from, after redirects. */
  readonly finalUrl: string;
  /** The `Content-Type` the remote server declared, if any (a hint only: not checked here). */
  readonly contentType: string | undefined;
  /** Whether the body went on past `maxBytes` and was cut there (only with `truncate`). */
  readonly truncated: boolean;
}

/** How {@link fetchRemoteMedia} treats one kind of answer (a page rather than a file). */
export interface RemoteFetchOptions {
  /** Replace {@link remoteMediaLimits}. */
  limits?: RemoteFetchLimits;
  /** Replaces DNS (tests). */
  resolve?: Resolver;
  /** Replaces the address policy (tests: to let a loopback server stand for a public one). */
  allowAddress?: (address: string) => boolean;
  /** The `Accept` header; any type when left out. */
  accept?: string;
  /**
   * Checked against the declared `Content-Type` before a byte of the body is read: false
   * refuses the answer (`details.reason` `media_type`) and closes the connection.
   */
  acceptContentType?: (contentType: string | undefined) => boolean;
  /** Keep the first `maxBytes` of a longer body instead of refusing it (a page's head is enough). */
  truncate?: boolean;
  /**
   * A body to POST instead of a GET, with its headers (a bot's signed request). A POST follows
   * no redirect: a 3xx answer is refused (`redirects`), so a signed body never goes elsewhere.
   */
  post?: { readonly body: string; readonly headers: Readonly<Record<string, string>> };
  /** The `User-Agent` header. */
  userAgent?: string;
}

/** How host names become addresses; tests pass their own. */
export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

// Addresses a server must never be made to fetch from (SSRF): RFC 6890 special-purpose
// ranges, for IPv4 and IPv6, including IPv4-mapped IPv6 and NAT64 forms of the private ones.
const forbidden = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  forbidden.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001::", 23],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  forbidden.addSubnet(network, prefix, "ipv6");
}

/** Whether an address is one that federation may not reach (private, loopback, link-local, reserved). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return forbidden.check(address, "ipv4");
  if (family !== 6) return true;
  const embedded = embeddedIpv4(address);
  if (embedded) return forbidden.check(embedded, "ipv4");
  return forbidden.check(address, "ipv6");
}

function refused(message: string, reason: string, cause?: unknown, status?: number): AppError {
  return new AppError("remote_unreachable", message, { details: { reason, ...(status ? { status } : {}) }, cause });
}

/**
 * Resolves a URL's host and checks every address it resolves to; the request is then pinned to
 * the first checked address, so a second DNS answer (rebinding) cannot send it elsewhere.
 */
async function checkedAddress(url: URL, allow: (address: string) => boolean, resolve: Resolver): Promise<string> {
  if (url.protocol !== "https:" && url.protocol !== "http:") throw refused("Only http(s) URLs are fetched.", "scheme");
  if (url.username || url.password) throw refused("URLs with credentials are not fetched.", "credentials");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : await resolve(host);
  } catch (cause) {
    throw refused(`${host} could not be resolved.`, "dns", cause);
  }
  if (addresses.length === 0) throw refused(`${host} has no address.`, "dns");
  if (!addresses.every(allow)) {
    throw refused(`${host} resolves to a private or reserved address.`, "private_address");
  }
  return addresses[0] as string;
}

interface Hop {
  readonly status: number;
  readonly location: string | undefined;
  readonly response: http.IncomingMessage;
}

function request(
  url: URL,
  address: string,
  signal: AbortSignal,
  options: Pick<RemoteFetchOptions, "accept" | "post" | "userAgent">,
): Promise<Hop> {
  const client = url.protocol === "https:" ? https : http;
  const post = options.post;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        signal,
        method: post ? "POST" : "GET",
        headers: {
          ...post?.headers,
          accept: options.accept ?? "*/*",
          "user-agent": options.userAgent ?? "fedchat media fetcher",
          ...(post ? { "content-length": String(Buffer.byteLength(post.body)) } : {}),
        },
        // Connect to the address that was checked, whatever DNS says now; TLS still verifies
        // the certificate against the host name.
        lookup: (_host, options, callback) => {
          const family = isIP(address);
          if ((options as { all?: boolean }).all) callback(null, [{ address, family }]);
          else (callback as (e: null, a: string, f: number) => void)(null, address, family);
        },
      },
      (response) => resolve({ status: response.statusCode ?? 0, location: response.headers.location, response }),
    );
    req.on("error", reject);
    req.end(post?.body);
  });
}

/**
 * Reads a body into memory, refusing it as soon as it passes `maxBytes`, or with `truncate`
 * keeping the first `maxBytes` and closing the connection there.
 */
async function download(
  response: http.IncomingMessage,
  maxBytes: number,
  truncate: boolean,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const tooLarge = () => new AppError("payload_too_large", `The remote file is larger than ${maxBytes} bytes.`);
  const declared = Number(response.headers["content-length"]);
  if (!truncate && Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    const piece = chunk as Buffer;
    if (size + piece.length > maxBytes) {
      response.destroy();
      if (!truncate) throw tooLarge();
      chunks.push(piece.subarray(0, maxBytes - size));
      return { bytes: new Uint8Array(Buffer.concat(chunks, maxBytes)), truncated: true };
    }
    size += piece.length;
    chunks.push(piece);
  }
  return { bytes: new Uint8Array(Buffer.concat(chunks, size)), truncated: false };
}

/**
 * Fetches a remote file (a federated message's attachment) within size and time bounds,
 * refusing private, loopback and reserved addresses unless `allowPrivateAddress` (tests), with
 * every redirect checked again. No cookies are kept or sent. Callers keep what they fetched:
 * nothing is cached here.
 * @throws {AppError} `remote_unreachable` (with `details.reason`: scheme, credentials, dns,
 *   private_address, redirects, status (with `details.status`), media_type, network, timeout) or
 *   `payload_too_large`.
 */
export async function fetchRemoteMedia(
  config: Pick<Config, "allowPrivateAddress">,
  url: string,
  options: RemoteFetchOptions = {},
): Promise<RemoteMedia> {
  const limits = options.limits ?? remoteMediaLimits;
  const allow =
    options.allowAddress ?? (config.allowPrivateAddress ? () => true : (address: string) => !isPrivateAddress(address));
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw refused("Not a URL.", "scheme");
  }
  try {
    for (let hops = 0; ; hops++) {
      const address = await checkedAddress(current, allow, options.resolve ?? systemResolver);
      const hop = await request(current, address, signal, options);
      if (hop.status >= 300 && hop.status < 400 && hop.location) {
        hop.response.resume();
        if (hops >= limits.maxRedirects || options.post) throw refused("Too many redirects.", "redirects");
        current = new URL(hop.location, current);
        continue;
      }
      if (hop.status < 200 || hop.status >= 300) {
        hop.response.resume();
        throw refused(`The remote server answered ${hop.status}.`, "status", undefined, hop.status);
      }
      const contentType = hop.response.headers["content-type"];
      if (options.acceptContentType && !options.acceptContentType(contentType)) {
        hop.response.destroy();
        throw refused(`The remote server answered ${contentType ?? "an undeclared type"}.`, "media_type");
      }
      const body = await download(hop.response, limits.maxBytes, options.truncate === true);
      return { ...body, finalUrl: current.href, contentType };
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (signal.aborted) throw refused("The remote server took too long.", "timeout", error);
    throw refused("The remote server could not be reached.", "network", error);
  }
}
