// `npm run bench`: runs every benchmark and prints one line per figure. Pick some with
// `npm run bench -- queue startup`. Timings are printed, never asserted.
import { Temporal } from "@js-temporal/polyfill";
import { fanoutBenchmark } from "./fanout.ts";
import { federationBenchmark } from "./federation.ts";
import { inboxBenchmark } from "./inbox.ts";
import { loginBenchmark } from "./login.ts";
import { queueBenchmark } from "./queue.ts";
import { startupBenchmark } from "./startup.ts";
import { uploadsBenchmark } from "./uploads.ts";

if (!("Temporal" in globalThis)) Object.assign(globalThis, { Temporal });

const benchmarks: Record<string, () => Promise<void>> = {
  startup: startupBenchmark,
  queue: queueBenchmark,
  login: loginBenchmark,
  fanout: fanoutBenchmark,
  federation: federationBenchmark,
  inbox: inboxBenchmark,
  uploads: uploadsBenchmark,
};

const chosen = process.argv.slice(2);
for (const name of chosen) {
  if (!(name in benchmarks)) {
    process.stderr.write(`Unknown benchmark ${name}; choose from ${Object.keys(benchmarks).join(", ")}.\n`);
    process.exit(2);
  }
}
process.stdout.write(`node ${process.version}, ${new Date().toISOString()}\n`);
for (const [name, run] of Object.entries(benchmarks)) {
  if (chosen.length > 0 && !chosen.includes(name)) continue;
  await run();
}
