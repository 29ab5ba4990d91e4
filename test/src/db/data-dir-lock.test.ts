import { spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataDirInUseError, openDatabase } from "../../../src/db/client.ts";
import { preparedDataDir } from "../../helpers/data-dir.ts";

const dir = preparedDataDir("fedchat-lock-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the embedded database's data folder", () => {
  it("is open in one process at a time, and free again once closed", async () => {
    const first = await openDatabase({ dataDir: dir });
    expect(existsSync(join(dir, "pglite.lock"))).toBe(true);
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(DataDirInUseError);
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(`is open in process ${process.pid}`);
    await first.close();
    expect(existsSync(join(dir, "pglite.lock"))).toBe(false);
    const again = await openDatabase({ dataDir: dir });
    await again.close();
  });

  it("takes over a lock left by a process that ended without closing", async () => {
    const ended = spawnSync(process.execPath, ["-e", "process.exit(0)"]).pid;
    writeFileSync(join(dir, "pglite.lock"), `${ended}\n`);
    const database = await openDatabase({ dataDir: dir });
    await database.close();
    expect(existsSync(join(dir, "pglite.lock"))).toBe(false);
  });
});
