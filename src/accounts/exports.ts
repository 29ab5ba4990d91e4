/**
 * Exports of a user's own data: a `.tar.gz` with their profile (`profile.json`, and the avatar),
 * the rooms they are in (`rooms.json`), every message they wrote that is not deleted, in pages of
 * 1,000 (`messages/00001.json`, …), and the files they uploaded (`files/<id>/<name>`).
 *
 * Asked for through the API, made in the background by whichever process claims the row (a
 * lease, so a process that dies mid-way leaves it to another), streamed to disk page by page
 * and file by file (never held whole in memory), then downloaded while it lasts (7 days). One a
 * day per user.
 * @module
 */
import { createWriteStream } from "node:fs";
import { mkdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lt, sql } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import {
  type AccountExport,
  accountExports,
  attachments,
  messages,
  roomMembers,
  rooms,
  type User,
  users,
} from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { logger } from "../log.ts";
import { attachmentPath, sanitizeFileName } from "../media/attachments.ts";
import { avatarPath } from "../media/avatars.ts";
import { handleHost } from "./accounts.ts";
import { fieldsOf } from "./profile-fields.ts";
import { type TarEntry, tarStream } from "./tar.ts";

const log = logger("exports");

/** How long a user waits between two exports. */
export const exportIntervalMs = 24 * 60 * 60 * 1000;
/** How long an export is kept for download. */
const keepMs = 7 * 24 * 60 * 60 * 1000;
/** How long a worker may take before another may claim the export. */
const leaseSeconds = 15 * 60;
/** Messages per file of the archive. */
export const messagesPerPage = 1000;

function exportsDir(deps: Pick<Deps, "config">): string {
  return join(deps.config.dataDir, "exports");
}

/** Where an export's archive is kept. */
export function exportPath(deps: Pick<Deps, "config">, id: string): string {
  return join(exportsDir(deps), `${id}.tar.gz`);
}

/**
 * Asks for an export of the user's data; a worker makes it (see {@link ExportMaker}).
 * @throws {AppError} `rate_limited` (with `Retry-After`) within a day of the last one that did not fail.
 */
export async function requestExport(deps: Deps, userId: string): Promise<AccountExport> {
  const row = await deps.db.transaction(async (tx) => {
    // One request at a time per user: the user's row is the lock.
    await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for("update");
    const [last] = await tx
      .select()
      .from(accountExports)
      .where(and(eq(accountExports.userId, userId), sql`${accountExports.state} <> 'failed'`))
      .orderBy(desc(accountExports.createdAt))
      .limit(1);
    if (last && Date.now() - last.createdAt.getTime() < exportIntervalMs) {
      const wait = Math.ceil((last.createdAt.getTime() + exportIntervalMs - Date.now()) / 1000);
      throw new AppError("rate_limited", "One export a day: the last one is recent.", {
        details: { retryAfter: Math.max(1, wait) },
        headers: { "Retry-After": String(Math.max(1, wait)) },
      });
    }
    const [created] = await tx
      .insert(accountExports)
      .values({ id: uuidv7(), userId, expiresAt: new Date(Date.now() + keepMs) })
      .returning();
    return created as AccountExport;
  });
  deps.exports.kick(deps);
  return row;
}

/** The user's newest export, if any is kept. */
export async function latestExport(deps: Pick<Deps, "db">, userId: string): Promise<AccountExport | undefined> {
  const [row] = await deps.db
    .select()
    .from(accountExports)
    .where(and(eq(accountExports.userId, userId), gt(accountExports.expiresAt, sql`now()`)))
    .orderBy(desc(accountExports.createdAt))
    .limit(1);
  return row;
}

/**
 * The archive of one of the user's exports, ready to download.
 * @throws {AppError} `export_not_found` (not theirs, expired or failed), `export_not_ready`.
 */
export async function readyExport(
  deps: Pick<Deps, "db" | "config">,
  userId: string,
  id: string,
): Promise<{ path: string; size: number; row: AccountExport }> {
  const [row] = await deps.db
    .select()
    .from(accountExports)
    .where(and(eq(accountExports.id, id), eq(accountExports.userId, userId), gt(accountExports.expiresAt, sql`now()`)));
  if (row == null || row.state === "failed") throw new AppError("export_not_found", "No such export.");
  if (row.state !== "ready") throw new AppError("export_not_ready", "The export is still being made.");
  const path = exportPath(deps, row.id);
  const size = await stat(path).then(
    (s) => s.size,
    () => {
      throw new AppError("export_not_found", "The export's file is gone.");
    },
  );
  return { path, size, row };
}

