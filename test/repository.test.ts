import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { databaseIndependentTests } from "./helpers/database-passes.ts";

// A fresh clone must pass its own tests with nothing beside it: CI tests a clone in an empty
// directory, and a test that reads a sibling of the repository passes only on the machines that
// happen to have that sibling (the interop tests once did, and failed everywhere else).

const root = fileURLToPath(new URL("..", import.meta.url));
const testDir = join(root, "test");

/**
 * Names of places outside the repository that tests have used. Built from parts so that this
 * file, which is under test/ too, does not name them itself.
 */
const forbiddenNames = [["..", "shared"].join("/"), ["interop", "corpus"].join("-")];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const isSource = (file: string) => /\.(c|m)?(ts|tsx|js|jsx)$/.test(file);
const outsideRoot = (path: string) => {
  const inRepo = relative(root, path);
  return inRepo.split(sep)[0] === ".." || isAbsolute(inRepo);
};
const lineOf = (text: string, index: number) => text.slice(0, index).split("\n").length;

/**
 * Where `text` (the contents of `file`) names a path outside the repository: a forbidden name
 * anywhere; and in source, a string literal that starts with a dot segment (as given to `new
 * URL(…, import.meta.url)` or to an import) or a `join`/`resolve` from the file's own folder with
 * literal segments, that climbs above the root when resolved from the file's folder.
 */
