import type { ConsistencyCheck } from "./consistency.ts";
import type { Deps } from "./deps.ts";

// What every command of the operator's command line (admin.ts) is given and may throw.

/** What a command is given: the server's dependencies, its arguments, and where to write. */
export interface CommandRun {
  readonly deps: Deps;
  readonly args: string[];
  readonly options: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Writes one line of the command's output. */
  readonly print: (line: string) => void;
  /** Consistency checks beyond the core ones (federation's), loaded only when asked for. */
  readonly extraChecks: () => Promise<readonly ConsistencyCheck[]>;
}

/** A command; a number it answers is the exit status (the consistency check's 1), else 0. */
export type Command = (run: CommandRun) => Promise<unknown>;

export function one(args: string[], what = "user name"): string {
  if (args.length !== 1 || !args[0]) throw new UsageError(`Expected exactly one ${what}.`);
  return args[0];
}

/** A command line that cannot be run: its message and the usage, exit status 2. */
export class UsageError extends Error {}
