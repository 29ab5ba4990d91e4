import { defineConfig } from "vitest/config";

/**
 * Browser tests: a real server process and Debian's chromium through playwright-core.
 * `npm run test:browser`; not part of `npm test` (they need chromium and take a while).
 */
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/browser/**/*.test.ts"],
    globalSetup: ["test/browser/global-setup.ts"],
    setupFiles: ["test/helpers/setup.ts"],
    pool: "forks",
    // One browser at a time: the machines running this have few cores.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    retry: 0,
  },
});
