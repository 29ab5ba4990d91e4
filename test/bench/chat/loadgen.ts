// Our load generator: the same workloads as the XMPP one (test/bench/prosody/xmpp-muc-bench.mjs),
// over our API. Members hold live streams (WebSocket); K of them send over HTTP keep-alive with
// `PUT /rooms/:id/messages/:txnId`, closed loop (WINDOW in flight per sender) or paced (RATE in
// all); every member must receive every `message.created`. Each content starts with a token
// `Z<sender>_<index>_Z`, as the XMPP generator's bodies do, so receipt needs no JSON parsing.
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import type { Integrity } from "./workloads.ts";

/** A provisioned user the generator acts as. */
export interface Member {
  readonly id: string;
  readonly token: string;
}

/** HTTP with one keep-alive agent, as a client holding its connections open. */
export class Http {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, keepAliveMsecs: 10_000 });
  readonly #host: string;
  readonly #port: number;
  readonly url: string;

  constructor(url: string) {
    this.url = url;
    const parsed = new URL(url);
    this.#host = parsed.hostname;
    this.#port = Number(parsed.port);
  }

  /**
   * Sends a request; resolves with the status and the body's text (never rejects on a status).
   * A kept-alive connection the server closed as it was reused (ECONNRESET before any answer)
   * is tried once more: every request here is idempotent (sends carry a txnId).
   */
  async call(
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    try {
      return await this.#once(method, path, token, body);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ECONNRESET") throw error;
      return await this.#once(method, path, token, body);
    }
  }

  #once(
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.#agent,
          host: this.#host,
          port: this.#port,
          method,
          path,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Like {@link call}, but a status other than the expected one throws. */
  async json(method: string, path: string, token: string | undefined, body?: unknown, expect = [200, 201]) {
    const { status, text } = await this.call(method, path, token, body);
    if (!expect.includes(status)) throw new Error(`${method} ${path}: ${status} ${text.slice(0, 300)}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Runs `fn` over `items` with at most `concurrency` at once. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

/** Live streams, one per member, each handing its text frames to `onFrame`. */
export class Streams {
  readonly sockets: WebSocket[] = [];
  /** Close codes seen while open, by code: a slow consumer is closed with 4008. */
  readonly closes = new Map<number, number>();
  #closing = false;

  /**
   * Opens a stream per member (ticket, then the WebSocket with the ticket as a subprotocol and
   * our own origin), 20 at a time; resolves once every one has had its `ready` frame.
   */
  static async open(
    http: Http,
    members: readonly Member[],
    onFrame: (member: number, text: string) => void,
    deadline: number,
  ): Promise<Streams> {
    const streams = new Streams();
    const wsUrl = `${http.url.replace(/^http/, "ws")}/api/v1/stream`;
    try {
      await pool(members, 20, async (member, i) => {
        if (Date.now() > deadline) throw new Error("streams: the deadline passed while connecting");
        const { ticket } = (await http.json("POST", "/api/v1/stream/ticket", member.token)) as { ticket: string };
        const ws = new WebSocket(wsUrl, ["chat.v1", `ticket.${ticket}`], {
          origin: http.url,
          perMessageDeflate: false,
        });
        streams.sockets[i] = ws;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("streams: no ready frame in 30 s")), 30_000);
          ws.once("error", (error) => {
            clearTimeout(timer);
            reject(error);
          });
          ws.once("message", (data) => {
            clearTimeout(timer);
            if (String(data).startsWith('{"type":"ready"')) resolve();
            else reject(new Error(`streams: expected ready first, got ${String(data).slice(0, 100)}`));
            ws.on("message", (frame) => onFrame(i, String(frame)));
          });
        });
        ws.on("close", (code) => {
          if (!streams.#closing) streams.closes.set(code, (streams.closes.get(code) ?? 0) + 1);
        });
      });
    } catch (error) {
      streams.close();
      throw error;
    }
    return streams;
  }

  /** Unexpected closes so far. */
  get closed(): number {
    return [...this.closes.values()].reduce((a, b) => a + b, 0);
  }

  close(): void {
    this.#closing = true;
    for (const ws of this.sockets) ws?.terminate();
  }
}

/**
 * What one fan-out run measured. Inversions are frames whose room sequence number was not above
 * the last one that member saw; errors, sends that did not answer 201 and streams closed under
 * the run.
 */
export interface FanoutResult extends Integrity {
  readonly sent: number;
  readonly errorSample: string[];
  readonly seconds: number;
  readonly deliveriesPerSecond: number;
  readonly messagesPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** Send to 201, over all sends. */
  readonly ackP50: number;
  /** CPU the generator itself used, in cores, over the run. */
  readonly generatorCores: number;
  readonly timedOut: boolean;
}

/** One fan-out workload: N members, K senders of M messages each, closed loop or paced. */
export interface FanoutSpec {
  readonly n: number;
  readonly k: number;
  readonly m: number;
  /** Messages per second from all senders together; 0 for a closed loop. */
  readonly rate: number;
  /** Closed loop: messages in flight per sender. */
  readonly window: number;
  /**
   * Closed loop: when a message leaves the window. `reflected`: once it is both answered (201)
   * and back on its sender's own stream, as the XMPP generator waits for its reflection.
   * `committed`: once answered, a 201 meaning committed (the durable-ingest workload).
   */
  readonly release: "reflected" | "committed";
  readonly bodyBytes: number;
  readonly deadlineSeconds: number;
}

/** Percentile of sorted values (nearest rank, as the XMPP generator computes it). */
function nearestRank(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

const tokenPattern = /Z(\d+)_(\d+)_Z/;
// PostgreSQL's JSON text, which the stream writes as it is, has a space after the colon.
const seqPattern = /"seq": ?(\d+)/;
const createdPrefix = '{"type":"message.created"';

/**
 * The fan-out run itself, once the room exists and every member has joined. Streams are
 * opened here, then `onReady` runs (the caller starts its meters), then the senders go; once
 * everything has arrived, `onDone` runs (with the number of sends) before the streams close,
 * so that closing them is not measured. Bounded: every message is sent once, and the run ends
 * at the deadline whatever arrived.
 */
export async function runFanout(
  http: Http,
  roomId: string,
  members: readonly Member[],
  spec: FanoutSpec,
  onReady: () => Promise<void>,
  onDone: (sent: number) => Promise<void>,
): Promise<FanoutResult> {
  const { n, k, m } = spec;
  const total = k * m;
  const expected = total * n;
  const sendAt = new Float64Array(total).fill(Number.NaN);
  const seen = new Uint8Array(n * total);
  const acked = new Uint8Array(total);
  const reflected = new Uint8Array(total);
  const released = new Uint8Array(total);
  const latencies = new Float64Array(expected);
  const ackLatencies: number[] = [];
  const lastSeq = new Float64Array(n);
  const inflight = new Int32Array(k);
  const next = new Int32Array(k);
  const errorSample: string[] = [];
  let delivered = 0;
  let duplicates = 0;
  let inversions = 0;
  let putErrors = 0;
  let answered = 0;
  let firstSend = Number.POSITIVE_INFINITY;
  let lastReceive = 0;
  let sending = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const pad = "x".repeat(Math.max(0, spec.bodyBytes - 20));
  // A send that failed never arrives: once all are answered, the rest are lost, not late.
  const checkDone = () => {
    if (answered === total && delivered + putErrors * n >= expected) finish();
  };

  const release = (id: number) => {
    const s = Math.floor(id / m);
    if (released[id] || !acked[id] || (spec.release === "reflected" && !reflected[id])) return;
    released[id] = 1;
    inflight[s] = (inflight[s] ?? 0) - 1;
    if (spec.rate === 0) pump(s);
  };

  const send = (s: number) => {
    const q = next[s] ?? 0;
    next[s] = q + 1;
    const id = s * m + q;
    const now = performance.now();
    sendAt[id] = now;
    if (now < firstSend) firstSend = now;
    inflight[s] = (inflight[s] ?? 0) + 1;
    const member = members[s] as Member;
    http
      .call("PUT", `/api/v1/rooms/${roomId}/messages/b${s}-${q}`, member.token, {
        content: `Z${s}_${q}_Z ${pad}`,
      })
      .then(
        ({ status, text }) => {
          if (status !== 201) {
            putErrors++;
            if (errorSample.length < 5) errorSample.push(`PUT ${status} ${text.slice(0, 200)}`);
            // Never coming back on the stream: free its place so the run goes on.
            reflected[id] = 1;
          }
          ackLatencies.push(performance.now() - now);
        },
        (error: unknown) => {
          putErrors++;
          reflected[id] = 1;
          if (errorSample.length < 5) errorSample.push(`PUT failed: ${String(error)}`);
        },
      )
      .finally(() => {
        acked[id] = 1;
        answered++;
        release(id);
        checkDone();
      });
  };

  const pump = (s: number) => {
    while ((inflight[s] ?? 0) < spec.window && (next[s] ?? 0) < m) send(s);
  };

  const onFrame = (r: number, text: string) => {
    if (!sending || !text.startsWith(createdPrefix)) return;
    const token = tokenPattern.exec(text);
    if (token == null) return;
    const s = Number(token[1]);
    const id = s * m + Number(token[2]);
    if (id >= total) return;
    const slot = r * total + id;
    if (seen[slot]) {
      duplicates++;
      return;
    }
    seen[slot] = 1;
    const now = performance.now();
    latencies[delivered++] = now - (sendAt[id] as number);
    if (now > lastReceive) lastReceive = now;
    const seq = Number(seqPattern.exec(text)?.[1] ?? 0);
    if (seq <= (lastSeq[r] as number)) inversions++;
    else lastSeq[r] = seq;
    if (r === s) {
      reflected[id] = 1;
      release(id);
    }
    checkDone();
  };

  const deadline = Date.now() + spec.deadlineSeconds * 1000;
  const streams = await Streams.open(http, members.slice(0, n), onFrame, deadline);
  let pacer: ReturnType<typeof setInterval> | undefined;
  const timer = setTimeout(() => finish(), Math.max(1000, deadline - Date.now()));
  try {
    await new Promise((r) => setTimeout(r, 300));
    await onReady();
    const cpu0 = process.cpuUsage();
    sending = true;
    const started = performance.now();
    if (spec.rate === 0) {
      for (let s = 0; s < k; s++) pump(s);
    } else {
      // As the XMPP generator: every millisecond, send what is due, round-robin over the senders.
      let due = 0;
      pacer = setInterval(() => {
        const target = Math.min(total, Math.floor(((performance.now() - started) / 1000) * spec.rate));
        while (due < target) {
          const s = due % k;
          if ((next[s] ?? 0) < m) send(s);
          due++;
        }
        if (due >= total) clearInterval(pacer);
      }, 1);
    }
    await finished;
    sending = false;
    const cpu = process.cpuUsage(cpu0);
    const sent = Array.from(next).reduce((a, b) => a + b, 0);
    await onDone(sent);
    const timedOut = delivered < expected || answered < total;
    const seconds = Math.max(1e-3, (lastReceive - firstSend) / 1000);
    const sorted = latencies.subarray(0, delivered).sort();
    const acks = Float64Array.from(ackLatencies).sort();
    return {
      sent,
      expected,
      delivered,
      lost: expected - delivered,
      duplicates,
      inversions,
      errors: putErrors + streams.closed,
      errorSample: [
        ...errorSample,
        ...[...streams.closes].map(([code, count]) => `${count} stream(s) closed with ${code}`),
      ],
      seconds,
      deliveriesPerSecond: delivered / seconds,
      messagesPerSecond: total / seconds,
      p50: nearestRank(sorted, 50),
      p99: nearestRank(sorted, 99),
      ackP50: nearestRank(acks, 50),
      generatorCores: (cpu.user + cpu.system) / 1e6 / ((performance.now() - started) / 1000),
      timedOut,
    };
  } finally {
    clearInterval(pacer);
    clearTimeout(timer);
    streams.close();
  }
}
