/**
 * The size budget of the browser client: the JavaScript that index.html loads before the
 * first screen (its entry script and the chunks it preloads), gzipped, at most 100 KB.
 * `node web/size.ts` prints the sizes and exits 1 over budget.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** 100 KB, as the issue states it (1 KB = 1000 bytes would be kinder; we use 1024). */
export const initialJsBudget = 100 * 1024;

/** Every script that the built index.html loads at once, with raw and gzipped sizes. */
export function measureInitialJs(dist = fileURLToPath(new URL("dist/", import.meta.url))) {
  const html = readFileSync(join(dist, "index.html"), "utf8");
  const srcs = [
    ...html.matchAll(/<script[^>]+src="\/([^"]+\.js)"/g),
    ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/([^"]+\.js)"/g),
  ].map((m) => m[1] as string);
  const files = [...new Set(srcs)].map((file) => {
    const bytes = readFileSync(join(dist, file));
    return { file, bytes: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
  });
  return { files, gzipped: files.reduce((sum, f) => sum + f.gzipped, 0) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { files, gzipped } = measureInitialJs();
  for (const f of files) console.log(`${f.file}: ${f.bytes} bytes, ${f.gzipped} gzipped`);
  console.log(`initial JavaScript: ${(gzipped / 1024).toFixed(1)} KB gzipped (budget ${initialJsBudget / 1024} KB)`);
  if (files.length === 0 || gzipped > initialJsBudget) process.exit(1);
}