/** The API's view of an export. */
export function serializeExport(deps: Pick<Deps, "config">, row: AccountExport) {
  return {
    id: row.id,
    state: row.state,
    size: row.size ?? null,
    createdAt: row.createdAt.toISOString(),
    readyAt: row.readyAt?.toISOString() ?? null,
    expiresAt: row.expiresAt.toISOString(),
    downloadUrl: row.state === "ready" ? `${deps.config.origin}/api/v1/me/exports/${row.id}/archive` : null,
  };
}

/** JSON as UTF-8 bytes, indented for people reading the archive. */
function json(value: unknown): Uint8Array {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, "utf8");
}

/** The archive's entries for one user, produced as the tar stream asks for them. */
async function* exportEntries(deps: Deps, user: User): AsyncGenerator<TarEntry> {
  const url = `${deps.config.origin}/users/${user.username}`;
  yield {
    name: "profile.json",
    data: json({
      username: user.username,
      handle: `${user.username}@${handleHost(deps)}`,
      url,
      displayName: user.displayName,
      bio: user.bio,
      color: user.color,
      fields: await fieldsOf(deps, user.id),
      avatar: user.avatar ? `avatar/${user.avatar}` : null,
      createdAt: user.createdAt.toISOString(),
      exportedAt: new Date().toISOString(),
    }),
  };
  if (user.avatar) {
    const path = avatarPath(deps, user.avatar);
    if (path && (await stat(path).catch(() => null))) yield { name: `avatar/${user.avatar}`, path };
  }
  const mine = await deps.db
    .select({ room: rooms, role: roomMembers.role, joinedAt: roomMembers.joinedAt })
    .from(roomMembers)
    .innerJoin(rooms, and(eq(rooms.id, roomMembers.roomId), isNull(rooms.deletedAt)))
    .where(eq(roomMembers.actorId, user.id))
    .orderBy(asc(roomMembers.joinedAt));
  yield {
    name: "rooms.json",
    data: json(
      mine.map(({ room, role, joinedAt }) => ({
        id: room.id,
        name: room.name,
        topic: room.topic,
        visibility: room.visibility,
        direct: room.direct,
        role,
        url: room.iri ?? `${deps.config.origin}/rooms/${room.id}`,
        joinedAt: joinedAt.toISOString(),
      })),
    ),
  };
  // Pages of messages by id (UUIDv7: the order they were stored in), each page one query.
  let after = "00000000-0000-0000-0000-000000000000";
  for (let page = 1; ; page++) {
    const batch = await deps.db
      .select({
        id: messages.id,
        roomId: messages.roomId,
        roomName: rooms.name,
        seq: messages.seq,
        iri: messages.iri,
        content: messages.content,
        html: messages.html,
        replyTo: messages.replyTo,
        threadRootId: messages.threadRootId,
        createdAt: messages.createdAt,
        editedAt: messages.editedAt,
      })
      .from(messages)
      .innerJoin(rooms, eq(rooms.id, messages.roomId))
      .where(and(eq(messages.authorId, user.id), isNull(messages.deletedAt), gt(messages.id, after)))
      .orderBy(asc(messages.id))
      .limit(messagesPerPage);
    if (batch.length === 0 && page > 1) break;
    const files = batch.length
      ? await deps.db
          .select({ id: attachments.id, messageId: attachments.messageId, name: attachments.name })
          .from(attachments)
          .where(
            inArray(
              attachments.messageId,
              batch.map((m) => m.id),
            ),
          )
      : [];
    yield {
      name: `messages/${String(page).padStart(5, "0")}.json`,
      data: json(
        batch.map((m) => ({
          id: m.id,
          roomId: m.roomId,
          roomName: m.roomName,
          seq: m.seq,
          url: m.iri ?? `${deps.config.origin}/rooms/${m.roomId}/messages/${m.id}`,
          content: m.content,
          html: m.html,
          replyTo: m.replyTo,
          threadRootId: m.threadRootId,
          createdAt: m.createdAt.toISOString(),
          editedAt: m.editedAt?.toISOString() ?? null,
          attachments: files
            .filter((f) => f.messageId === m.id)
            .map((f) => ({ id: f.id, file: `files/${f.id}/${sanitizeFileName(f.name)}` })),
        })),
      ),
    };
    if (batch.length < messagesPerPage) break;
    after = batch.at(-1)?.id ?? after;
  }
  // The files they uploaded (stored here: a remote file is not theirs to upload).
  let afterFile = "00000000-0000-0000-0000-000000000000";
  for (;;) {
    const batch = await deps.db
      .select({ id: attachments.id, name: attachments.name, hash: attachments.hash, createdAt: attachments.createdAt })
      .from(attachments)
      .where(
        and(
          eq(attachments.ownerId, user.id),
          isNotNull(attachments.hash),
          isNull(attachments.remoteUrl),
          gt(attachments.id, afterFile),
        ),
      )
      .orderBy(asc(attachments.id))
      .limit(200);
    for (const file of batch) {
      const path = attachmentPath(deps, file.hash as string);
      if (!(await stat(path).catch(() => null))) continue;
      yield { name: `files/${file.id}/${sanitizeFileName(file.name)}`, path, mtime: file.createdAt };
    }
    if (batch.length < 200) break;
    afterFile = batch.at(-1)?.id ?? afterFile;
  }
}

