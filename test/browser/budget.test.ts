import { describe, expect, it } from "vitest";
import { initialJsBudget, measureInitialJs } from "../../web/size.ts";

describe("the client's size budget", () => {
  it("loads at most 100 KB of gzipped JavaScript before the first screen", () => {
    const { files, gzipped } = measureInitialJs();
    for (const f of files) console.log(`${f.file}: ${f.bytes} bytes, ${f.gzipped} gzipped`);
    console.log(`initial JavaScript: ${(gzipped / 1024).toFixed(1)} KB gzipped (budget ${initialJsBudget / 1024} KB)`);
    expect(files.length).toBeGreaterThan(0);
    expect(gzipped).toBeLessThanOrEqual(initialJsBudget);
  });
});
