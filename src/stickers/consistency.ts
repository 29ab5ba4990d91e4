import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { eq, inArray } from "drizzle-orm";
import type { ConsistencyCheck, Finding } from "../consistency.ts";
import { stickers } from "../db/schema.ts";
import { stickerFileName } from "./files.ts";
import { lockImage, removeUnusedImages } from "./packs.ts";

/**
 * Sticker rows against DATA_DIR/media/stickers: a sticker whose image is gone is deleted (it
 * could only show a broken image and fail to send), and a file no sticker names is removed
 * (under the image's lock, only if still unused).
 */
export const stickerFiles: ConsistencyCheck = {
  name: "stickers",
  async find(deps) {
    const dir = join(deps.config.dataDir, "media", "stickers");
    const names = new Set(await readdir(dir).catch(() => [] as string[]));
    const rows = await deps.db.select().from(stickers);
    const found: Finding[] = [];
    const wanted = new Set<string>();
    for (const row of rows) {
      const files = [stickerFileName(row), ...(row.animated ? [stickerFileName(row, true)] : [])];
      for (const file of files) wanted.add(file);
      if (files.some((file) => !names.has(file))) {
        found.push({
          check: this.name,
          subject: row.id,
          problem: "its image is missing",
          repair: "delete the sticker",
        });
      }
    }
    for (const name of names) {
      if (!wanted.has(name)) {
        found.push({ check: this.name, subject: name, problem: "a file no sticker uses", repair: "delete the file" });
      }
    }
    return found;
  },
  async fix(deps, findings) {
    const ids = findings.filter((f) => f.problem === "its image is missing").map((f) => f.subject);
    const gone = ids.length ? await deps.db.delete(stickers).where(inArray(stickers.id, ids)).returning() : [];
    await removeUnusedImages(deps, gone);
    const dir = join(deps.config.dataDir, "media", "stickers");
    for (const f of findings.filter((f) => f.problem === "a file no sticker uses")) {
      const hash = f.subject.split(".")[0] ?? "";
      await deps.db.transaction(async (tx) => {
        await lockImage(tx, hash);
        const users = /^[0-9a-f]{64}$/.test(hash)
          ? await tx.select().from(stickers).where(eq(stickers.hash, hash))
          : [];
        const wanted = users.flatMap((row) => [
          stickerFileName(row),
          ...(row.animated ? [stickerFileName(row, true)] : []),
        ]);
        if (!wanted.includes(f.subject)) await unlink(join(dir, f.subject)).catch(() => {});
      });
    }
  },
};
