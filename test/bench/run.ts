// `npm run bench`: runs every benchmark and prints one line per figure. Pick some with
// `npm run bench -- queue startup`. Timings are printed, never asserted. Arguments that start
// with `--` are flags handed to every chosen benchmark (`npm run bench -- chat --vs-prosody`).
import { Temporal } from "@js-temporal/polyfill";
import { chatBenchmark } from "./chat.ts";
import { commandsBenchmark } from "./commands.ts";
import { fanoutBenchmark } from "./fanout.ts";
import { federationBenchmark } from "./federation.ts";
import { inboxBenchmark } from "./inbox.ts";
import { loginBenchmark } from "./login.ts";
import { queueBenchmark } from "./queue.ts";
import { relayBenchmark } from "./relay.ts";
import { searchBenchmark } from "./search.ts";
import { startupBenchmark } from "./startup.ts";
import { uploadsBenchmark } from "./uploads.ts";

if (!("Temporal" in globalThis)) Object.assign(globalThis, { Temporal });

const benchmarks: Record<string, (flags: readonly string[]) => Promise<void>> = {
  startup: startupBenchmark,
  queue: queueBenchmark,
  login: loginBenchmark,
  fanout: fanoutBenchmark,
  federation: federationBenchmark,
  inbox: inboxBenchmark,
  relay: relayBenchmark,
  uploads: uploadsBenchmark,
  search: searchBenchmark,
  commands: commandsBenchmark,
  // Last: the longest, and the hot path's yardstick (issue 13); `-- chat --vs-prosody` for the anchor.
  chat: chatBenchmark,
};
const knownFlags = ["--vs-prosody"];

const flags = process.argv.slice(2).filter((a) => a.startsWith("--"));
const chosen = process.argv.slice(2).filter((a) => !a.startsWith("--"));
for (const flag of flags) {
  if (!knownFlags.includes(flag)) {
    process.stderr.write(`Unknown flag ${flag}; known: ${knownFlags.join(", ")}.\n`);
    process.exit(2);
  }
}
for (const name of chosen) {
  if (!(name in benchmarks)) {
    process.stderr.write(`Unknown benchmark ${name}; choose from ${Object.keys(benchmarks).join(", ")}.\n`);
    process.exit(2);
  }
}
process.stdout.write(`node ${process.version}, ${new Date().toISOString()}\n`);
for (const [name, run] of Object.entries(benchmarks)) {
  if (chosen.length > 0 && !chosen.includes(name)) continue;
  await run(flags);
}
