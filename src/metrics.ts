/**
 * This process's Prometheus metrics (issue 19): counters and histograms updated where the work
 * happens, and gauges read when `/metrics` is scraped. Each process of a deployment has its own
 * registry and answers for itself; what is read from the database at scrape time (delivery
 * backlog, queue depth, connections) is the deployment's, the same from every process.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The HTTP methods counted by name; anything else is counted as `other`. */
const knownMethods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** What the delivery streams hold, read at scrape time. */
export interface DeliveryBacklog {
  /** Streams (one per destination inbox). */
  readonly streams: number;
  /** Streams whose last attempt failed. */
  readonly failing: number;
  /** Activities queued and not yet delivered, over every stream. */
  readonly behind: number;
  /** The destination hosts furthest behind, at most a handful, with what they have not received. */
  readonly top: readonly { readonly host: string; readonly behind: number }[];
}

/** Where the scrape-time gauges read from; the composition root supplies them. */
export interface MetricSources {
  /** Open stream connections (WebSocket and SSE) in this process. */
  openStreams(): number;
  deliveryBacklog(): Promise<DeliveryBacklog>;
  /** Messages in Fedify's queue: due now and waiting for a later time. */
  queueDepth(): Promise<{ ready: number; delayed: number }>;
  /** The database's client connections by state (active, idle, …), or none for PGlite. */
  databaseConnections(): Promise<readonly { state: string; count: number }[]>;
  /** The size of this process's database pool. */
  readonly poolSize: number;
}

/** How many destination hosts get a series of their own in `fedchat_delivery_behind_by_host`. */
export const topDestinations = 10;

const statusClasses = ["", "1xx", "2xx", "3xx", "4xx", "5xx"];

type RequestChild = { observe(seconds: number): void };

