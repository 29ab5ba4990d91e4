// `npm run bench -- federation`: delivery of what rooms publish to other servers (issue 14),
// through a real server process on PostgreSQL and peer servers on loopback that verify every
// request's HTTP signature. BENCH_FEDERATION_CASES picks cases (comma-separated; all by
// default): signing, throughput (S = 1, 10, 50, 200 peers; BENCH_FEDERATION_PEERS,
// BENCH_FEDERATION_MESSAGES, BENCH_FEDERATION_RATE), throughput-rsa (S = 50 peers that take
// draft-cavage RSA only), and the faults outage, black-hole,
// slow-peer and kill-9. Prints numbers, never asserts. The pieces are in ./federation/.
import { blackHoleCase, outageCase, slowPeerCase } from "./federation/faults.ts";
import { killCase } from "./federation/kill.ts";
import { signingCase } from "./federation/signing.ts";
import { rsaThroughputCase, throughputCase } from "./federation/throughput.ts";
import { benchPostgresUrl } from "./support.ts";

const cases: Record<string, (admin: string) => Promise<void>> = {
  signing: () => signingCase(),
  throughput: throughputCase,
  "throughput-rsa": rsaThroughputCase,
  outage: outageCase,
  "black-hole": blackHoleCase,
  "slow-peer": slowPeerCase,
  "kill-9": killCase,
};

/**
 * Runs the cases BENCH_FEDERATION_CASES names (all by default), in the order above. A case
 * that fails is reported and the others still run; the process then exits with 1.
 * @throws {Error} when BENCH_FEDERATION_CASES names a case there is not.
 */
export async function federationBenchmark(): Promise<void> {
  const chosen = (process.env.BENCH_FEDERATION_CASES ?? "").split(",").filter(Boolean);
  const unknown = chosen.filter((name) => !(name in cases));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_FEDERATION_CASES: no case ${unknown.join(", ")}; choose from ${Object.keys(cases).join(", ")}`,
    );
  }
  const admin = await benchPostgresUrl();
  for (const [name, run] of Object.entries(cases)) {
    if (chosen.length > 0 && !chosen.includes(name)) continue;
    if (admin == null && name !== "signing") {
      process.stdout.write(`federation ${name}: skipped, no PostgreSQL at BENCH_DATABASE_URL or 127.0.0.1:5432\n`);
      continue;
    }
    const started = Date.now();
    try {
      await run(admin ?? "");
    } catch (error) {
      // One case failing leaves the others to run; the run still ends in failure.
      process.stderr.write(`federation ${name}: failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    }
    process.stdout.write(`federation ${name}: took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
}
