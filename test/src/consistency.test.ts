import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAdminOn } from "../../src/admin.ts";
import { checkConsistency } from "../../src/consistency.ts";
import { attachmentPath } from "../../src/media/attachments.ts";
import { apiClient, expectProblem, rows } from "../api/support.ts";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { createTestInstance, json, type TestInstance } from "../helpers/instance.ts";

let t: TestInstance;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
});
afterAll(async () => t.dispose());

const user = (name: string) => apiClient(() => t).signUp(name);

async function upload(headers: Record<string, string>, text: string) {
  const form = new FormData();
  form.append("file", new File([text], "note.txt"));
  const res = await t.request("/api/v1/attachments", { method: "POST", headers, body: form });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; url: string };
}

describe("checkConsistency", () => {
  it("finds rooms, memberships, sequences and attachments that disagree, and repairs them with fix", async () => {
    const owner = await user("olga");
    const member = await user("mike");
    const room = async (name: string) => {
      const res = await t.request("/api/v1/rooms", json("POST", { name, visibility: "public" }, owner.headers));
      return ((await res.json()) as { id: string }).id;
    };
    const [empty, ownerless, counted] = [await room("Empty"), await room("Ownerless"), await room("Counted")];
    await t.request(`/api/v1/rooms/${ownerless}/join`, { method: "POST", headers: member.headers });
    await t.request(`/api/v1/rooms/${counted}/messages/m1`, json("PUT", { content: "one" }, owner.headers));
    const db = t.database.db;
    await db.execute(sql`delete from room_members where room_id = ${empty}`);
    await db.execute(sql`delete from room_members where room_id = ${ownerless} and actor_id = ${owner.id}`);

    const kept = await upload(owner.headers, "kept");
    const lost = await upload(owner.headers, "lost");
    const sent = await t.request(
      `/api/v1/rooms/${counted}/messages/m2`,
      json("PUT", { content: "files", attachments: [kept.id, lost.id] }, owner.headers),
    );
    expect(sent.status).toBe(201);
    await db.execute(sql`update rooms set last_seq = 0 where id = ${counted}`);
    const abandoned = await upload(owner.headers, "abandoned");
    await db.execute(sql`update attachments set created_at = now() - interval '2 days' where id = ${abandoned.id}`);
    const [lostRow] = await rows<{ hash: string }>(t, sql`select hash from attachments where id = ${lost.id}`);
    const { unlinkSync } = await import("node:fs");
    unlinkSync(attachmentPath(t.deps, lostRow?.hash ?? ""));
    // A remote file fetched once whose bytes went; an upload a send to a remote room reserved.
    const [message] = await rows<{ id: string }>(
      t,
      sql`select id from messages where room_id = ${counted} and seq = 2`,
    );
    const remoteFile = "0198c0de-0000-7000-8000-000000000001";
    await db.execute(sql`insert into attachments (id, owner_id, message_id, hash, name, media_type, size, remote_url)
      values (${remoteFile}, ${owner.id}, ${message?.id}, ${"f".repeat(64)}, 'x.txt', 'text/plain', 5,
              'https://files.example/x.txt')`);
    const reserved = await upload(owner.headers, "on its way");
    await db.execute(sql`insert into outbound_messages (id, room_id, author_id, txn_id, content, html)
      values ('0198c0de-0000-7000-8000-000000000002', ${counted}, ${owner.id}, 'out1', '', '')`);
    await db.execute(sql`update attachments set outbound_id = '0198c0de-0000-7000-8000-000000000002',
      created_at = now() - interval '2 days' where id = ${reserved.id}`);
    const strayDir = join(t.config.dataDir, "media", "attachments", "ab");
    mkdirSync(strayDir, { recursive: true });
    const stray = join(strayDir, `ab${"0".repeat(62)}`);
    writeFileSync(stray, "nobody's");

    const report = await checkConsistency(t.deps, { fix: false });
    const problems = report.found.map((f) => [f.check, f.problem]);
    expect(problems).toEqual(
      expect.arrayContaining([
        ["rooms.empty", "a room with no members"],
        ["rooms.ownerless", "members but no owner"],
        ["rooms.sequence", expect.stringMatching(/^last_seq 0 is behind message 2/)],
        ["attachments", "its file is missing"],
        ["attachments", "a file no attachment refers to"],
        ["attachments", "an upload unsent for 24 hours"],
        ["attachments", "its fetched remote file is missing"],
      ]),
    );
    expect(report.found.filter((f) => f.subject === reserved.id)).toEqual([]);
    // Without fix nothing changed.
    expect(existsSync(stray)).toBe(true);

    const fixed = await checkConsistency(t.deps, { fix: true });
    expect(fixed.remaining).toEqual([]);
    expect(existsSync(stray)).toBe(false);
    const [roomRow] = await rows<{ deleted: boolean }>(
      t,
      sql`select deleted_at is not null as deleted from rooms where id = ${empty}`,
    );
    expect(roomRow?.deleted).toBe(true);
    const [ownerRow] = await rows<{ role: string }>(
      t,
      sql`select role from room_members where room_id = ${ownerless} and actor_id = ${member.id}`,
    );
    expect(ownerRow?.role).toBe("owner");
    const [seqRow] = await rows<{ lastSeq: number }>(
      t,
      sql`select last_seq as "lastSeq" from rooms where id = ${counted}`,
    );
    expect(Number(seqRow?.lastSeq)).toBe(2);
    expect((await t.request(kept.url)).status).toBe(200);
    await expectProblem(await t.request(lost.url), 404, "attachment_not_found");
    // The remote file is forgotten, to be fetched again when opened; the reserved upload stays.
    expect(
      await rows(t, sql`select hash, remote_url as "remoteUrl" from attachments where id = ${remoteFile}`),
    ).toEqual([{ hash: null, remoteUrl: "https://files.example/x.txt" }]);
    expect(await rows(t, sql`select 1 from attachments where id = ${reserved.id}`)).toHaveLength(1);
    expect(await rows(t, sql`select 1 from attachments where id = ${abandoned.id}`)).toHaveLength(0);
    expect((await checkConsistency(t.deps, { fix: false })).found).toEqual([]);
  });
});

