import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generateDrizzleJson, generateMigration } from "drizzle-kit/api";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, queryRows } from "../../../src/db/client.ts";
import { migrateDatabase, migrationStatus, migrationsFolder } from "../../../src/db/migrate.ts";
import * as schema from "../../../src/db/schema.ts";
import { createTestDatabase, type TestDatabase, testDatabaseKind } from "../../helpers/db.ts";

describe("migrations", () => {
  it("agree with the schema: generating a migration now would produce nothing", async () => {
    const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as {
      entries: { idx: number; tag: string }[];
    };
    const last = journal.entries.at(-1);
    expect(last).toBeDefined();
    const snapshotFile = readdirSync(join(migrationsFolder, "meta")).find((f) =>
      f.startsWith(`${String(last?.idx).padStart(4, "0")}_snapshot`),
    );
    expect(snapshotFile).toBeDefined();
    const snapshot = JSON.parse(readFileSync(join(migrationsFolder, "meta", snapshotFile as string), "utf8"));
    const current = generateDrizzleJson(schema, snapshot.id);
    const statements = await generateMigration(snapshot, current);
    expect(statements, "run `npm run db:generate` and commit the migration").toEqual([]);
  });

  it("has one SQL file per journal entry and nothing else", () => {
    const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as {
      entries: { tag: string }[];
    };
    const files = readdirSync(migrationsFolder).filter((f) => f.endsWith(".sql"));
    expect(files.sort()).toEqual(journal.entries.map((e) => `${e.tag}.sql`).sort());
  });
});

describe(`migrating ${testDatabaseKind}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database.close());

  it("leaves the template fully migrated and is a no-op when run again", async () => {
    expect(await migrationStatus(database.db)).toMatchObject({ upToDate: true });
    const before = await queryRows(database.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    await migrateDatabase(database);
    const after = await queryRows(database.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    expect(after).toEqual(before);
    const status = await migrationStatus(database.db);
    expect(status.applied).toBe(status.expected);
  });
});

describe("an empty database", () => {
  it("reports pending migrations until migrated", async () => {
    const empty = await openDatabase({ memory: true });
    try {
      expect(await migrationStatus(empty.db)).toMatchObject({ applied: 0, upToDate: false });
      await migrateDatabase(empty);
      expect(await migrationStatus(empty.db)).toMatchObject({ upToDate: true });
    } finally {
      await empty.close();
    }
    // Every migration from nothing, on a fresh embedded database: seconds, far more on a busy machine.
  }, 120_000);
});

// A regression test: the migration lock once took the only connection of a pool of one and
// then waited forever for a second one.
if (process.env.TEST_DATABASE_URL) {
  describe("migrating PostgreSQL with a pool of one connection", () => {
    it("does not deadlock on its own advisory lock", async () => {
      const database = await createTestDatabase();
      const url = database.url as string;
      const single = await openDatabase({ url, poolSize: 1 });
      try {
        await migrateDatabase(single);
        expect(await migrationStatus(single.db)).toMatchObject({ upToDate: true });
      } finally {
        await single.close();
        await database.close();
      }
    });
  });
}
