import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { databaseIndependentTests } from "./test/helpers/database-passes.ts";

const excluded = ["test/bench/**", "test/browser/**", "node_modules/**"];
// On PostgreSQL, only the files that use the database the run targets: the others did the
// same in the embedded pass (test/helpers/database-passes.ts). `*.postgres.test.ts` files
// need PostgreSQL: the PostgreSQL pass only.
if (process.env.TEST_DATABASE_URL) {
  excluded.push(...databaseIndependentTests(fileURLToPath(new URL(".", import.meta.url))));
} else {
  excluded.push("test/**/*.postgres.test.ts");
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: excluded,
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