describe("npm run check-consistency", () => {
  it("repairs the configured database, with federation's checks loaded, and exits 0 when all is fixed", () => {
    const dataDir = preparedDataDir("fedchat-consistency-");
    try {
      const cli = fileURLToPath(new URL("../../federation/admin.ts", import.meta.url));
      const stray = join(dataDir, "media", "previews");
      mkdirSync(stray, { recursive: true });
      writeFileSync(join(stray, `${"e".repeat(64)}.webp`), "stray");
      // One process: it loads the embedded database and Fedify, seconds on a busy machine.
      const fixed = spawnSync(process.execPath, [cli, "consistency:check", "--fix"], {
        env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir },
        encoding: "utf8",
        timeout: 90_000,
      });
      expect(fixed.stdout).toContain("1 finding, 0 left after repair.");
      expect(fixed.status).toBe(0);
      expect(existsSync(join(stray, `${"e".repeat(64)}.webp`))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it("exits 0 when all agrees and 1 while something is left, as fsck does", async () => {
    const run = async (...args: string[]) => {
      let stdout = "";
      const status = await runAdminOn(t.deps, ["consistency:check", ...args], {
        out: (text) => {
          stdout += text;
        },
        err: () => {},
      });
      return { status, stdout };
    };
    expect(await run()).toEqual({ status: 0, stdout: "0 findings.\n" });
    const stray = join(t.config.dataDir, "media", "previews");
    mkdirSync(stray, { recursive: true });
    writeFileSync(join(stray, `${"d".repeat(64)}.webp`), "stray");
    const dirty = await run("--json");
    expect(dirty.status).toBe(1);
    expect(JSON.parse(dirty.stdout).found).toHaveLength(1);
    expect(await run("--fix")).toEqual({
      status: 0,
      stdout: expect.stringContaining("1 finding, 0 left after repair."),
    });
  });
});
