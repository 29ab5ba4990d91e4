import { resolve } from "node:path";
import { z } from "zod";

/** Log levels, lowest first, as LogTape names them. */
export const logLevels = ["trace", "debug", "info", "warning", "error", "fatal"] as const;
export type LogLevel = (typeof logLevels)[number];

const booleanText = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"], {
    error: "expected true or false",
  })
  .transform((v) => v === "true" || v === "1" || v === "yes" || v === "on");

const port = z.coerce
  .number({ error: "expected a port number" })
  .int("expected a whole number")
  .min(0, "expected 0 (any free port) to 65535")
  .max(65535, "expected 0 (any free port) to 65535");

const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .int(`expected ${what}`)
    .positive(`expected ${what}`);

const httpOrigin = z
  .url({ protocol: /^https?$/, error: "expected an http(s) URL such as https://chat.example" })
  .refine((value) => {
    if (!URL.canParse(value)) return true; // already reported by .url()
    const url = new URL(value);
    return (url.pathname === "/" || url.pathname === "") && !url.search && !url.hash && !url.username && !url.password;
  }, "expected an origin only: scheme, host and optional port, without path, query or credentials")
  .transform((value) => new URL(value).origin);

const postgresUrl = z
  .url({ protocol: /^postgres(ql)?$/, error: "expected a postgres:// or postgresql:// URL" })
  .optional();

/**
 * How long opening a PostgreSQL connection may take by default: long enough for TLS and
 * authentication across a slow network, short enough that an outage is noticed in seconds.
 */
export const defaultDatabaseConnectTimeoutMs = 2000;

/** The environment variables the server reads, with their defaults. */
const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1, "expected a host name or address").default("0.0.0.0"),
  ORIGIN: httpOrigin.optional(),
  DATABASE_URL: z.preprocess((v) => (v === "" ? undefined : v), postgresUrl),
  DATA_DIR: z.string().min(1, "expected a folder path").default("./data"),
  LOG_LEVEL: z.enum(logLevels, { error: `expected one of ${logLevels.join(", ")}` }).default("info"),
  LOG_FORMAT: z.enum(["json", "pretty"], { error: "expected json or pretty" }).optional(),
  BODY_LIMIT: positiveInt("a size in bytes").default(1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: positiveInt("milliseconds").default(10_000),
  DATABASE_POOL_SIZE: positiveInt("a connection count").default(10),
  DATABASE_CONNECT_TIMEOUT_MS: positiveInt("milliseconds").default(defaultDatabaseConnectTimeoutMs),
  QUEUE_WORKERS: z.coerce
    .number({ error: "expected a worker count" })
    .int("expected a whole number")
    .min(0, "expected 0 (this process only serves HTTP) or more")
    .default(4),
  QUEUE_POLL_INTERVAL_MS: positiveInt("milliseconds").default(1000),
  INBOX_CONCURRENCY: positiveInt("a number of deliveries").default(2),
  STREAM_MAX_PER_USER: positiveInt("a number of streams").default(20),
  MAX_CONNECTIONS_PER_ADDRESS: z.coerce
    .number({ error: "expected a number of connections" })
    .int("expected a whole number")
    .min(0, "expected 0 (no limit) or more")
    .default(256),
  REQUEST_TIMEOUT_MS: positiveInt("milliseconds").default(60_000),
  FEDERATION_ALLOW_PRIVATE_ADDRESS: booleanText.default(false),
  BOT_HOOKS_ALLOW_LOOPBACK: booleanText.default(false),
  RATE_LIMIT_FACTOR: z.coerce
    .number({ error: "expected a number such as 1 or 0.5" })
    .positive("expected a number above 0")
    .max(100_000, "expected at most 100000")
    .default(1),
  TRUST_PROXY: z.coerce
    .number({ error: "expected the number of reverse proxies in front of the server" })
    .int("expected a whole number")
    .min(0, "expected 0 (no proxy) or more")
    .max(10, "expected at most 10")
    .default(0),
  ATTACHMENT_MAX_BYTES: positiveInt("a size in bytes").default(25 * 1024 * 1024),
  IMAGE_MAX_BYTES: positiveInt("a size in bytes").default(10 * 1024 * 1024),
  ATTACHMENT_QUOTA_BYTES: positiveInt("a size in bytes").default(1024 * 1024 * 1024),
  INSTANCE_NAME: z.string().min(1).max(100, "expected at most 100 characters").optional(),
  JWT_PRIVATE_KEY: z.string().min(1).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.url({ protocol: /^https?$/, error: "expected an http(s) URL such as http://127.0.0.1:4318" }).optional(),
  ),
  OTEL_SERVICE_NAME: z.string().min(1).max(100, "expected at most 100 characters").default("fedchat"),
  METRICS_TOKEN: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.string().min(16, "expected a secret of at least 16 characters").optional(),
  ),
});

/** The names of the environment variables the server reads (the README documents each). */
export const settingNames: readonly string[] = Object.keys(envSchema.shape);

