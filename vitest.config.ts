import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/bench/**", "test/browser/**", "node_modules/**"],
    globalSetup: ["test/helpers/global-setup.ts"],
    setupFiles: ["test/helpers/setup.ts"],
    pool: "forks",
    // Most test files wait on server processes, sockets and the database rather than compute:
    // more of them than cores run at once (vitest's default is one fewer than the cores).
    maxWorkers: Math.max(3, availableParallelism()),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Failures should say what went wrong, not time out twice.
    retry: 0,
  },
});
