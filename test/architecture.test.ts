import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(name) ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [
    ...text.matchAll(/(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g),
  ];
  return specifiers.map((m) => (m[1] ?? m[2]) as string);
}

describe("layering", () => {
  it("keeps src/ (the domain, HTTP API and database) free of federation/ imports", () => {
    const federationDir = resolve(root, "federation");
    const offenders = sourceFiles(join(root, "src")).flatMap((file) =>
      importsOf(file)
        .filter((spec) => spec.startsWith("."))
        .filter((spec) => resolve(file, "..", spec).startsWith(federationDir))
        .map((spec) => `${relative(root, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it("keeps Fedify out of src/: it speaks HTTP and SQL, not ActivityPub", () => {
    const offenders = sourceFiles(join(root, "src")).flatMap((file) =>
      importsOf(file)
        .filter((spec) => spec.startsWith("@fedify/"))
        .map((spec) => `${relative(root, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it("detects a wrong-way import (the check itself works)", () => {
    const sample = join(root, "src", "config.ts");
    expect(importsOf(sample)).toContain("zod");
  });
});
