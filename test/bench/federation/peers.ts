// The other servers of the federation benchmark, on loopback in the bench process: inboxes
// that verify every POST's HTTP signature as a remote Fedify server would and record when
// each announced message arrives; a TCP front that forwards, or holds connections unanswered
// (a black hole); and an HTTP proxy that delays each request (a slow peer).
import { createServer, request as forward, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import {
  type DocumentLoader,
  getDocumentLoader,
  type KeyCache,
  type RemoteDocument,
  verifyRequest,
} from "@fedify/fedify";
import type { CryptographicKey, Multikey } from "@fedify/vocab";

/** Loads our Group actors (their keys): the server under test is on loopback. */
const loopbackLoader = getDocumentLoader({ allowPrivateAddress: true });

/** The header a {@link DelayProxy} stamps each request's rank with, in the order they reached it. */
const orderHeader = "x-bench-order";

/** One announced message as a peer received it. */
export interface Arrival {
  /** `<room id>/<seq>`: which message. */
  readonly key: string;
  readonly room: string;
  readonly seq: number;
  /** When its request came in (ms since the epoch). */
  readonly at: number;
  /** The request's rank among all requests to this peer, in the order they came in. */
  readonly order: number;
}

/**
 * `accept` verifies and takes deliveries; `rsa-only` refuses RFC 9421 signatures with 401, as
 * Mastodon-era servers do (the sender falls back to draft-cavage RSA); `unavailable` answers
 * 503 to every one.
 */
export type PeerMode = "accept" | "rsa-only" | "unavailable";

/** Listens on a free loopback port; answers the URL. */
async function listen(server: Server | TcpServer): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address == null || typeof address === "string") throw new Error("no address");
  return `http://127.0.0.1:${address.port}`;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Closes a server, ending its open connections. */
