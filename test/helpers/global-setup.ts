import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { openDatabase } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Path of a dumped, migrated PGlite data directory that each test file loads. */
    pgliteTemplate: string;
    /** On PostgreSQL: the migrated template database each test file copies. */
    postgresTemplate: string;
    /** A data folder with a migrated embedded database, for server processes (see data-dir.ts). */
    pgliteDataDir: string;
  }
}

/**
 * Migrates one template database for the whole run: a PGlite dump (always: some tests use
 * the embedded database on purpose) and, when TEST_DATABASE_URL is set, a PostgreSQL template
 * database. Each test file then gets a fresh copy in well under a second.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "fedchat-test-"));
  const dump = await migratedDump();
  const dumpPath = join(dir, "template.tar");
  writeFileSync(dumpPath, new Uint8Array(await dump.arrayBuffer()));
  project.provide("pgliteTemplate", dumpPath);
  project.provide("pgliteDataDir", await makeDataDirTemplate(dir, dump));

  const url = process.env.TEST_DATABASE_URL;
  let template = "";
  if (url) {
    template = `fedchat_template_${process.pid}`;
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${template}`);
    await admin.unsafe(`create database ${template}`);
    await admin.end();
    const db = await openDatabase({ url: withDatabase(url, template), poolSize: 1 });
    await migrateDatabase(db);
    await db.close();
  }
  project.provide("postgresTemplate", template);

  return async () => {
    rmSync(dir, { recursive: true, force: true });
    if (url && template) {
      const admin = postgres(url, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists ${template} with (force)`);
      await admin.end();
    }
  };
}

/** An in-memory embedded database, migrated, as a dump. */
export async function migratedDump(): Promise<Blob> {
  const pg = new PGlite();
  const handle = await openDatabase({ pglite: pg });
  await migrateDatabase(handle);
  const dump = await pg.dumpDataDir("none");
  await handle.close();
  return dump;
}

/**
 * A data folder holding a migrated embedded database, loaded from the dump: server processes
 * in tests start from a copy of it instead of creating their database (seconds each).
 */
export async function makeDataDirTemplate(parent: string, dump: Blob): Promise<string> {
  const dataDir = join(parent, "data");
  mkdirSync(dataDir);
  const pg = new PGlite(join(dataDir, "pglite"), { loadDataDir: dump });
  await pg.waitReady;
  await pg.close();
  return dataDir;
}

/** The same PostgreSQL URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
