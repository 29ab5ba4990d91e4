import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount, login } from "../../../src/accounts/accounts.ts";
import { deleteUser, listUsers, resetPassword, suspendUser, unsuspendUser } from "../../../src/accounts/admin.ts";
import { authenticate, startSession } from "../../../src/accounts/sessions.ts";
import { loadConfig } from "../../../src/config.ts";
import type { Deps } from "../../../src/deps.ts";
import type { AppError } from "../../../src/errors.ts";
import { preparedDataDir } from "../../helpers/data-dir.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/db.ts";
import { testDeps } from "../../helpers/secrets.ts";

let database: TestDatabase;
let deps: Deps;
let dataDir: string;
const client = { deviceLabel: "test", address: undefined };

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "fedchat-admin-"));
  const config = loadConfig({ ORIGIN: "https://chat.example", DATA_DIR: dataDir });
  deps = await testDeps(config, database.db);
});
afterAll(async () => {
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error: AppError) => error.code,
  );

describe("operator actions on accounts", () => {
  it("suspends: the live session's token stops at once and logins fail until unsuspended", async () => {
    const user = await createAccount(deps, { username: "carol", password: "carol's password" });
    const issued = await startSession(deps, user, client);
    expect(await codeOf(authenticate(deps, issued.accessToken))).toBe("accepted");
    await suspendUser(deps, "Carol");
    expect(await codeOf(authenticate(deps, issued.accessToken))).toBe("unauthenticated");
    expect(await codeOf(login(deps, { username: "carol", password: "carol's password" }, client))).toBe(
      "invalid_credentials",
    );
    await unsuspendUser(deps, "carol");
    expect(await codeOf(login(deps, { username: "carol", password: "carol's password" }, client))).toBe("accepted");
  });

  it("resets a password, ending every session", async () => {
    const user = await createAccount(deps, { username: "dave", password: "dave's password" });
    const issued = await startSession(deps, user, client);
    const generated = await resetPassword(deps, "dave");
    expect(generated.length).toBeGreaterThanOrEqual(16);
    expect(await codeOf(authenticate(deps, issued.accessToken))).toBe("unauthenticated");
    expect(await codeOf(login(deps, { username: "dave", password: "dave's password" }, client))).toBe(
      "invalid_credentials",
    );
    expect(await codeOf(login(deps, { username: "dave", password: generated }, client))).toBe("accepted");
    expect(await codeOf(resetPassword(deps, "dave", "short"))).toBe("validation_failed");
  });

  it("deletes an account with its sessions", async () => {
    const user = await createAccount(deps, { username: "erin", password: "erin's password" });
    const issued = await startSession(deps, user, client);
    await deleteUser(deps, "erin");
    expect((await listUsers(deps)).map((u) => u.username)).not.toContain("erin");
    expect(await codeOf(authenticate(deps, issued.accessToken))).toBe("unauthenticated");
    expect(await codeOf(deleteUser(deps, "erin"))).toBe("user_not_found");
  });
});

describe("npm run admin", () => {
  const cli = fileURLToPath(new URL("../../../federation/admin.ts", import.meta.url));
  const cliDir = preparedDataDir("fedchat-admin-cli-");
  afterAll(() => rmSync(cliDir, { recursive: true, force: true }));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH ?? "", DATA_DIR: cliDir },
      encoding: "utf8",
      timeout: 60_000,
    });

  it("creates and lists users on the configured database, with clear exit codes", () => {
    const created = run("users:create", "Frank", "--password", "frank's password", "--display-name", "Frank F.");
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    expect(created.stdout).toMatch(/^Created frank \(/);
    const listed = run("users:list", "--json");
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ username: "frank", displayName: "Frank F.", suspended: false }),
    ]);
    const again = run("users:create", "frank", "--password", "whatever123");
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("username_taken");
    expect(run("users:create", "gina").status).toBe(2);
    expect(run("no:such:command").status).toBe(2);
    expect(run("users:role", "frank", "admin").stdout).toBe("frank is now an admin.\n");
    expect(JSON.parse(run("users:list", "--json").stdout)).toEqual([expect.objectContaining({ role: "admin" })]);
    const unknownRole = run("users:role", "frank", "root");
    expect(unknownRole.status).toBe(1);
    expect(unknownRole.stderr).toContain("validation_failed");
    const deliveries = run("servers:deliveries");
    expect(deliveries.status).toBe(0);
    expect(deliveries.stdout).toBe("0 destinations.\n");
    // Nine processes that each load the embedded database (a few seconds apiece, far more on
    // a machine busy with the rest of the suite).
  }, 240_000);
});
