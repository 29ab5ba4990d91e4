import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount } from "../../../src/accounts/accounts.ts";
import { loadConfig } from "../../../src/config.ts";
import { roomMembers } from "../../../src/db/schema.ts";
import type { Deps } from "../../../src/deps.ts";
import { syncMirrorMembers, upsertRemoteActor, upsertRemoteRoom } from "../../../src/rooms/remote.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/db.ts";
import { testDeps } from "../../helpers/secrets.ts";

let database: TestDatabase;
let deps: Deps;
let dataDir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "fedchat-mirror-members-"));
  deps = await testDeps(loadConfig({ ORIGIN: "https://chat.example", DATA_DIR: dataDir }), database.db);
});
afterAll(async () => {
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const remote = (name: string) =>
  upsertRemoteActor(deps, {
    iri: `https://far.example/users/${name}`,
    handle: `${name}@far.example`,
    name,
    inbox: `https://far.example/users/${name}/inbox`,
    sharedInbox: null,
    avatarUrl: null,
  });

const roster = async (roomId: string) =>
  Object.fromEntries(
    (await deps.db.select().from(roomMembers).where(eq(roomMembers.roomId, roomId))).map((m) => [m.actorId, m.role]),
  );

describe("a mirror's members, as its room's server lists them", () => {
  it("adds and re-roles remote members, removes the unlisted from a complete list, never touches local users", async () => {
    const mirror = await upsertRemoteRoom(deps, {
      iri: "https://far.example/rooms/porch",
      name: "Porch",
      topic: "",
      visibility: "public",
      inbox: "https://far.example/rooms/porch/inbox",
      sharedInbox: null,
      outbox: null,
      featured: null,
    });
    const [owner, mod, gone] = [await remote("owner"), await remote("mod"), await remote("gone")];
    const local = await createAccount(deps, { username: "kit", password: "kit's password" });
    await syncMirrorMembers(deps, mirror.id, [{ actorId: gone, role: "member" }], true);
    expect(await roster(mirror.id)).toEqual({ [gone]: "member" });

    // Kit is listed (the room's server has not heard that kit was removed here): not added.
    const listed = [
      { actorId: owner, role: "owner" as const },
      { actorId: mod, role: "member" as const },
      { actorId: local.id, role: "member" as const },
    ];
    expect(await syncMirrorMembers(deps, mirror.id, listed, false)).toEqual({ added: 2, changed: 0, removed: 0 });
    expect(await roster(mirror.id)).toEqual({ [owner]: "owner", [mod]: "member", [gone]: "member" });

    const promoted = listed.map((m) => (m.actorId === mod ? { ...m, role: "moderator" as const } : m));
    expect(await syncMirrorMembers(deps, mirror.id, promoted, true)).toEqual({ added: 0, changed: 1, removed: 1 });
    expect(await roster(mirror.id)).toEqual({ [owner]: "owner", [mod]: "moderator" });
  });
});
