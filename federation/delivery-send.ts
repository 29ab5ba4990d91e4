/**
 * One delivery on the wire: an outbox activity POSTed to an inbox, signed as the room's
 * `Group`, and what the answer means for the stream (delivery.ts).
 * @module
 */
import { createHash, KeyObject, sign } from "node:crypto";
import { lookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { signRequest } from "@fedify/fedify";
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
  | { readonly kind: "skip" | "gone" | "retry"; readonly error: string };

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
  readonly #checkedHosts = new Map<string, Promise<boolean>>();
  readonly #userAgent: string;

  constructor(deps: Deps, groupIri: (roomId: string) => URL) {
    this.#deps = deps;
    this.#groupIri = groupIri;
    this.#userAgent = `${software.name}/${software.version} (+${deps.config.origin})`;
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
    if (!(await this.#allowed(inbox))) return { kind: "gone", error: "The inbox is on a private address." };
    const first = known ?? rfc9421;
    const result = await this.#attempt(inbox, item, first, signal);
    if (result.status === 400 || result.status === 401) {
      // Refused: perhaps the signature. The other scheme, once (a server may change).
      const other = first === rfc9421 ? cavage : rfc9421;
      const second = await this.#attempt(inbox, item, other, signal);
      if (second.status != null && second.status >= 200 && second.status < 300) return classify(second, other);
    }
    return classify(result, first);
  }

  async #attempt(
    inbox: string,
    item: { position: number; roomId: string; body: string },
    spec: SignatureSpec,
    signal: AbortSignal,
  ): Promise<{ status?: number; error?: string }> {
    try {
      const headers = await this.#signedHeaders(inbox, item, spec);
      const status = await post(new URL(inbox), headers, item.body, signal);
      if (status >= 200 && status < 300) this.#signed.delete(signatureKey(inbox, item.position, spec));
      return { status };
    } catch (error) {
      return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
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
      const request = new Request(inbox, { method: "POST", headers: plain, body });
      const signed = await signRequest(request, signer.privateKey, signer.keyId, { body: body.buffer as ArrayBuffer });
      headers = [...signed.headers];
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

  /**
   * Whether an inbox's host may be reached: never a private, loopback or reserved address
   * (an actor document names its inbox; it must not aim our requests inside our network),
   * unless `FEDERATION_ALLOW_PRIVATE_ADDRESS` (tests). Checked once per host per process.
   */
  #allowed(inbox: string): Promise<boolean> {
    if (this.#deps.config.allowPrivateAddress) return Promise.resolve(true);
    const url = new URL(inbox);
    let pending = this.#checkedHosts.get(url.host);
    if (pending == null) {
      const host = url.hostname.replace(/^\[|\]$/g, "");
      pending = (async () => {
        if (url.protocol !== "https:" && url.protocol !== "http:") return false;
        const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
        return addresses.length > 0 && !addresses.some(isPrivateAddress);
      })().catch(() => {
        // Not resolvable now: asked again next time.
        this.#checkedHosts.delete(url.host);
        return true;
      });
      this.#checkedHosts.set(url.host, pending);
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

function signingKey(keyId: URL, privateKey: CryptoKey): SigningKey {
  return { keyId, privateKey, keyObject: KeyObject.from(privateKey) };
}

function signatureKey(inbox: string, position: number, spec: SignatureSpec): string {
  return `${spec} ${position} ${inbox}`;
}

/** Connections kept open to each destination, at most as many as requests in flight. */
const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 8, scheduling: "fifo" }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 8, scheduling: "fifo" }),
};

/**
 * POSTs a delivery on a kept-alive connection (node:http: a fraction of what `fetch` costs per
 * request) and answers the status. No redirect is followed. At most {@link deliveryTimeoutMs};
 * the answer's body is read up to {@link maxAnswerBytes} and dropped.
 */
function post(url: URL, headers: [string, string][], body: string, signal: AbortSignal): Promise<number> {
  const secure = url.protocol === "https:";
  if (!secure && url.protocol !== "http:") return Promise.reject(new TypeError(`Not an http(s) URL: ${url.href}`));
  return new Promise<number>((resolve, reject) => {
    const bytes = Buffer.from(body);
    const request = (secure ? https : http).request(url, {
      method: "POST",
      agent: agents[secure ? "https:" : "http:"],
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
        resolve(response.statusCode ?? 0);
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
 * deliveries; either way its members leave the room. 408, 429 and other 5xx, redirects,
 * timeouts and network errors: try again later. Any other 4xx refuses this activity (a
 * signature it would not take, a payload it does not want): it is skipped, as Mastodon does.
 */
function classify(result: { status?: number; error?: string }, spec: SignatureSpec): DeliveryResult {
  const { status } = result;
  if (status == null) return { kind: "retry", error: result.error ?? "no answer" };
  if (status >= 200 && status < 300) return { kind: "ok", spec };
  const error = `HTTP ${status}`;
  if (status === 404 || status === 410 || status === 501) return { kind: "gone", error };
  if (status === 408 || status === 429 || status >= 500 || status < 400) return { kind: "retry", error };
  return { kind: "skip", error };
}
