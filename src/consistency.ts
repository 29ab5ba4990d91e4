import { readdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { and, eq, inArray, isNotNull, isNull, lt, sql } from "drizzle-orm";
import { queryRows } from "./db/client.ts";
import { attachments, roomMembers, rooms } from "./db/schema.ts";
import type { Deps } from "./deps.ts";
import { attachmentPath, previewPath, removeUnreferencedFiles } from "./media/attachments.ts";
import { makePreview } from "./media/image-previews.ts";
import { stickerFiles } from "./stickers/consistency.ts";

/** One thing that disagrees: what it is, and what `--fix` does about it. */
export interface Finding {
  readonly check: string;
  readonly subject: string;
  readonly problem: string;
  readonly repair: string;
}

/**
 * A consistency check: finds disagreements between tables, or between tables and the disk, and
 * repairs what it found. Repairs are idempotent and re-check what they change, so a check may
 * run while the server runs. Federation adds its own (mirrored remote rooms) to the list passed
 * to {@link checkConsistency}.
 */
export interface ConsistencyCheck {
  readonly name: string;
  find(deps: Deps): Promise<Finding[]>;
  fix(deps: Deps, findings: readonly Finding[]): Promise<void>;
}

/** Unsent uploads older than this are abandoned and go on `--fix`. */
export const abandonedUploadHours = 24;

const finding = (check: string, subject: string, problem: string, repair: string): Finding => ({
  check,
  subject,
  problem,
  repair,
});

/** Rooms here, not deleted, that nobody is in: nobody could ever use or delete them. */
const emptyRooms: ConsistencyCheck = {
  name: "rooms.empty",
  async find(deps) {
    const rows = await deps.db
      .select({ id: rooms.id })
      .from(rooms)
      .where(
        and(
          isNull(rooms.deletedAt),
          isNull(rooms.iri),
          sql`not exists (select 1 from ${roomMembers} where ${roomMembers.roomId} = ${rooms.id})`,
        ),
      );
    return rows.map((r) => finding(this.name, r.id, "a room with no members", "mark the room deleted"));
  },
  async fix(deps, findings) {
    if (findings.length === 0) return;
    await deps.db
      .update(rooms)
      .set({ deletedAt: sql`now()` })
      .where(
        and(
          inArray(
            rooms.id,
            findings.map((f) => f.subject),
          ),
          isNull(rooms.deletedAt),
          sql`not exists (select 1 from ${roomMembers} where ${roomMembers.roomId} = ${rooms.id})`,
        ),
      );
  },
};

/** Rooms here with members but no owner: nobody could manage them. */
const ownerlessRooms: ConsistencyCheck = {
  name: "rooms.ownerless",
  async find(deps) {
    const rows = await queryRows<{ id: string }>(
      deps.db,
      sql`select r.id from rooms r where r.deleted_at is null and r.iri is null
          and exists (select 1 from room_members m where m.room_id = r.id)
          and not exists (select 1 from room_members m where m.room_id = r.id and m.role = 'owner')`,
    );
    return rows.map((r) =>
      finding(this.name, r.id, "members but no owner", "make the highest-ranked, longest-standing member owner"),
    );
  },
  async fix(deps, findings) {
    for (const { subject } of findings) {
      await deps.db.execute(sql`
        update room_members set role = 'owner'
        where room_id = ${subject} and actor_id = (
          select actor_id from room_members where room_id = ${subject}
          order by case role when 'admin' then 0 when 'moderator' then 1 else 2 end, joined_at, actor_id limit 1)
        and not exists (select 1 from room_members where room_id = ${subject} and role = 'owner')`);
    }
  },
};

/** Memberships of deleted rooms: the room is gone, the member should not see it. */
const deletedRoomMembers: ConsistencyCheck = {
  name: "memberships.deleted-room",
  async find(deps) {
    const rows = await queryRows<{ roomId: string; actorId: string }>(
      deps.db,
      sql`select m.room_id as "roomId", m.actor_id as "actorId" from room_members m
          join rooms r on r.id = m.room_id where r.deleted_at is not null`,
    );
    return rows.map((r) =>
      finding(this.name, `${r.roomId}/${r.actorId}`, "a membership of a deleted room", "remove the membership"),
    );
  },
  async fix(deps, findings) {
    if (findings.length === 0) return;
    await deps.db.execute(sql`delete from room_members m using rooms r
      where r.id = m.room_id and r.deleted_at is not null`);
  },
};

/** Sequence counters behind their messages, or read markers past the end. */
const sequences: ConsistencyCheck = {
  name: "rooms.sequence",
  async find(deps) {
    const behind = await queryRows<{ id: string; lastSeq: number; top: number }>(
      deps.db,
      sql`select r.id, r.last_seq as "lastSeq", max(m.seq) as top from rooms r join messages m on m.room_id = r.id
          group by r.id having max(m.seq) > r.last_seq`,
    );
    const ahead = await queryRows<{ roomId: string; actorId: string }>(
      deps.db,
      sql`select m.room_id as "roomId", m.actor_id as "actorId" from room_members m join rooms r on r.id = m.room_id
          where m.last_read_seq > r.last_seq`,
    );
    return [
      ...behind.map((r) =>
        finding(this.name, r.id, `last_seq ${r.lastSeq} is behind message ${r.top}`, "raise last_seq"),
      ),
      ...ahead.map((r) =>
        finding(this.name, `${r.roomId}/${r.actorId}`, "a read marker past the last message", "lower it"),
      ),
    ];
  },
  async fix(deps, findings) {
    if (findings.length === 0) return;
    await deps.db.execute(sql`update rooms r set last_seq = t.top
      from (select room_id, max(seq) as top from messages group by room_id) t
      where t.room_id = r.id and t.top > r.last_seq`);
    await deps.db.execute(sql`update room_members m set last_read_seq = r.last_seq
      from rooms r where r.id = m.room_id and m.last_read_seq > r.last_seq`);
  },
};

async function exists(path: string): Promise<boolean> {
  return await stat(path).then(
    () => true,
    () => false,
  );
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * Attachment rows against the files on disk, and uploads never sent. A remote file that went
 * missing is forgotten (fetched again when opened); a missing upload's row goes.
 */
const attachmentFiles: ConsistencyCheck = {
  name: "attachments",
  async find(deps) {
    const found: Finding[] = [];
    const rows = await deps.db
      .select({
        id: attachments.id,
        hash: attachments.hash,
        preview: attachments.preview,
        remoteUrl: attachments.remoteUrl,
      })
      .from(attachments)
      .where(isNotNull(attachments.hash));
    const hashes = new Set(rows.map((r) => r.hash));
    for (const row of rows) {
      const hash = row.hash as string;
      if (!(await exists(attachmentPath(deps, hash)))) {
        found.push(
          row.remoteUrl
            ? finding(this.name, row.id, "its fetched remote file is missing", "forget it; fetch it again when opened")
            : finding(this.name, row.id, "its file is missing", "delete the attachment row"),
        );
      } else if (row.preview && !(await exists(previewPath(deps, hash)))) {
        found.push(finding(this.name, row.id, "its preview is missing", "make the preview again"));
      }
    }
    const root = join(deps.config.dataDir, "media");
    for (const path of await filesUnder(join(root, "attachments"))) {
      const name = path.slice(path.lastIndexOf("/") + 1);
      if (!hashes.has(name)) found.push(finding(this.name, path, "a file no attachment refers to", "delete the file"));
    }
    for (const path of await filesUnder(join(root, "previews"))) {
      const name = path.slice(path.lastIndexOf("/") + 1).replace(/(\.still)?\.webp$/, "");
      if (!hashes.has(name)) found.push(finding(this.name, path, "a preview no attachment refers to", "delete it"));
    }
    const abandoned = await deps.db
      .select({ id: attachments.id })
      .from(attachments)
      .where(
        and(
          isNull(attachments.messageId),
          isNull(attachments.outboundId),
          lt(attachments.createdAt, sql`now() - make_interval(hours => ${abandonedUploadHours})`),
        ),
      );
    for (const row of abandoned) {
      found.push(finding(this.name, row.id, `an upload unsent for ${abandonedUploadHours} hours`, "delete it"));
    }
    return found;
  },
  async fix(deps, findings) {
    const byProblem = (problem: string) => findings.filter((f) => f.problem === problem).map((f) => f.subject);
    const previews = byProblem("its preview is missing");
    const refetch = byProblem("its fetched remote file is missing");
    const drop = findings
      .filter((f) => !f.subject.includes("/") && !previews.includes(f.subject) && !refetch.includes(f.subject))
      .map((f) => f.subject);
    const released =
      drop.length === 0
        ? []
        : await deps.db.delete(attachments).where(inArray(attachments.id, drop)).returning({ hash: attachments.hash });
    if (refetch.length > 0) {
      const forgotten = and(inArray(attachments.id, refetch), isNotNull(attachments.remoteUrl));
      // Their previews may be left: the old hashes are checked for references below.
      released.push(...(await deps.db.select({ hash: attachments.hash }).from(attachments).where(forgotten)));
      await deps.db.update(attachments).set({ hash: null, size: null, preview: false }).where(forgotten);
    }
    for (const id of previews) {
      const [row] = await deps.db.select().from(attachments).where(eq(attachments.id, id));
      if (row?.hash == null) continue;
      const bytes = await readFile(attachmentPath(deps, row.hash)).catch(() => null);
      if (bytes) await writeFile(previewPath(deps, row.hash), await makePreview(bytes));
    }
    // Stray files: removed under the per-hash lock, only if still unreferenced.
    const stray = findings.filter((f) => f.subject.includes("/")).map((f) => f.subject);
    const strayHashes = stray.map((p) => p.slice(p.lastIndexOf("/") + 1).replace(/(\.still)?\.webp$/, ""));
    await removeUnreferencedFiles(deps, [...new Set([...released.map((r) => r.hash), ...strayHashes])]);
    // Files that are not named like a hash are not ours to lock: remove them directly.
    for (const path of stray) {
      if (!/^[0-9a-f]{64}((\.still)?\.webp)?$/.test(path.slice(path.lastIndexOf("/") + 1)))
        await unlink(path).catch(() => {});
    }
  },
};

/** The checks of the chat core, in the order they run. */
export const coreChecks: readonly ConsistencyCheck[] = [
  deletedRoomMembers,
  emptyRooms,
  ownerlessRooms,
  sequences,
  attachmentFiles,
  stickerFiles,
];

/**
 * Runs the checks and, with `fix`, repairs what they found, then checks again.
 * @param checks The core checks by default; federation appends its own (mirrored remote rooms).
 * @returns What was found, and with `fix` what is still wrong afterwards.
 */
export async function checkConsistency(
  deps: Deps,
  options: { fix: boolean; checks?: readonly ConsistencyCheck[] },
): Promise<{ found: Finding[]; remaining: Finding[] }> {
  const checks = options.checks ?? coreChecks;
  const found: Finding[] = [];
  for (const check of checks) {
    const list = await check.find(deps);
    found.push(...list);
    if (options.fix && list.length > 0) await check.fix(deps, list);
  }
  if (!options.fix) return { found, remaining: found };
  const remaining: Finding[] = [];
  for (const check of checks) remaining.push(...(await check.find(deps)));
  return { found, remaining };
}
