import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { artifactsDir, chromiumPath } from "./support.ts";

/** Builds the client when its sources changed, and checks that chromium is installed. */
export default function setup() {
  const build = fileURLToPath(new URL("../../web/build.ts", import.meta.url));
  const result = spawnSync(process.execPath, [build], { stdio: "inherit" });
  if (result.status !== 0) throw new Error("building the web client failed");
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: apt-get install -y chromium (CI does this in .ci/run)`);
  }
  mkdirSync(artifactsDir, { recursive: true });
  console.log(`browser test artifacts (screenshots): ${artifactsDir}`);
}
