// `npm run bench -- chat [--vs-prosody]`: the chat hot path under the performance anchor's
// workloads (W2-W7, W9), on our server (a real process on PostgreSQL, W3 on PGlite too) and,
// with --vs-prosody, on a tuned Prosody MUC in the same run, interleaved (ours, Prosody, three
// times). Prints one table: the median (min-max) of each figure, the ratio, and the load
// average of each run; then the statements per send. The pieces are in ./chat/.
import { onInterrupt } from "./chat/cleanup.ts";
import { BenchDatabase, runOurs } from "./chat/ours.ts";
import { ensureProsody, runProsody } from "./chat/prosody.ts";
import {
  anchorFigures,
  anchorNumber,
  type Figure,
  figuresOf,
  type Measured,
  type StatementCounts,
  type WorkloadId,
  workloadIds,
  workloadLabels,
} from "./chat/workloads.ts";

const out = (line = "") => process.stdout.write(`${line}\n`);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function number(value: number, digits: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `median (min-max)` of a figure over the runs, or the one value. */
function cell(values: readonly number[], digits: number): string {
  if (values.length === 0) return "-";
  if (values.length === 1) return number(values[0] as number, digits);
  return `${number(median(values), digits)} (${number(Math.min(...values), digits)}-${number(Math.max(...values), digits)})`;
}

function integrityText(m: Measured | undefined): string {
  const i = m?.integrity;
  if (i == null) return "-";
  return `${i.lost}/${i.duplicates}/${i.inversions}/${i.errors} of ${i.expected.toLocaleString("en-US")}`;
}

function logLine(system: string, run: number, into: Measured[]) {
  return (m: Measured) => {
    into.push(m);
    out(
      `chat ${system} run ${run} ${m.workload}: ${m.detail}` +
        (m.integrity ? `; lost/dup/inv/err ${integrityText(m)}` : "") +
        `; load ${m.load[0].toFixed(2)}->${m.load[1].toFixed(2)}`,
    );
  };
}

/** The one table: per workload and figure, ours, Prosody, the ratio and every run's load. */
function printTable(ours: Measured[][], prosody: Measured[][], measuredProsody: boolean): void {
  const order: WorkloadId[] = ["W2", "W3", "W3-pglite", "W4", "W5", "W6", "W7", "W9"];
  const find = (runs: Measured[][], id: WorkloadId) =>
    runs.map((run) => run.find((m) => m.workload === id)).filter((m): m is Measured => m != null);
  const rows: string[][] = [
    [
      "workload",
      "figure",
      `ours${ours.length > 1 ? ` (median of ${ours.length}, min-max)` : ""}`,
      measuredProsody ? `Prosody (median of ${prosody.length}, min-max)` : "Prosody (anchor's README)",
      "ours/Prosody",
      measuredProsody ? "load: ours | Prosody" : "load: ours",
    ],
  ];
  for (const id of order) {
    const mine = find(ours, id);
    // Prosody has no PGlite: our PGlite run is compared with its W3.
    const theirs = find(prosody, id === "W3-pglite" ? "W3" : id);
    figuresOf[id].forEach((figure: Figure, index) => {
      const a = mine.map((m) => m.figures[figure.key]).filter((v): v is number => v != null);
      const b = theirs.map((m) => m.figures[figure.key]).filter((v): v is number => v != null);
      const reference = anchorFigures[id]?.[figure.key];
      const theirMedian = measuredProsody ? (b.length ? median(b) : undefined) : anchorNumber(reference);
      const ratio = a.length && theirMedian ? median(a) / theirMedian : undefined;
      const loads = (runs: Measured[]) => runs.map((m) => m.load[1].toFixed(1)).join(" ");
      rows.push([
        index === 0 ? workloadLabels[id] : "",
        `${figure.label} ${figure.better === "lower" ? "(lower better)" : "(higher better)"}`,
        cell(a, figure.digits),
        measuredProsody ? cell(b, figure.digits) : (reference ?? "-"),
        ratio == null ? "-" : `${ratio.toFixed(2)}x`,
        index > 0 ? "" : measuredProsody ? `${loads(mine)} | ${loads(theirs)}` : loads(mine),
      ]);
    });
  }
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  const line = (r: string[]) => `| ${r.map((v, c) => v.padEnd(widths[c] ?? 0)).join(" | ")} |`;
  out();
  out(line(rows[0] as string[]));
  out(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows.slice(1)) out(line(r));
  if (!measuredProsody) {
    out("Prosody: from the anchor's README (tuned Prosody 0.12 on this machine), not measured now;");
    out("measure it side by side with `npm run bench -- chat --vs-prosody`.");
  }
  out("CPU counts the server process and its PostgreSQL backends (Prosody's W7: its archive's backends).");
}

/** Delivery checks of every run, then the statements per send of the first run. */
function printChecks(ours: Measured[][], prosody: Measured[][]): void {
  out();
  out("Delivery checks of every run (lost/duplicated/order inversions/errors of expected deliveries):");
  for (const id of ["W2", "W3", "W3-pglite", "W4", "W5", "W6", "W7"] as WorkloadId[]) {
    const of = (runs: Measured[][]) => runs.map((run) => integrityText(run.find((m) => m.workload === id)));
    out(
      `  ${id.padEnd(10)} ours: ${of(ours).join(", ")}${prosody.length ? `; Prosody: ${of(prosody).join(", ")}` : ""}`,
    );
  }
  const first = ours[0] ?? [];
  if (!first.some((m) => m.statements)) {
    out("Statements per send: not counted (no pg_stat_statements on this PostgreSQL).");
    return;
  }
  out();
  out("Statements per send (execution + planning ms per send, lock waits included; pg_stat_statements");
  out("over the send phase of run 1, the server's background work in that time included):");
  out(
    `  ${first
      .filter((m) => m.statements)
      .map((m) => {
        const counts = m.statements as StatementCounts;
        const sends = Math.max(1, counts.sends);
        return (
          `${m.workload} ${(counts.calls / sends).toFixed(1)} (${(counts.ms / sends).toFixed(1)} + ` +
          `${(counts.planMs / sends).toFixed(2)} ms${counts.jitFunctions ? `, JIT ${counts.jitFunctions}` : ""})`
        );
      })
      .join("   ")}`,
  );
  for (const id of ["W3", "W7"] as WorkloadId[]) {
    const counts = first.find((m) => m.workload === id)?.statements;
    if (counts == null) continue;
    const sends = Math.max(1, counts.sends);
    out(`Top statements in ${id}: calls per send, execution ms per send, statement:`);
    for (const s of counts.top.slice(0, 10)) {
      const text = s.query.length > 120 ? `${s.query.slice(0, 117)}...` : s.query;
      out(`  ${(s.calls / sends).toFixed(2).padStart(6)} ${(s.ms / sends).toFixed(3).padStart(7)}  ${text}`);
    }
  }
}

/**
 * The chat benchmark. Flags: `--vs-prosody` (or BENCH_VS_PROSODY=1) measures Prosody too, three
 * runs each, interleaved; otherwise ours runs BENCH_CHAT_RUNS times (default once).
 * BENCH_CHAT_SCALE scales the messages per sender (0.2 for a quick look); BENCH_CHAT_WORKLOADS
 * (`W3,W3-pglite`) runs only those.
 */
export async function chatBenchmark(flags: readonly string[] = []): Promise<void> {
  const vsProsody = flags.includes("--vs-prosody") || process.env.BENCH_VS_PROSODY === "1";
  const runs = vsProsody ? 3 : Math.max(1, Math.min(9, Number(process.env.BENCH_CHAT_RUNS ?? 1) || 1));
  const only = (process.env.BENCH_CHAT_WORKLOADS ?? "").split(",").filter(Boolean);
  for (const id of only) {
    if (!(workloadIds as readonly string[]).includes(id)) throw new Error(`BENCH_CHAT_WORKLOADS: no workload ${id}`);
  }
  const wanted = (id: WorkloadId) => only.length === 0 || only.includes(id);
  const started = Date.now();
  let untrackCluster = () => {};
  const database = await BenchDatabase.open((drop) => {
    untrackCluster = onInterrupt(drop);
  });
  out(`chat: PostgreSQL is ${database.description}`);
  const ours: Measured[][] = [];
  const prosody: Measured[][] = [];
  let failure: unknown;
  try {
    if (vsProsody) await ensureProsody();
    for (let run = 1; run <= runs; run++) {
      // Each result is kept as it comes, so a failure later still leaves it in the table.
      const mine: Measured[] = [];
      ours.push(mine);
      await runOurs(database, wanted, logLine("ours", run, mine));
      if (!vsProsody) continue;
      const theirs: Measured[] = [];
      prosody.push(theirs);
      await runProsody(database, wanted, logLine("Prosody", run, theirs));
    }
  } catch (error) {
    // What was measured before the failure is still worth a table.
    failure = error;
  } finally {
    await database.close();
    untrackCluster();
  }
  printTable(ours, prosody, vsProsody);
  printChecks(ours, prosody);
  out(`chat: ${runs} run(s) in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
  if (failure) throw failure;
}
