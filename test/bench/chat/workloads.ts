// The anchor's workloads (see README's "The chat benchmark"), what a run of one measures, and
// Prosody's figures from the anchor's README for when Prosody is not measured.

/** The workloads, in the order each system runs them (W9 first, on a freshly started server). */
export const workloadIds = ["W9", "W6", "W2", "W3", "W4", "W5", "W7", "W3-pglite"] as const;
export type WorkloadId = (typeof workloadIds)[number];

/** One fan-out workload; M (messages per sender) is per system, see {@link messagesPerSender}. */
export interface FanoutWorkload {
  readonly n: number;
  readonly k: number;
  /** Messages per second from all senders together; 0 for a closed loop. */
  readonly rate: number;
  readonly window: number;
}

/** Loopback, 100-byte bodies; paced rates are deliveries/s divided by N. */
export const fanoutWorkloads = {
  W2: { n: 50, k: 5, rate: 100, window: 4 },
  W3: { n: 50, k: 10, rate: 0, window: 4 },
  W4: { n: 200, k: 5, rate: 50, window: 4 },
  W5: { n: 200, k: 10, rate: 0, window: 4 },
  W7: { n: 8, k: 8, rate: 0, window: 1 },
} as const satisfies Record<string, FanoutWorkload>;

export const joinMembers = 500;
export const idleClients = 1000;
export const bodyBytes = 100;

/** What scales the messages per sender (BENCH_CHAT_SCALE, default 1): 0.2 for a quick look. */
function scale(): number {
  const value = Number(process.env.BENCH_CHAT_SCALE ?? 1);
  return Number.isFinite(value) && value > 0 ? value : 1;
}

/**
 * Messages per sender, chosen so each run lasts about 10 seconds on this machine (2 cores):
 * paced runs offer M·K/RATE seconds of load, the same to both systems (a system that cannot keep
 * up takes longer); closed loops are sized for each system's throughput (measured before the
 * hot-path redesign), so the slower one does not take minutes. Per-delivery figures do not
 * depend on M.
 */
export function messagesPerSender(system: "ours" | "prosody", id: keyof typeof fanoutWorkloads | "W3-pglite"): number {
  const base = {
    ours: { W2: 240, W3: 45, "W3-pglite": 45, W4: 120, W5: 35, W7: 90 },
    prosody: { W2: 240, W3: 200, "W3-pglite": 200, W4: 120, W5: 50, W7: 500 },
  }[system][id];
  return Math.max(2, Math.round(base * scale()));
}

/** Labels of the workloads, for the table. */
export const workloadLabels: Record<WorkloadId, string> = {
  W2: "W2 N=50 paced 5k deliveries/s",
  W3: "W3 N=50 K=10 closed loop",
  "W3-pglite": "W3 on PGlite (ours)",
  W4: "W4 N=200 paced 10k deliveries/s",
  W5: "W5 N=200 K=10 closed loop",
  W6: "W6 500 members join one room",
  W7: "W7 8 senders x1, durable",
  W9: "W9 1,000 idle clients",
};

/** A figure a run reports; lower or higher is better. */
export interface Figure {
  readonly key: string;
  readonly label: string;
  readonly better: "lower" | "higher";
  readonly digits: number;
}

const cpu: Figure = { key: "cpuUs", label: "CPU-us per delivery", better: "lower", digits: 1 };
const rate: Figure = { key: "deliveriesPerS", label: "deliveries/s", better: "higher", digits: 0 };
const p50: Figure = { key: "p50", label: "latency p50 ms", better: "lower", digits: 1 };
const p99: Figure = { key: "p99", label: "latency p99 ms", better: "lower", digits: 1 };

/** The table's rows: per workload, its main figure first. */
export const figuresOf: Record<WorkloadId, Figure[]> = {
  W2: [cpu, p50, p99],
  W3: [cpu, rate, p50, p99],
  "W3-pglite": [cpu, rate, p50, p99],
  W4: [cpu, p50, p99],
  W5: [cpu, rate, p50, p99],
  W6: [{ key: "seconds", label: "seconds until all joined", better: "lower", digits: 1 }],
  W7: [
    { key: "messagesPerS", label: "durable messages/s", better: "higher", digits: 0 },
    { key: "cpuUs", label: "CPU-us per message", better: "lower", digits: 0 },
  ],
  W9: [
    { key: "kibPerClient", label: "KiB per client", better: "lower", digits: 1 },
    { key: "idleMiB", label: "idle process MiB", better: "lower", digits: 1 },
  ],
};

/** Prosody's figures in the anchor's README (tuned Prosody 0.12, this machine), as text. */
export const anchorFigures: Partial<Record<WorkloadId, Record<string, string>>> = {
  W2: { p50: "2.9", p99: "10.8" },
  W3: { cpuUs: "52", deliveriesPerS: "17,093 (16,876-21,042)" },
  "W3-pglite": { cpuUs: "52", deliveriesPerS: "17,093 (16,876-21,042)" },
  W4: { p50: "6.4", p99: "187 (47-1,012)" },
  W5: { cpuUs: "47", deliveriesPerS: "14,882 (11,192-19,611)" },
  W6: { seconds: "14.7" },
  W7: { messagesPerS: "about 640" },
  W9: { kibPerClient: "33", idleMiB: "15.5" },
};

/** The anchor's figures as numbers, for the ratio. */
export function anchorNumber(text: string | undefined): number | undefined {
  const match = /[\d,.]+/.exec(text ?? "");
  return match ? Number(match[0].replaceAll(",", "")) : undefined;
}

/** Delivery bookkeeping of a run: nothing lost, nothing duplicated, order kept. */
export interface Integrity {
  readonly expected: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly inversions: number;
  readonly errors: number;
}

/** What one run of one workload on one system measured. */
export interface Measured {
  readonly workload: WorkloadId;
  readonly figures: Record<string, number>;
  readonly integrity?: Integrity | undefined;
  /** One-minute load average at the start and at the end of the run. */
  readonly load: readonly [number, number];
  /** A line of detail for the log. */
  readonly detail: string;
  /** Statements the database ran per send (pg_stat_statements), when counted. */
  readonly statements?: StatementCounts | undefined;
}

/** Statements executed over a run's send phase, from pg_stat_statements. */
export interface StatementCounts {
  readonly sends: number;
  readonly calls: number;
  /** Execution time of them all (pg_stat_statements' total_exec_time), ms; lock waits included. */
  readonly ms: number;
  /** Planning time of them all, ms. */
  readonly planMs: number;
  /** Functions JIT-compiled. */
  readonly jitFunctions: number;
  readonly top: readonly { readonly query: string; readonly calls: number; readonly ms: number }[];
}
