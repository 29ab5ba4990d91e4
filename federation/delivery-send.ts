/**
 * One delivery on the wire: an outbox activity POSTed to an inbox, signed as the room's
 * `Group`, and what the answer means for the stream (delivery.ts).
 * @module
 */
import { createHash, KeyObject, sign } from "node:crypto";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import type { Deps } from "../src/deps.ts";
import { isPrivateAddress } from "../src/media/remote.ts";
import { roomKeyPairs } from "../src/rooms/keys.ts";
import { software } from "../src/version.ts";
import { keyPairsOf } from "./users.ts";

/** RFC 9421 with the room's Ed25519 key: what our servers and Fedify's take. */
export const rfc9421 = "rfc9421";
/** draft-cavage HTTP Signatures with the room's RSA key: what Mastodon and most others take. */
export const cavage = "draft-cavage-http-signatures-12";
export type SignatureSpec = typeof rfc9421 | typeof cavage;

/** How long one delivery may take before it counts as failed. */
export const deliveryTimeoutMs = 10_000;
/** How long a signed request is reused for a retry of the same delivery. */
const signatureReuseMs = 10 * 60 * 1000;
/** Signed requests kept for reuse, at most. */
const maxSignatures = 5_000;
/** Answer bodies are read (so the connection is kept) up to this much; past it, the connection is dropped. */
const maxAnswerBytes = 64 * 1024;

/**
 * What an answer means: `ok`; `skip` (this activity is refused for good: go on with the next);
 * `gone` (the inbox no longer exists or never takes deliveries: its members leave the room);
 * `retry` (try again later, in order).
 */
export type DeliveryResult =
  | { readonly kind: "ok"; readonly spec: SignatureSpec }
  | { readonly kind: "skip" | "gone"; readonly error: string }
  | {
      readonly kind: "retry";
      readonly error: string;
      /** How long the destination asked us to wait (`Retry-After` of a 429 or 503), at most a day. */
      readonly retryAfterMs?: number;
    };

/** The longest `Retry-After` honoured: a longer one is a day. */
const maxRetryAfterMs = 24 * 60 * 60 * 1000;

/**
 * A `Retry-After` header as a delay: seconds, or an HTTP date; undefined when absent, not
 * either, or in the past. Capped at {@link maxRetryAfterMs}.
 */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : /[a-z]/i.test(text) ? Date.parse(text) - now : Number.NaN;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, maxRetryAfterMs) : undefined;
}

interface SigningKey {
  readonly keyId: URL;
  readonly privateKey: CryptoKey;
  /** The same key for node:crypto, which signs synchronously (WebCrypto queues a job). */
  readonly keyObject: KeyObject;
}

/** Signs and sends deliveries for one process; keys and signatures are cached here. */
export class DeliverySender {
  readonly #deps: Deps;
  readonly #groupIri: (roomId: string) => URL;
  readonly #keys = new Map<string, Promise<Record<SignatureSpec, SigningKey>>>();
  readonly #signed = new Map<string, { headers: [string, string][]; at: number }>();
  readonly #lookup: LookupFunction;
  readonly #userAgent: string;

  constructor(deps: Deps, groupIri: (roomId: string) => URL) {
    this.#deps = deps;
    this.#groupIri = groupIri;
    this.#userAgent = `${software.name}/${software.version} (+${deps.config.origin})`;
    this.#lookup = publicLookup(deps.config.allowPrivateAddress);
  }