/** The metrics of one process; `deps.metrics`. */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests: Histogram<"method" | "route" | "status">;
  /** One child per label set, so a request costs a map lookup and no label object. */
  readonly #requestChildren = new Map<string, RequestChild>();
  /** Stream connections opened, by transport (`websocket`, `sse`). */
  readonly streamsOpened: Counter<"transport">;
  /** Events read from the event log by this process's hub: every event of the deployment. */
  readonly streamEvents: Counter;
  /** Activities handled by the inbox listeners, by type and outcome (`ok`, `error`). */
  readonly inboxActivities: Counter<"type" | "outcome">;
  /**
   * Relayed activities the shared inbox's fast path took, by outcome (`stored`, `known`,
   * `replayed`, `room_gone`), or handed to the full path (`declined`).
   */
  readonly inboxFastPath: Counter<"outcome">;
  /** Deliveries attempted by the delivery streams, by outcome (`ok`, `retry`, `skip`: refused for good, `gone`). */
  readonly deliveries: Counter<"outcome">;
  readonly deliveryDuration: Histogram;
  #sources: MetricSources | undefined;

  /**
   * @param options `process`: also collect Node's process metrics (memory, CPU, event loop
   *   lag, garbage collection), as a server does; the admin CLI and tests leave them out.
   */
  constructor(options: { process?: boolean } = {}) {
    const registers = [this.registry];
    if (options.process) collectDefaultMetrics({ register: this.registry });
    this.#requests = new Histogram({
      name: "fedchat_http_request_duration_seconds",
      help: "HTTP requests by method, route pattern and status class, with their duration.",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.streamsOpened = new Counter({
      name: "fedchat_stream_connections_opened_total",
      help: "Live stream connections opened, by transport.",
      labelNames: ["transport"],
      registers,
    });
    this.streamEvents = new Counter({
      name: "fedchat_stream_events_total",
      help: "Events read from the event log by this process (each process sees every event).",
      registers,
    });
    this.inboxActivities = new Counter({
      name: "fedchat_inbox_activities_total",
      help: "Activities handled by the inbox listeners, by type and outcome.",
      labelNames: ["type", "outcome"],
      registers,
    });
    this.inboxFastPath = new Counter({
      name: "fedchat_inbox_fast_path_total",
      help: "Relayed activities the shared inbox's fast path took, by outcome, or declined.",
      labelNames: ["outcome"],
      registers,
    });
    this.deliveries = new Counter({
      name: "fedchat_deliveries_total",
      help: "Activities sent by the delivery streams, by outcome.",
      labelNames: ["outcome"],
      registers,
    });
    this.deliveryDuration = new Histogram({
      name: "fedchat_delivery_duration_seconds",
      help: "How long one delivery to another server took.",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const sources = () => this.#sources;
    new Gauge({
      name: "fedchat_stream_connections",
      help: "Open live stream connections (WebSocket and SSE) in this process.",
      registers,
      collect() {
        this.set(sources()?.openStreams() ?? 0);
      },
    });
    new Gauge({
      name: "fedchat_database_pool_size",
      help: "Connections this process's database pool may open.",
      registers,
      collect() {
        this.set(sources()?.poolSize ?? 0);
      },
    });
    new Gauge({
      name: "fedchat_database_connections",
      help: "The database's client connections by state, from every process (PostgreSQL only).",
      labelNames: ["state"],
      registers,
      async collect() {
        this.reset();
        for (const row of (await sources()?.databaseConnections()) ?? []) this.set({ state: row.state }, row.count);
      },
    });
    new Gauge({
      name: "fedchat_federation_queue_messages",
      help: "Messages in Fedify's queue (inbox work, fan-out), due now or later.",
      labelNames: ["state"],
      registers,
      async collect() {
        const depth = await sources()?.queueDepth();
        this.set({ state: "ready" }, depth?.ready ?? 0);
        this.set({ state: "delayed" }, depth?.delayed ?? 0);
      },
    });
    // One read of the delivery streams feeds the four gauges that follow.
    let backlog: Promise<DeliveryBacklog | undefined> | undefined;
    const readBacklog = () => {
      backlog ??= (sources()?.deliveryBacklog() ?? Promise.resolve(undefined)).finally(() => {
        backlog = undefined;
      });
      return backlog;
    };
    new Gauge({
      name: "fedchat_delivery_streams",
      help: "Delivery streams (one per destination inbox), and those whose last attempt failed.",
      labelNames: ["state"],
      registers,
      async collect() {
        const b = await readBacklog();
        this.set({ state: "all" }, b?.streams ?? 0);
        this.set({ state: "failing" }, b?.failing ?? 0);
      },
    });
    new Gauge({
      name: "fedchat_delivery_behind",
      help: "Activities queued for other servers and not delivered yet, over every stream.",
      registers,
      async collect() {
        this.set((await readBacklog())?.behind ?? 0);
      },
    });
    new Gauge({
      name: "fedchat_delivery_behind_by_host",
      help: `Activities not delivered yet to the ${topDestinations} destination hosts furthest behind.`,
      labelNames: ["host"],
      registers,
      async collect() {
        this.reset();
        for (const t of (await readBacklog())?.top ?? []) this.set({ host: t.host }, t.behind);
      },
    });
  }

  /** Connects the scrape-time gauges to what they read. */
  watch(sources: MetricSources): void {
    this.#sources = sources;
  }

  /**
   * Counts one HTTP request.
   * @param route The route pattern that answered (never the raw path, so labels stay few).
   * @param status The HTTP status; counted by class (`2xx`).
   */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const m = knownMethods.has(method) ? method : "other";
    const s = status >= 100 && status < 600 ? statusClasses[Math.floor(status / 100)] : "other";
    const key = `${m} ${s} ${route}`;
    let child = this.#requestChildren.get(key);
    if (child == null) {
      child = this.#requests.labels({ method: m, route, status: s ?? "other" });
      this.#requestChildren.set(key, child);
    }
    child.observe(seconds);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/**
 * Whether an `Authorization` header carries the metrics token, compared in constant time
 * (both sides hashed first, so their lengths give nothing away either).
 */
export function metricsTokenMatches(header: string | undefined, token: string): boolean {
  const given = header?.startsWith("Bearer ") ? header.slice(7).trim() : "";
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(token).digest();
  return timingSafeEqual(a, b) && given.length > 0;
}
