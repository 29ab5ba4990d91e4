/**
 * Runs `npm run admin -- <args>` (federation/admin.ts) as its own process, with a server's
 * environment, before that server starts: how the tests make an admin of the instance.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const admin = fileURLToPath(new URL("../../federation/admin.ts", import.meta.url));

/**
 * Runs one admin command and answers its output.
 * @throws {Error} when it fails.
 */
export function runAdmin(env: Record<string, string>, args: readonly string[]): string {
  const run = spawnSync(process.execPath, [admin, ...args], {
    env: { PATH: process.env.PATH ?? "", ORIGIN: "http://127.0.0.1", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`admin ${args.join(" ")} failed (${run.status}):\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

/** Creates an account and makes it an admin of the instance. */
export function createAdmin(env: Record<string, string>, username: string, password = "correct horse battery"): void {
  runAdmin(env, ["users:create", username, "--password", password]);
  runAdmin(env, ["users:role", username, "admin"]);
}
