import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount, login } from "../../../src/accounts/accounts.ts";
import { deleteUser, listUsers, resetPassword, suspendUser, unsuspendUser } from "../../../src/accounts/admin.ts";
import { authenticate, startSession } from "../../../src/accounts/sessions.ts";
import { runAdminOn } from "../../../src/admin.ts";
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
  const spawn = (...args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH ?? "", DATA_DIR: cliDir },
      encoding: "utf8",
      timeout: 60_000,
    });
  /** The same command line, run in this process on the test database. */
  const run = async (...args: string[]) => {
    const output = { stdout: "", stderr: "" };
    const status = await runAdminOn(deps, args, {
      out: (text) => {
        output.stdout += text;
      },
      err: (text) => {
        output.stderr += text;
      },
    });
    return { status, ...output };
  };

  it("runs a command on the configured database, and refuses an unknown one", () => {
    // Each process loads the embedded database: a few seconds apiece, far more on a machine
    // busy with the rest of the suite. The commands themselves are tested in this process.
    const created = spawn("users:create", "Frank", "--password", "frank's password", "--display-name", "Frank F.");
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    expect(created.stdout).toMatch(/^Created frank \(/);
    const unknown = spawn("no:such:command");
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^Unknown command no:such:command\./);
  }, 120_000);

  it("creates, lists and makes admins, with clear exit codes", async () => {
    const created = await run("users:create", "Gina", "--password", "gina's password", "--display-name", "Gina G.");
    expect(created).toMatchObject({ status: 0, stderr: "" });
    expect(created.stdout).toMatch(/^Created gina \(/);
    const listed = await run("users:list", "--json");
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout)).toContainEqual(
      expect.objectContaining({ username: "gina", displayName: "Gina G.", suspended: false, role: "user" }),
    );
    const again = await run("users:create", "gina", "--password", "whatever123");
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("username_taken");
    expect((await run("users:create", "hank")).status).toBe(2);
    expect((await run("users:list", "--no-such-option")).status).toBe(2);
    expect(await run("users:role", "gina", "admin")).toMatchObject({ status: 0, stdout: "gina is now an admin.\n" });
    expect(JSON.parse((await run("users:list", "--json")).stdout)).toContainEqual(
      expect.objectContaining({ username: "gina", role: "admin" }),
    );
    const unknownRole = await run("users:role", "gina", "root");
    expect(unknownRole.status).toBe(1);
    expect(unknownRole.stderr).toContain("validation_failed");
    expect((await run("users:role", "gina")).status).toBe(2);
    expect(await run("servers:deliveries")).toMatchObject({ status: 0, stdout: "0 destinations.\n" });
  });
});