  /**
   * Delivers one activity, signed with the scheme the destination took last (RFC 9421 with
   * Ed25519 when not known yet); refused with 400 or 401, it is sent once more with the other
   * scheme, as Fedify's double-knocking does. The scheme that worked is answered, for the
   * stream to remember.
   */
  async deliver(
    inbox: string,
    item: { position: number; roomId: string; body: string },
    known: SignatureSpec | null,
    signal: AbortSignal,
  ): Promise<DeliveryResult> {
    if (privateHost(inbox, this.#deps.config.allowPrivateAddress)) {
      return { kind: "gone", error: `The inbox is on a private address (${new URL(inbox).host}).` };
    }
    const first = known ?? rfc9421;
    const result = await this.#attempt(inbox, item, first, signal);
    if (result.status === 400 || result.status === 401) {
      // Refused: perhaps the signature. The other scheme, once (a server may change); what
      // it answers counts, unless it refuses too (then the first answer says why).
      const other = first === rfc9421 ? cavage : rfc9421;
      const second = await this.#attempt(inbox, item, other, signal);
      if (second.status !== 400 && second.status !== 401) return classify(second, other);
    }
    return classify(result, first);
  }

  async #attempt(
    inbox: string,
    item: { position: number; roomId: string; body: string },
    spec: SignatureSpec,
    signal: AbortSignal,
  ): Promise<Answer> {
    try {
      const headers = await this.#signedHeaders(inbox, item, spec);
      const { status, retryAfter } = await post(new URL(inbox), headers, item.body, signal, this.#lookup);
      if (status >= 200 && status < 300) this.#signed.delete(signatureKey(inbox, item.position, spec));
      return { status, retryAfter };
    } catch (error) {
      return {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        private: error instanceof PrivateAddressError,
      };
    }
  }

  /** The headers of a signed POST, made once per delivery and scheme and reused on retries. */
  async #signedHeaders(
    inbox: string,
    item: { position: number; roomId: string; body: string },
    spec: SignatureSpec,
  ): Promise<[string, string][]> {
    const key = signatureKey(inbox, item.position, spec);
    const cached = this.#signed.get(key);
    if (cached && Date.now() - cached.at < signatureReuseMs) return cached.headers;
    const signer = (await this.#roomKeys(item.roomId))[spec];
    const body = new TextEncoder().encode(item.body);
    const plain: [string, string][] = [
      ["content-type", "application/activity+json"],
      ["accept", "application/activity+json"],
      ["user-agent", this.#userAgent],
    ];
    let headers: [string, string][];
    if (spec === rfc9421) {
      headers = [...plain, ...signEd25519(new URL(inbox), body, signer)];
    } else {
      headers = [...plain, ...signCavage(new URL(inbox), body, signer)];
    }
    if (this.#signed.size >= maxSignatures) this.#signed.clear();
    this.#signed.set(key, { headers, at: Date.now() });
    return headers;
  }

  /** A room's two signing keys, under the ids its `Group` publishes them with. */
  #roomKeys(roomId: string): Promise<Record<SignatureSpec, SigningKey>> {
    let pending = this.#keys.get(roomId);
    if (pending == null) {
      pending = (async () => {
        const group = this.#groupIri(roomId);
        const [rsa, ed25519] = await keyPairsOf(await roomKeyPairs(this.#deps, roomId));
        return {
          [cavage]: signingKey(new URL(`${group.href}#main-key`), (rsa as CryptoKeyPair).privateKey),
          [rfc9421]: signingKey(ed25519KeyId(group), (ed25519 as CryptoKeyPair).privateKey),
        };
      })();
      pending.catch(() => this.#keys.delete(roomId));
      if (this.#keys.size >= 1_000) this.#keys.clear();
      this.#keys.set(roomId, pending);
    }
    return pending;
  }
}

/**
 * The id of a room's Ed25519 key for HTTP signatures: a document of its own (keys.ts serves
 * it), since Fedify looks signature keys up among an actor's `publicKey`s, where only the RSA
 * key is listed (Mastodon and others read the first and only one).
 */
export function ed25519KeyId(group: URL): URL {
  return new URL(`${group.href}/ed25519-key`);
}

/**
 * The headers of an RFC 9421 signature with an Ed25519 key (`alg="ed25519"`) over the method,
 * the target URI, the authority, the date and the body's digest, which Fedify verifies.
 * (Fedify's own signer makes RSA signatures only.)
 */
function signEd25519(url: URL, body: Uint8Array, signer: SigningKey): [string, string][] {
  const digest = createHash("sha256").update(body).digest("base64");
  const date = new Date().toUTCString();
  const fields: [string, string][] = [
    ['"@method"', "POST"],
    ['"@target-uri"', url.href],
    ['"@authority"', url.host],
    ['"date"', date],
    ['"content-digest"', `sha-256=:${digest}:`],
  ];
  const created = Math.floor(Date.now() / 1000);
  const params = `(${fields.map(([id]) => id).join(" ")});alg="ed25519";keyid="${signer.keyId.href}";created=${created}`;
  const base = [...fields.map(([id, value]) => `${id}: ${value}`), `"@signature-params": ${params}`].join("\n");
  const signature = sign(null, Buffer.from(base), signer.keyObject);
  return [
    ["date", date],
    ["content-digest", `sha-256=:${digest}:`],
    ["signature-input", `sig1=${params}`],
    ["signature", `sig1=:${signature.toString("base64")}:`],
  ];
}

/**
 * The headers of a draft-cavage HTTP signature (`rsa-sha256`) over the request target, the
 * host, the date, the body's digest and its type: what Mastodon requires of a POST and
 * Fedify verifies. Made with node:crypto (Fedify's signer goes through WebCrypto and `Request`
 * objects).
 */
function signCavage(url: URL, body: Uint8Array, signer: SigningKey): [string, string][] {
  const date = new Date().toUTCString();
  const digest = `SHA-256=${createHash("sha256").update(body).digest("base64")}`;
  const signed: [string, string][] = [
    ["(request-target)", `post ${url.pathname}${url.search}`],
    ["host", url.host],
    ["date", date],
    ["digest", digest],
    ["content-type", "application/activity+json"],
  ];
  const message = signed.map(([name, value]) => `${name}: ${value}`).join("\n");
  const signature = sign("sha256", Buffer.from(message), signer.keyObject).toString("base64");
  const names = signed.map(([name]) => name).join(" ");
  return [
    ["date", date],
    ["digest", digest],
    ["signature", `keyId="${signer.keyId.href}",algorithm="rsa-sha256",headers="${names}",signature="${signature}"`],
  ];
}

function signingKey(keyId: URL, privateKey: CryptoKey): SigningKey {
  return { keyId, privateKey, keyObject: KeyObject.from(privateKey) };
}

function signatureKey(inbox: string, position: number, spec: SignatureSpec): string {
  return `${spec} ${position} ${inbox}`;
}

/** Connections kept open to each destination host; idle ones close after 30 s. */
const agentOptions = {
  keepAlive: true,
  maxSockets: 16,
  maxTotalSockets: 2048,
  timeout: 30_000,
  scheduling: "fifo",
} as const;
const agents = { "http:": new http.Agent(agentOptions), "https:": new https.Agent(agentOptions) };

/** A delivery refused because its host resolves to an address federation may not reach. */
export class PrivateAddressError extends Error {
  override name = "PrivateAddressError";
}

/**
 * Resolves a host as `dns.lookup` does, refusing private, loopback and reserved addresses
 * (unless `allowPrivateAddress`, for tests): an actor document names its inbox, and must not
 * aim our requests inside our network. Used by the connection itself, so the address checked
 * is the address connected to (no second lookup to rebind).
 */
export function publicLookup(allowPrivateAddress: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      const list = addresses as LookupAddress[];
      const refused = allowPrivateAddress ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (refused || list.length === 0) {
        return callback(new PrivateAddressError(`${hostname} resolves to ${refused?.address ?? "nothing"}.`), "", 0);
      }
      if (options.all) return callback(null, list as unknown as string, 0);
      const first = list[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

/**
 * POSTs a delivery on a kept-alive connection (node:http: a fraction of what `fetch` costs per
 * request) and answers the status. No redirect is followed. At most {@link deliveryTimeoutMs};
 * the answer's body is read up to {@link maxAnswerBytes} and dropped.
 */
/**
 * Whether an inbox's host is a private, loopback or reserved address written out, which no
 * lookup sees (so {@link publicLookup} cannot refuse it).
 */
export function privateHost(inbox: string, allowPrivateAddress: boolean): boolean {
  const host = new URL(inbox).hostname.replace(/^\[|\]$/g, "");
  return isIP(host) !== 0 && !allowPrivateAddress && isPrivateAddress(host);
}

/**
 * POSTs a signed activity on a kept-alive connection whose address `lookup` checks, within
 * {@link deliveryTimeoutMs}; answers the status (and `Retry-After`).
 */
export function post(
  url: URL,
  headers: [string, string][],
  body: string,
  signal: AbortSignal,
  lookup: LookupFunction,
): Promise<{ status: number; retryAfter?: string }> {
  const secure = url.protocol === "https:";
  if (!secure && url.protocol !== "http:") return Promise.reject(new TypeError(`Not an http(s) URL: ${url.href}`));
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(body);
    const request = (secure ? https : http).request(url, {
      method: "POST",
      agent: agents[secure ? "https:" : "http:"],
      lookup,
      headers: Object.fromEntries([...headers, ["content-length", String(bytes.length)]]),
      signal,
      timeout: deliveryTimeoutMs,
    });
    const deadline = setTimeout(() => request.destroy(new Error("The delivery took too long.")), deliveryTimeoutMs);
    request.on("timeout", () => request.destroy(new Error("The destination stopped answering.")));
    request.on("error", (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    request.on("response", (response) => {
      let read = 0;
      response.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read > maxAnswerBytes) response.destroy();
      });
      const done = () => {
        clearTimeout(deadline);
        const retryAfter = response.headers["retry-after"];
        resolve({ status: response.statusCode ?? 0, ...(retryAfter ? { retryAfter } : {}) });
      };
      response.on("end", done);
      response.on("close", done);
      response.on("error", done);
    });
    request.end(bytes);
  });
}

/**
 * What an answer means. 2xx delivered. 404 and 410: the inbox is gone; 501: it takes no
 * deliveries; an inbox on a private address never will; either way its members leave the
 * room. 401 (our key could not be fetched, say: we may be restarting), 408, 429 and other
 * 5xx, redirects, timeouts and network errors: try again later, as Mastodon does. Any other
 * 4xx refuses this activity (a payload it does not want): it is skipped.
 */
function classify(result: Answer, spec: SignatureSpec): DeliveryResult {
  const { status } = result;
  if (result.private) return { kind: "gone", error: result.error ?? "private address" };
  if (status == null) return { kind: "retry", error: result.error ?? "no answer" };
  if (status >= 200 && status < 300) return { kind: "ok", spec };
  const error = `HTTP ${status}`;
  if (status === 404 || status === 410 || status === 501) return { kind: "gone", error };
  if (status === 429 || status === 503) {
    // A server that says when to come back is left alone until then (RFC 9110 §10.2.3).
    const wait = retryAfterMs(result.retryAfter);
    return wait == null ? { kind: "retry", error } : { kind: "retry", error, retryAfterMs: wait };
  }
  if (status === 401 || status === 408 || status >= 500 || status < 400) return { kind: "retry", error };
  return { kind: "skip", error };
}

/** What one attempt came to: an answer's status (and `Retry-After`), or why there was none. */
interface Answer {
  readonly status?: number;
  readonly retryAfter?: string | undefined;
  readonly error?: string;
  readonly private?: boolean;
}
