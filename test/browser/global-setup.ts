import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { makeDataDirTemplate, migratedDump } from "../helpers/global-setup.ts";
import { artifactsDir, chromiumPath } from "./support.ts";

/**
 * Builds the client when its sources changed, checks that chromium is installed, and prepares
 * the migrated data folder the test servers start from.
 */
export default async function setup(project: TestProject) {
  const build = fileURLToPath(new URL("../../web/build.ts", import.meta.url));
  const result = spawnSync(process.execPath, [build], { stdio: "inherit" });
  if (result.status !== 0) throw new Error("building the web client failed");
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: apt-get install -y chromium (CI does this in .ci/run)`);
  }
  mkdirSync(artifactsDir, { recursive: true });
  console.log(`browser test artifacts (screenshots): ${artifactsDir}`);
  const dir = mkdtempSync(join(tmpdir(), "fedchat-browser-template-"));
  project.provide("pgliteDataDir", await makeDataDirTemplate(dir, await migratedDump()));
  return () => rmSync(dir, { recursive: true, force: true });
}
