import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * The suite runs twice: on the embedded database, and on PostgreSQL when TEST_DATABASE_URL is
 * set. A test file that never learns which database the run targets does the same thing both
 * times; it runs in the embedded pass only.
 *
 * A file learns it through the test helpers that create databases and instances, or by reading
 * the variable itself: these words, in the file or in any test module it imports (following
 * relative imports within test/). Code under src/ never reads the variable.
 */
const databaseChoice = /\b(TEST_DATABASE_URL|testDatabaseKind|createTestDatabase|createTestInstance)\b/;

const importPattern = /\b(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

function testFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFilesUnder(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

/**
 * Whether a test module, or a test module it imports, depends on which database the run
 * targets.
 * @param seen Modules already visited (imports may form cycles).
 */
function dependsOnDatabase(file: string, testDir: string, seen: Set<string>): boolean {
  if (seen.has(file)) return false;
  seen.add(file);
  const text = readFileSync(file, "utf8");
  if (databaseChoice.test(text)) return true;
  for (const [, specifier] of text.matchAll(importPattern)) {
    const target = resolve(dirname(file), specifier as string);
    if (relative(testDir, target).startsWith("..") || !existsSync(target)) continue;
    if (dependsOnDatabase(target, testDir, seen)) return true;
  }
  return false;
}

/**
 * The test files (relative to `root`, as vitest's `exclude` takes them) that behave the same
 * whatever the database: the PostgreSQL pass leaves them out.
 * @param root The repository.
 */
export function databaseIndependentTests(root: string): string[] {
  const testDir = join(root, "test");
  return testFilesUnder(testDir)
    .filter((file) => !dependsOnDatabase(file, testDir, new Set()))
    .map((file) => relative(root, file))
    .sort();
}