function close(server: Server | TcpServer, sockets: Iterable<Socket> = []): Promise<void> {
  for (const socket of sockets) socket.destroy();
  if ("closeAllConnections" in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * A remote server's shared inbox. Every POST is verified with Fedify's `verifyRequest`, the
 * key fetched once from our Group actor and cached (a request that fails verification is
 * answered 401 and counted in {@link rejected}); an `Announce` whose id ends in
 * `/rooms/<id>/history/<seq>` is recorded with the time its request came in.
 */
export class Peer {
  readonly name: string;
  readonly url: string;
  mode: PeerMode = "accept";
  /** Every verified announce of a message, in the order their requests came in, repeats included. */
  readonly received: Arrival[] = [];
  /** The first arrival time of each message, by {@link Arrival.key}. */
  readonly firsts = new Map<string, number>();
  /** Requests whose signature did not verify. */
  rejected = 0;
  /** Requests answered 503 while {@link mode} was `unavailable`. */
  refused = 0;
  /** Documents (our Group actors, for their keys) fetched: once per room unless a key changes. */
  keyFetches = 0;
  readonly #server: Server;
  readonly #keys = new Map<string, CryptographicKey | Multikey>();
  readonly #loading = new Map<string, Promise<RemoteDocument>>();
  #requests = 0;

  private constructor(name: string, server: Server, url: string) {
    this.name = name;
    this.#server = server;
    this.url = url;
  }

  static async start(name: string): Promise<Peer> {
    const server = createServer();
    const peer = new Peer(name, server, await listen(server));
    server.on("request", (req, res) => void peer.#handle(req, res));
    return peer;
  }

  /** Unknown keys are fetched; a failed fetch is not remembered, so it is tried again. */
  readonly #keyCache: KeyCache = {
    get: (keyId) => Promise.resolve(this.#keys.get(keyId.href)),
    set: (keyId, key) => {
      if (key != null) this.#keys.set(keyId.href, key);
      return Promise.resolve();
    },
  };

  /** One fetch per document at a time: the requests that race for a key before it is cached share it. */
  readonly #documentLoader: DocumentLoader = (url, options) => {
    let pending = this.#loading.get(url);
    if (pending == null) {
      this.keyFetches++;
      pending = loopbackLoader(url, options).finally(() => this.#loading.delete(url));
      this.#loading.set(url, pending);
    }
    return pending;
  };

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Behind a DelayProxy, the order requests reached the proxy: the order the sender sent in.
    const stamped = Number(req.headers[orderHeader] ?? Number.NaN);
    const own = this.#requests++;
    const order = Number.isInteger(stamped) ? stamped : own;
    const at = Date.now();
    try {
      const body = await readBody(req);
      if (req.method !== "POST") return void res.writeHead(404).end();
      if (this.mode === "unavailable") {
        this.refused++;
        return void res.writeHead(503).end();
      }
      if (this.mode === "rsa-only" && req.headers["signature-input"]) return void res.writeHead(401).end();
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === "string") headers.set(name, value);
      }
      // The URL as the sender signed it: a proxy in front keeps the Host header.
      const request = new Request(`http://${req.headers.host}${req.url}`, {
        method: "POST",
        headers,
        body: new Uint8Array(body),
      });
      const key = await verifyRequest(request, {
        documentLoader: this.#documentLoader,
        keyCache: this.#keyCache,
        spec: headers.has("signature-input") ? "rfc9421" : "draft-cavage-http-signatures-12",
      }).catch(() => null);
      if (key == null) {
        this.rejected++;
        return void res.writeHead(401).end();
      }
      const id = (JSON.parse(body.toString()) as { id?: unknown }).id;
      const match = typeof id === "string" ? /\/rooms\/([^/]+)\/history\/(\d+)$/.exec(id) : null;
      if (match) {
        const [, room = "", seq = ""] = match;
        const arrival = { key: `${room}/${seq}`, room, seq: Number(seq), at, order };
        this.received.push(arrival);
        if (!this.firsts.has(arrival.key)) this.firsts.set(arrival.key, at);
      }
      res.writeHead(202).end();
    } catch {
      if (!res.headersSent) res.writeHead(400).end();
    }
  }

  close(): Promise<void> {
    return close(this.#server);
  }
}

/**
 * A TCP front on loopback: each connection is piped to the port `route()` answers when it
 * comes in or, when that answers nothing, accepted and never answered (a black hole: what
 * it sends is read and dropped).
 */
export class TcpFront {
  readonly url: string;
  /** Connections accepted and held unanswered. */
  held = 0;
  readonly #server: TcpServer;
  readonly #sockets = new Set<Socket>();

  private constructor(server: TcpServer, url: string) {
    this.#server = server;
    this.url = url;
  }

  static async start(route: () => number | undefined): Promise<TcpFront> {
    const server = createTcpServer();
    const front = new TcpFront(server, await listen(server));
    server.on("connection", (socket) => {
      front.#track(socket);
      const port = route();
      if (port == null) {
        front.held++;
        socket.resume();
        return;
      }
      const upstream = connect(port, "127.0.0.1");
      front.#track(upstream);
      socket.pipe(upstream).pipe(socket);
      upstream.on("close", () => socket.destroy());
      socket.on("close", () => upstream.destroy());
    });
    return front;
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => this.#sockets.delete(socket));
  }

  /** Drops every open connection (clients reconnect, and are routed afresh). */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  close(): Promise<void> {
    return close(this.#server, this.#sockets);
  }
}

/**
 * An HTTP proxy that takes each request whole, waits `delayMs`, forwards it to `target` (the
 * Host header kept, so the signature still verifies) and relays the answer: a slow server.
 */
export class DelayProxy {
  readonly url: string;
  readonly #server: Server;

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  static async start(target: string, delayMs: number): Promise<DelayProxy> {
    const server = createServer();
    const proxy = new DelayProxy(server, await listen(server));
    const { port } = new URL(target);
    let requests = 0;
    server.on("request", async (req, res) => {
      const order = requests++;
      try {
        const body = await readBody(req);
        await new Promise((r) => setTimeout(r, delayMs));
        const upstream = forward({
          host: "127.0.0.1",
          port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, [orderHeader]: String(order) },
        });
        upstream.on("response", (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        upstream.on("error", () => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        });
        upstream.end(body);
      } catch {
        res.destroy();
      }
    });
    return proxy;
  }

  close(): Promise<void> {
    return close(this.#server);
  }
}
