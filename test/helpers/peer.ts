/**
 * A fediverse server played by the tests: a real HTTP server on loopback that serves actor
 * documents (with an RSA key for HTTP Signatures and an Ed25519 Multikey for Object Integrity
 * Proofs) and any other document at any path, records what is delivered to it, and delivers
 * activities signed the way Mastodon signs them (draft-cavage HTTP Signatures, RSA).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { generateCryptoKeyPair, signObject, signRequest } from "@fedify/fedify";
import {
  Activity,
  Application,
  CryptographicKey,
  Endpoints,
  Group,
  Multikey,
  Organization,
  Person,
  Service,
} from "@fedify/vocab";

export type ActorType = "Person" | "Group" | "Application" | "Organization" | "Service";

/** An actor the peer hosts, with its keys. */
export interface PeerActor {
  readonly id: string;
  readonly inbox: string;
  /** The RSA key's id (`<actor>#main-key`). */
  readonly keyId: string;
  /** The Ed25519 key's id (`<actor>#ed25519-key`). */
  readonly proofKeyId: string;
  readonly rsa: CryptoKeyPair;
  readonly ed25519: CryptoKeyPair;
  /** The actor document as served. */
  document: Record<string, unknown>;
}

/** A request the peer received. */
export interface Hit {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
  /** The body as JSON, when it parses. */
  readonly json: Record<string, unknown> | undefined;
  /** What the peer answered (undefined while it holds the request unanswered). */
  status?: number;
}

/** How the peer answers a delivery: a status (with headers), or `hang` (hold the request, never answer). */
export type PostAnswer =
  | number
  | "hang"
  | { status: number; headers: Record<string, string> }
  | ((hit: Hit) => number | "hang" | Promise<number>);

interface Served {
  status: number;
  body: string | Uint8Array;
  contentType: string;
}

const activityJson = "application/activity+json";

/** The activity's JSON with an integrity proof (eddsa-jcs-2022) by the actor's Ed25519 key. */
export async function prove(actor: PeerActor, json: Record<string, unknown>): Promise<Record<string, unknown>> {
  const activity = await Activity.fromJsonLd(json);
  const signed = await signObject(activity, actor.ed25519.privateKey, new URL(actor.proofKeyId));
  return (await signed.toJsonLd({ format: "compact" })) as Record<string, unknown>;
}

