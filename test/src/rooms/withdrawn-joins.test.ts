import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount } from "../../../src/accounts/accounts.ts";
import { loadConfig } from "../../../src/config.ts";
import { roomMembers } from "../../../src/db/schema.ts";
import type { Deps } from "../../../src/deps.ts";
import { AppError } from "../../../src/errors.ts";
import { admitRemoteActor, upsertRemoteActor } from "../../../src/rooms/remote.ts";
import { createRoom } from "../../../src/rooms/rooms.ts";
import { withdrawRemoteJoin } from "../../../src/rooms/withdrawn-joins.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/db.ts";
import { testDeps } from "../../helpers/secrets.ts";

// A remote server sends `Join`, then `Undo{Join}` when its user cancels. The inbox's workers
// may handle the two in either order or side by side; whatever the order, the user ends out.

let database: TestDatabase;
let deps: Deps;
let dataDir: string;
let roomId: string;
let actorId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "fedchat-withdrawn-joins-"));
  deps = await testDeps(loadConfig({ ORIGIN: "https://chat.example", DATA_DIR: dataDir }), database.db);
  const owner = await createAccount(deps, { username: "olga", password: "olga's password" });
  roomId = (await createRoom(deps, owner.id, { name: "Lounge", visibility: "public" })).id;
  actorId = await upsertRemoteActor(deps, {
    iri: "https://far.example/users/dave",
    handle: "dave@far.example",
    name: "dave",
    inbox: "https://far.example/users/dave/inbox",
    sharedInbox: null,
    avatarUrl: null,
  });
});
afterAll(async () => {
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const isMember = async () =>
  (
    await deps.db
      .select()
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.actorId, actorId)))
  ).length > 0;

/** Handles the Join; a refusal is an answer like any other. */
const handleJoin = (iri: string) =>
  admitRemoteActor(deps, roomId, actorId, iri).then(
    () => "admitted",
    (error) => {
      if (error instanceof AppError) return error.code;
      throw error;
    },
  );

describe("a join withdrawn by its remote server", () => {
  it("is undone when the Undo comes after the Join", async () => {
    const iri = "https://far.example/joins/1";
    expect(await handleJoin(iri)).toBe("admitted");
    expect(await withdrawRemoteJoin(deps, iri, { roomId, actorId })).toBe(true);
    expect(await isMember()).toBe(false);
  });

  it("is refused when the Undo comes first, even from an actor not known yet", async () => {
    const iri = "https://far.example/joins/2";
    expect(await withdrawRemoteJoin(deps, iri, undefined)).toBe(false);
    expect(await handleJoin(iri)).toBe("conflict");
    expect(await isMember()).toBe(false);
  });

  it("leaves nobody in when the two are handled side by side", async () => {
    for (let n = 0; n < 40; n++) {
      const iri = `https://far.example/joins/race-${n}`;
      await Promise.all([handleJoin(iri), withdrawRemoteJoin(deps, iri, { roomId, actorId })]);
      expect(await isMember(), `race ${n}`).toBe(false);
    }
  });
});