/** The server's configuration, parsed and checked. */
export interface Config {
  /** TCP port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Address to bind. */
  readonly host: string;
  /** The public origin (scheme, host, port) that URLs and actor IRIs are built on. */
  readonly origin: string;
  /** `postgres://` URL; when absent the embedded PGlite database in `dataDir` is used. */
  readonly databaseUrl: string | undefined;
  /** Absolute path of the data folder (embedded database, generated secrets, media). */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly logFormat: "json" | "pretty";
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** How long a graceful shutdown may take before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  readonly databasePoolSize: number;
  /** How long opening a PostgreSQL connection may take before the attempt fails. */
  readonly databaseConnectTimeoutMs: number;
  /** Concurrent queue workers in this process; 0 runs none (an HTTP-only process). */
  readonly queueWorkers: number;
  readonly queuePollIntervalMs: number;
  /** Deliveries from other servers verified and parsed at once; the rest wait their turn. */
  readonly inboxConcurrency: number;
  /** Live streams (WebSocket or SSE) one user may hold open in one process. */
  readonly streamMaxPerUser: number;
  /**
   * Open connections one client address (an IPv6 /64) may hold; 0 for no limit. Not applied
   * behind a reverse proxy (`TRUST_PROXY`), where every connection comes from the proxy.
   */
  readonly maxConnectionsPerAddress: number;
  /** How long a client may take to send a whole request, headers and body. */
  readonly requestTimeoutMs: number;
  /** Lets federation reach loopback and private addresses: for tests only. */
  readonly allowPrivateAddress: boolean;
  /** Lets bots' URLs be loopback addresses over plain http (tests, a bot on the same machine in development). */
  readonly botHooksAllowLoopback: boolean;
  /** Multiplies every rate limit (2 doubles them); 1 by default. */
  readonly rateLimitFactor: number;
  /** Reverse proxies in front of the server whose `X-Forwarded-For` entries are trusted. */
  readonly trustProxy: number;
  /** Largest uploaded file, in bytes. */
  readonly attachmentMaxBytes: number;
  /** Largest uploaded image (which gets a preview), in bytes. */
  readonly imageMaxBytes: number;
  /** How many bytes of uploads each user may keep. */
  readonly attachmentQuotaBytes: number;
  /** Name shown in NodeInfo and the client; defaults to the host name. */
  readonly instanceName: string;
  /** An Ed25519 private key as JWK JSON; generated into the data folder when absent. */
  readonly jwtPrivateKey: string | undefined;
  /** The OpenTelemetry collector's base URL (OTLP over HTTP); traces are off without it. */
  readonly otlpEndpoint: string | undefined;
  /** The `service.name` of the traces. */
  readonly otelServiceName: string;
  /** The bearer token `/metrics` asks for; without one, `/metrics` is not served. */
  readonly metricsToken: string | undefined;
}

/** A configuration error that names every offending variable. */
export class ConfigError extends Error {
  /** Each problem as `VARIABLE: message`. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * Parses the server configuration from environment variables.
 * This is the only place that reads the environment.
 * @param env The environment, `process.env` by default.
 * @throws {ConfigError} naming each variable that has a wrong value.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((key) => (env[key] === undefined ? [] : [[key, env[key]]])),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${String(issue.path[0] ?? "environment")}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const origin = e.ORIGIN ?? `http://localhost:${e.PORT === 0 ? 3000 : e.PORT}`;
  return {
    port: e.PORT,
    host: e.HOST,
    origin,
    databaseUrl: e.DATABASE_URL,
    dataDir: resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (process.stdout.isTTY ? "pretty" : "json"),
    bodyLimit: e.BODY_LIMIT,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databaseConnectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    queueWorkers: e.QUEUE_WORKERS,
    queuePollIntervalMs: e.QUEUE_POLL_INTERVAL_MS,
    inboxConcurrency: e.INBOX_CONCURRENCY,
    streamMaxPerUser: e.STREAM_MAX_PER_USER,
    maxConnectionsPerAddress: e.TRUST_PROXY > 0 ? 0 : e.MAX_CONNECTIONS_PER_ADDRESS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    allowPrivateAddress: e.FEDERATION_ALLOW_PRIVATE_ADDRESS,
    botHooksAllowLoopback: e.BOT_HOOKS_ALLOW_LOOPBACK,
    trustProxy: e.TRUST_PROXY,
    rateLimitFactor: e.RATE_LIMIT_FACTOR,
    attachmentMaxBytes: e.ATTACHMENT_MAX_BYTES,
    imageMaxBytes: e.IMAGE_MAX_BYTES,
    attachmentQuotaBytes: e.ATTACHMENT_QUOTA_BYTES,
    instanceName: e.INSTANCE_NAME ?? new URL(origin).hostname,
    jwtPrivateKey: e.JWT_PRIVATE_KEY,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    otelServiceName: e.OTEL_SERVICE_NAME,
    metricsToken: e.METRICS_TOKEN,
  };
}