/** Makes one claimed export: the archive is written under a temporary name, then moved into place. */
async function makeExport(deps: Deps, row: AccountExport): Promise<void> {
  const [user] = await deps.db.select().from(users).where(eq(users.id, row.userId));
  if (user == null || user.deletedAt != null) return;
  await mkdir(exportsDir(deps), { recursive: true, mode: 0o700 });
  const final = exportPath(deps, row.id);
  const partial = `${final}.part`;
  try {
    await pipeline(Readable.from(tarStream(exportEntries(deps, user))), createGzip(), createWriteStream(partial));
    await rename(partial, final);
    const { size } = await stat(final);
    await deps.db
      .update(accountExports)
      .set({ state: "ready", size, readyAt: sql`now()`, lockedUntil: null })
      .where(eq(accountExports.id, row.id));
  } catch (error) {
    await unlink(partial).catch(() => {});
    log.error("The export {id} failed: {error}", { id: row.id, error });
    await deps.db
      .update(accountExports)
      .set({ state: "failed", lockedUntil: null })
      .where(eq(accountExports.id, row.id));
  }
}

/** Claims the oldest pending export nobody holds, for this worker's lease. */
async function claimExport(deps: Pick<Deps, "db">): Promise<AccountExport | undefined> {
  const [row] = await deps.db
    .update(accountExports)
    .set({ lockedUntil: sql`now() + make_interval(secs => ${leaseSeconds})` })
    .where(
      eq(
        accountExports.id,
        sql`(select id from ${accountExports} where ${accountExports.state} = 'pending'
          and (${accountExports.lockedUntil} is null or ${accountExports.lockedUntil} < now())
          order by ${accountExports.createdAt} limit 1 for update skip locked)`,
      ),
    )
    .returning();
  return row;
}

/** Deletes the user's exports and their files (their account is going). */
export async function removeExports(deps: Pick<Deps, "db" | "config">, userId: string): Promise<void> {
  const gone = await deps.db
    .delete(accountExports)
    .where(eq(accountExports.userId, userId))
    .returning({ id: accountExports.id });
  for (const { id } of gone) await unlink(exportPath(deps, id)).catch(() => {});
}

/** Deletes exports past their time, and their files. */
export async function purgeExports(deps: Pick<Deps, "db" | "config">): Promise<void> {
  const gone = await deps.db
    .delete(accountExports)
    .where(lt(accountExports.expiresAt, sql`now()`))
    .returning({ id: accountExports.id });
  for (const { id } of gone) await unlink(exportPath(deps, id)).catch(() => {});
}

/**
 * This process's export worker: a request kicks it at once, and a timer (once a minute, started
 * with the server) picks up what another process left. Exports are made one at a time.
 */
export class ExportMaker {
  #running: Promise<void> | undefined;
  #again = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Makes every pending export this process can claim, after what it is making now. */
  kick(deps: Deps): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        for (let row = await claimExport(deps); row; row = await claimExport(deps)) await makeExport(deps, row);
      } while (this.#again);
    })()
      .catch((error) => log.warn("The export worker stopped: {error}", { error }))
      .finally(() => {
        this.#running = undefined;
      });
  }

  /** Starts the timer that picks up exports left pending. */
  start(deps: Deps, intervalMs = 60_000): void {
    this.#timer ??= setInterval(() => this.kick(deps), intervalMs);
    this.#timer.unref?.();
    this.kick(deps);
  }

  /** Stops the timer and waits for the export being made. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Resolves once no export is being made here (tests). */
  async settled(): Promise<void> {
    while (this.#running) await this.#running;
  }
}
