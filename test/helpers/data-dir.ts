import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";

/**
 * A new data folder for a server process whose embedded database is already created and
 * migrated: a copy of the run's template (global-setup.ts). Creating one takes the server
 * seconds; the tests of a first start on a fresh machine use an empty folder instead.
 */
export function preparedDataDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(inject("pgliteDataDir"), "pglite"), join(dir, "pglite"), { recursive: true });
  return dir;
}