export class Peer {
  readonly url: string;
  readonly hits: Hit[] = [];
  readonly #server: Server;
  readonly #documents = new Map<string, Served | (() => Served)>();
  readonly #listeners = new Set<() => void>();
  readonly #postStatus = new Map<string, PostAnswer>();

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  static async start(): Promise<Peer> {
    let peer: Peer | undefined;
    const server = createServer((req, res) => {
      void peer?.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as AddressInfo;
    peer = new Peer(server, `http://127.0.0.1:${port}`);
    return peer;
  }

  get host(): string {
    return new URL(this.url).host;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const path = new URL(req.url ?? "/", this.url).pathname;
    const hit: Hit = { method: req.method ?? "GET", path, headers: req.headers, body, json };
    this.hits.push(hit);
    if (req.method === "POST") {
      const answer = this.#postStatus.get(path) ?? 202;
      const given = typeof answer === "function" ? await answer(hit) : answer;
      if (given !== "hang") {
        const { status, headers } = typeof given === "number" ? { status: given, headers: {} } : given;
        hit.status = status;
        res.writeHead(status, headers).end();
      }
    }
    for (const listener of this.#listeners) listener();
    if (req.method === "POST") return;
    const entry = this.#documents.get(path);
    const served = typeof entry === "function" ? entry() : entry;
    if (served == null) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(served.status, { "content-type": served.contentType }).end(served.body);
  }

  /** Serves a document (JSON, text or bytes, or a function computing it on each request) at a path. */
  serve(
    path: string,
    document: unknown | (() => unknown),
    options: { status?: number; contentType?: string } = {},
  ): void {
    const make = (value: unknown): Served => ({
      status: options.status ?? 200,
      body: typeof value === "string" || value instanceof Uint8Array ? value : JSON.stringify(value),
      contentType: options.contentType ?? activityJson,
    });
    this.#documents.set(
      path,
      typeof document === "function" ? () => make((document as () => unknown)()) : make(document),
    );
  }

  /** Answers deliveries to an inbox path this way from now on (202 by default). */
  answerPosts(path: string, status: PostAnswer): void {
    this.#postStatus.set(path, status);
  }

  /** Serves `410 Gone` with a `Tombstone` at the object's path. */
  gone(id: string): void {
    this.serve(
      new URL(id).pathname,
      { "@context": "https://www.w3.org/ns/activitystreams", id, type: "Tombstone" },
      { status: 410 },
    );
  }

  /** How many requests came for a path (any method). */
  hitsOn(path: string): number {
    return this.hits.filter((h) => h.path === path).length;
  }

  /** The JSON bodies posted to the peer (to any inbox) of the given type, and accepted (2xx). */
  received(type?: string): Record<string, unknown>[] {
    return this.hits
      .filter(
        (h) =>
          h.method === "POST" && h.json && h.status != null && h.status < 300 && (type == null || h.json.type === type),
      )
      .map((h) => h.json as Record<string, unknown>);
  }

  /** Waits (bounded) until a posted activity satisfies `accept`. */
  async receive(
    what: string,
    accept: (json: Record<string, unknown>) => boolean,
    ms = 20_000,
  ): Promise<Record<string, unknown>> {
    const find = () => this.received().find(accept);
    const found = find();
    if (found) return found;
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(check);
        reject(new Error(`timed out waiting for the peer to receive ${what}`));
      }, ms);
      const check = () => {
        const hit = find();
        if (hit) {
          clearTimeout(timer);
          this.#listeners.delete(check);
          resolve(hit);
        }
      };
      this.#listeners.add(check);
    });
  }

  /**
   * Creates an actor served at `path` (default `/users/<name>`, `/groups/<name>` for a Group),
   * with an RSA `publicKey` and an Ed25519 `Multikey` in `assertionMethod`. `mutate` edits the
   * served JSON (to make it lie, for instance).
   */
  async actor(
    name: string,
    options: { type?: ActorType; path?: string; mutate?: (json: Record<string, unknown>) => void } = {},
  ): Promise<PeerActor> {
    const type = options.type ?? "Person";
    const path = options.path ?? (type === "Group" ? `/groups/${name}` : `/users/${name}`);
    const id = new URL(path, this.url);
    // 2048-bit RSA, as Mastodon makes (Fedify's generator makes 4096-bit keys: seconds each).
    const rsa = (await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const ed25519 = await generateCryptoKeyPair("Ed25519");
    const keyId = new URL(`${id.href}#main-key`);
    const proofKeyId = new URL(`${id.href}#ed25519-key`);
    const Cls = { Person, Group, Application, Organization, Service }[type];
    const actor = new Cls({
      id,
      preferredUsername: name,
      name: name,
      inbox: new URL(`${id.href}/inbox`),
      outbox: new URL(`${id.href}/outbox`),
      followers: new URL(`${id.href}/followers`),
      endpoints: new Endpoints({ sharedInbox: new URL("/inbox", this.url) }),
      url: id,
      publicKey: new CryptographicKey({ id: keyId, owner: id, publicKey: rsa.publicKey }),
      assertionMethods: [new Multikey({ id: proofKeyId, controller: id, publicKey: ed25519.publicKey })],
    });
    const document = (await actor.toJsonLd({ format: "compact" })) as Record<string, unknown>;
    options.mutate?.(document);
    const peerActor: PeerActor = {
      id: id.href,
      inbox: `${id.href}/inbox`,
      keyId: keyId.href,
      proofKeyId: proofKeyId.href,
      rsa,
      ed25519,
      document,
    };
    this.serve(path, () => peerActor.document);
    return peerActor;
  }

  /**
   * POSTs an activity to an inbox, signed by `signer` (draft-cavage HTTP Signatures with its
   * RSA key, as Mastodon does; RFC 9421 with `spec`) unless `signer` is null. `body` replaces the JSON as the raw body.
   */
  async send(
    signer: PeerActor | null,
    inbox: string,
    activity: unknown,
    options: {
      contentType?: string;
      body?: string;
      keyId?: string;
      spec?: "rfc9421" | "draft-cavage-http-signatures-12";
      /** Signs draft-cavage with the signer's Ed25519 key instead (as a few servers do). */
      ed25519?: "ed25519-sha512" | "hs2019";
      /** Headers set after signing (to break the signature's `Date`, say). */
      headers?: Record<string, string>;
    } = {},
  ): Promise<{ status: number; headers: Headers; body: string; json: Record<string, unknown> | undefined }> {
    const body = options.body ?? JSON.stringify(activity);
    let request = new Request(inbox, {
      method: "POST",
      headers: { "content-type": options.contentType ?? activityJson, accept: activityJson },
      body,
    });
    if (signer && options.ed25519) {
      request = await signDraftEd25519(request, body, signer, options.ed25519, options.keyId ?? signer.keyId);
    } else if (signer) {
      request = await signRequest(request, signer.rsa.privateKey, new URL(options.keyId ?? signer.keyId), {
        spec: options.spec,
      });
    }
    if (options.headers) {
      const headers = new Headers(request.headers);
      for (const [name, value] of Object.entries(options.headers)) headers.set(name, value);
      request = new Request(request.url, { method: "POST", headers, body });
    }
    const res = await fetch(request);
    const text = await res.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, body: text, json };
  }
}