function outsidePaths(file: string, text: string): string[] {
  const where = (index: number) => `${relative(root, file)}:${lineOf(text, index)}`;
  const found: string[] = [];
  const lower = text.toLowerCase();
  for (const name of forbiddenNames) {
    for (let i = lower.indexOf(name); i !== -1; i = lower.indexOf(name, i + 1)) {
      found.push(`${where(i)} names ${name}`);
    }
  }
  if (!isSource(file)) return found;
  const folder = dirname(file);
  // A string starting with `.` or `..` and a slash, up to its closing quote or an interpolation.
  for (const m of text.matchAll(/["'`](\.{1,2}(?:\/[^"'`\s$]*)?)(?=["'`$])/g)) {
    const literal = m[1] as string;
    if (outsideRoot(resolve(folder, literal))) found.push(`${where(m.index)} climbs out with ${literal}`);
  }
  // `join(__dirname, …)` and its spellings, with string segments: only the literal segments count.
  const base = String.raw`(?:__dirname|import\.meta\.dirname|dirname\(\s*fileURLToPath\(\s*import\.meta\.url\s*\)\s*\))`;
  const call = new RegExp(String.raw`\b(?:join|resolve)\(\s*${base}((?:\s*,\s*(["'\x60])[^"'\x60\n]*\2)+)`, "g");
  for (const m of text.matchAll(call)) {
    const segments = [...(m[1] as string).matchAll(/["'`]([^"'`\n]*)["'`]/g)].map((s) => s[1] as string);
    if (outsideRoot(resolve(folder, ...segments))) {
      found.push(`${where(m.index)} climbs out with ${segments.join(", ")}`);
    }
  }
  return found;
}

describe("the repository is self-contained", () => {
  it("has no file under test/ that names a path outside the repository", () => {
    const offenders = filesUnder(testDir).flatMap((file) => {
      const bytes = readFileSync(file);
      // Binary files (images and such) name no paths.
      return bytes.includes(0) ? [] : outsidePaths(file, bytes.toString("utf8"));
    });
    expect(offenders).toEqual([]);
  });

  // The samples are built from parts for the reason given at the top.
  const up = "..";
  const q = '"';
  const str = (s: string) => `${q}${s}${q}`;

  it("finds a sibling path in each form it looks for (the check itself works)", () => {
    const file = join(testDir, "federation", "sample.test.ts");
    const lines = [
      `const corpus = new URL(${str(`${up}/${up}/${up}/elsewhere/`)}, import.meta.url);`,
      `const deep = join(__dirname, ${str(up)}, ${str(up)}, ${str(up)}, ${str("elsewhere")});`,
      `const tpl = resolve(dirname(fileURLToPath(import.meta.url)), ${str(`${up}/${up}`)}, ${str(up)});`,
      `const dir = import(${str(`./${up}/${up}/${up}/x.ts`)});`,
      `const interpolated = \`${up}/${up}/${up}/\${name}\`;`,
      `// see ${forbiddenNames[0]}/${forbiddenNames[1]}/README.md`,
    ];
    const found = outsidePaths(file, lines.join("\n"));
    expect(found).toEqual([
      `test/federation/sample.test.ts:6 names ${forbiddenNames[0]}`,
      `test/federation/sample.test.ts:6 names ${forbiddenNames[1]}`,
      `test/federation/sample.test.ts:1 climbs out with ${up}/${up}/${up}/elsewhere/`,
      `test/federation/sample.test.ts:4 climbs out with ./${up}/${up}/${up}/x.ts`,
      `test/federation/sample.test.ts:5 climbs out with ${up}/${up}/${up}/`,
      `test/federation/sample.test.ts:2 climbs out with ${up}, ${up}, ${up}, elsewhere`,
      `test/federation/sample.test.ts:3 climbs out with ${up}/${up}, ${up}`,
    ]);
  });

  it("lets paths that stay inside the repository be, however far they climb within it", () => {
    const file = join(testDir, "src", "accounts", "sample.test.ts");
    const lines = [
      `const cli = new URL(${str(`${up}/${up}/${up}/federation/admin.ts`)}, import.meta.url);`,
      `const rootDir = join(__dirname, ${str(up)}, ${str(up)}, ${str(up)});`,
      `import { helper } from ${str(`${up}/${up}/helpers/stream.ts`)};`,
      `const data = ${str(`${up}/x`)}; const here = ${str(".")};`,
    ];
    expect(outsidePaths(file, lines.join("\n"))).toEqual([]);
    // Only source is read for relative paths: prose may quote one, as long as it names no sibling.
    expect(outsidePaths(join(testDir, "README.md"), `see ${str(`${up}/${up}/${up}/x`)}`)).toEqual([]);
  });
});

describe("the PostgreSQL pass", () => {
  it("leaves out exactly the test files that never learn which database the run targets", () => {
    const fake = mkdtempSync(join(tmpdir(), "fedchat-passes-"));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(fake, path)), { recursive: true });
        writeFileSync(join(fake, path), text);
      };
      write("test/helpers/db.ts", "export async function createTestDatabase() {}\n");
      write("test/helpers/pure.ts", 'import { other } from "./cycle.ts";\nexport const pure = 1;\n');
      write("test/helpers/cycle.ts", 'import { pure } from "./pure.ts";\nexport const other = 2;\n');
      write("test/api/uses-db.test.ts", 'import { x } from "../helpers/indirect.ts";\n');
      write("test/helpers/indirect.ts", 'export { createTestDatabase } from "./db.ts";\n');
      write("test/e2e/reads-env.test.ts", "if (process.env.TEST_DATABASE_URL) it();\n");
      // Imports of the application are not followed: its code never reads the variable.
      const application = ["..", "..", "src", "config.ts"].join("/");
      write("src/config.ts", "process.env.TEST_DATABASE_URL;\n");
      write("test/src/pure.test.ts", `import { pure } from "../helpers/pure.ts";\nimport "${application}";\n`);
      write("test/src/missing-import.test.ts", 'import { gone } from "./gone.ts";\n');
      expect(databaseIndependentTests(fake)).toEqual(["test/src/missing-import.test.ts", "test/src/pure.test.ts"]);
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });

  it("keeps every API test in both passes", () => {
    const independent = databaseIndependentTests(root);
    expect(independent.filter((file) => file.startsWith("test/api/"))).toEqual([]);
    expect(independent).toContain("test/e2e/federation.test.ts");
  });
});
