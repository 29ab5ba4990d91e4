/**
 * Builds the browser client into web/dist when it is missing or older than its sources, so
 * that `npm start` on a fresh checkout serves a working client without a separate step.
 * `--force` always builds. Exits non-zero when a needed build fails.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL(".", import.meta.url));
const root = join(web, "..");
const built = join(web, "dist", "index.html");

/** The newest modification time among the client's sources. */
function newestSource(): number {
  let newest = 0;
  const visit = (path: string) => {
    const info = statSync(path);
    if (info.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else newest = Math.max(newest, info.mtimeMs);
  };
  for (const path of ["src", "public", "index.html", "vite.config.ts"]) {
    const full = join(web, path);
    if (existsSync(full)) visit(full);
  }
  visit(join(root, "package-lock.json"));
  return newest;
}

const force = process.argv.includes("--force");
if (!force && existsSync(built) && statSync(built).mtimeMs >= newestSource()) {
  console.log("web client: web/dist is up to date");
  process.exit(0);
}
const vite = join(root, "node_modules", "vite", "bin", "vite.js");
if (!existsSync(vite)) {
  if (existsSync(built)) {
    console.warn("web client: vite is not installed (npm ci --omit=dev?); serving the existing web/dist");
    process.exit(0);
  }
  console.error("web client: web/dist is missing and vite is not installed: run `npm ci` first");
  process.exit(1);
}
console.log("web client: building web/dist …");
const started = performance.now();
const result = spawnSync(
  process.execPath,
  [vite, "build", "--config", join(web, "vite.config.ts"), "--logLevel", "warn"],
  {
    cwd: root,
    stdio: "inherit",
    // Always the production bundle, even when the caller runs with NODE_ENV=test (vitest does):
    // the build in web/dist is the one `npm start` serves.
    env: { ...process.env, NODE_ENV: "production" },
  },
);
if (result.status !== 0) process.exit(result.status ?? 1);
console.log(`web client: built in ${Math.round(performance.now() - started)} ms`);