/**
 * Signs a POST the draft-cavage way with the actor's Ed25519 key (Fedify signs draft-cavage
 * with RSA only): `(request-target)`, host, date and digest, the `algorithm` named as given.
 */
async function signDraftEd25519(
  request: Request,
  body: string,
  signer: PeerActor,
  algorithm: string,
  keyId: string,
): Promise<Request> {
  const url = new URL(request.url);
  const headers = new Headers(request.headers);
  const digest = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body))).toString("base64");
  headers.set("host", url.host);
  headers.set("date", new Date().toUTCString());
  headers.set("digest", `SHA-256=${digest}`);
  const signed = ["(request-target)", "host", "date", "digest"];
  const text = signed
    .map((name) => `${name}: ${name === "(request-target)" ? `post ${url.pathname}` : headers.get(name)}`)
    .join("\n");
  const signature = await crypto.subtle.sign("Ed25519", signer.ed25519.privateKey, new TextEncoder().encode(text));
  headers.set(
    "signature",
    `keyId="${keyId}",algorithm="${algorithm}",headers="${signed.join(" ")}",signature="${Buffer.from(signature).toString("base64")}"`,
  );
  return new Request(request.url, { method: "POST", headers, body });
}

/**
 * A copy of another server's document (an interop fixture) with every IRI of its original
 * servers moved to the peer (the path kept, so the shapes stay real; vocabulary IRIs and
 * contexts untouched), then any IRI named in `replace` (as moved) replaced.
 */
export function rehost(document: unknown, peerUrl: string, replace: Record<string, string> = {}): unknown {
  const vocabulary = /^https?:\/\/(www\.w3\.org|w3id\.org|joinmastodon\.org|ostatus\.org|schema\.org|purl\.org)\b/i;
  const move = (value: string): string => {
    const origin = /^https?:\/\/[^/\s"]+/i.exec(value);
    const moved = origin && !vocabulary.test(value) ? peerUrl + value.slice(origin[0].length) : value;
    return replace[moved] ?? moved;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === "string") return move(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value != null && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          k === "@context" || k === "content" || k === "contentMap" ? v : walk(v),
        ]),
      );
    }
    return value;
  };
  return walk(document);
}
