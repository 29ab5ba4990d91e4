import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount } from "../../src/accounts/accounts.ts";
import { loadConfig } from "../../src/config.ts";
import { contacts } from "../../src/db/schema.ts";
import type { Deps } from "../../src/deps.ts";
import type { AppError } from "../../src/errors.ts";
import { addMember, joinRoom, listMembers } from "../../src/rooms/members.ts";
import { profileRecipients, upsertRemoteActor, upsertRemoteRoom } from "../../src/rooms/remote.ts";
import { createRoom } from "../../src/rooms/rooms.ts";
import {
  blockServer,
  listBlockedServers,
  listRefusals,
  normalizeHost,
  recordRefusal,
  unblockServer,
} from "../../src/servers.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testDeps } from "../helpers/secrets.ts";

let database: TestDatabase;
let deps: Deps;
let dataDir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "fedchat-servers-"));
  deps = await testDeps(loadConfig({ ORIGIN: "https://chat.example", DATA_DIR: dataDir }), database.db);
});
afterAll(async () => {
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const remoteActor = (iri: string) =>
  upsertRemoteActor(deps, {
    iri,
    handle: `${new URL(iri).pathname.split("/").at(-1)}@${new URL(iri).host}`,
    name: "Someone",
    inbox: `${iri}/inbox`,
    sharedInbox: null,
    avatarUrl: null,
  });

describe("the server block list", () => {
  it("takes host names and URLs, lowercased with their port, and refuses anything else", () => {
    expect(normalizeHost("Bad.Example")).toBe("bad.example");
    expect(normalizeHost("https://bad.example:8443/users/x")).toBe("bad.example:8443");
    for (const junk of ["", "   ", "bad example", "-", "http://", "bad..example", "a/b c"]) {
      let code = "accepted";
      try {
        normalizeHost(junk);
      } catch (error) {
        code = (error as AppError).code;
      }
      expect(code, junk).toBe("validation_failed");
    }
  });

  it("ends the memberships of the blocked server's users (subdomains too), and no one else's", async () => {
    const owner = await createAccount(deps, { username: "olivia", password: "olivia's password" });
    const room = await createRoom(deps, owner.id, { name: "Lobby", visibility: "public" });
    const bad = await remoteActor("https://bad.example/users/mallory");
    const sub = await remoteActor("https://eu.bad.example/users/eve");
    const good = await remoteActor("https://good.example/users/felix");
    for (const id of [bad, sub, good]) await joinRoom(deps, id, room.id);

    const { host, removed } = await blockServer(deps, "BAD.example", "spam");
    expect(host).toBe("bad.example");
    expect(removed).toBe(2);
    const members = (await listMembers(deps, owner.id, room.id)).map((m) => m.actor.handle);
    expect(members).toContain("felix@good.example");
    expect(members).not.toContain("mallory@bad.example");
    expect(members).not.toContain("eve@eu.bad.example");
    expect((await listBlockedServers(deps)).map((r) => [r.host, r.reason])).toEqual([["bad.example", "spam"]]);

    expect(await unblockServer(deps, "bad.example")).toBe(true);
    expect(await unblockServer(deps, "bad.example")).toBe(false);
    expect(await listBlockedServers(deps)).toEqual([]);
  });
});

describe("profile recipients", () => {
  it("leave out blocked servers and their subdomains, whether contacts or hosts of rooms", async () => {
    const user = await createAccount(deps, { username: "pia", password: "pia's password" });
    const people = await Promise.all(
      [
        "https://worse.example/users/mallory",
        "https://eu.worse.example/users/eve",
        "https://fine.example/users/felix",
      ].map(remoteActor),
    );
    await deps.db.insert(contacts).values(people.map((contactId) => ({ ownerId: user.id, contactId })));
    const remoteRoom = (host: string) =>
      upsertRemoteRoom(deps, {
        iri: `https://${host}/rooms/lobby`,
        name: "Lobby",
        topic: "",
        visibility: "public",
        inbox: `https://${host}/rooms/lobby/inbox`,
        sharedInbox: null,
        outbox: null,
        featured: null,
      });
    for (const host of ["worse.example", "fine.example"]) {
      await addMember(deps, deps.db, (await remoteRoom(host)).id, user.id);
    }
    const everyone = [
      "https://eu.worse.example/users/eve/inbox",
      "https://fine.example/rooms/lobby/inbox",
      "https://fine.example/users/felix/inbox",
      "https://worse.example/rooms/lobby/inbox",
      "https://worse.example/users/mallory/inbox",
    ];
    expect((await profileRecipients(deps, user.id)).sort()).toEqual(everyone);

    await blockServer(deps, "worse.example");
    expect((await profileRecipients(deps, user.id)).sort()).toEqual([
      "https://fine.example/rooms/lobby/inbox",
      "https://fine.example/users/felix/inbox",
    ]);
    await unblockServer(deps, "worse.example");
    expect((await profileRecipients(deps, user.id)).sort()).toEqual(everyone);
  });
});

describe("refusals counted per server", () => {
  it("counts each server's refused types, at most 100 of them, the rest and odd names as (other)", async () => {
    await recordRefusal(deps, "lemmy.example", "unsupported_activity", "Dislike");
    await recordRefusal(deps, "lemmy.example", "unsupported_activity", "Dislike");
    await recordRefusal(deps, "lemmy.example", "unsupported_object", "Edition");
    await recordRefusal(deps, "(unsigned)", "unsupported_activity", "x\u0000<script>");
    const counts = (await listRefusals(deps)).map((r) => `${r.host} ${r.code} ${r.type} ${r.count}`);
    expect(counts.sort()).toEqual([
      "(unsigned) unsupported_activity (other) 1",
      "lemmy.example unsupported_activity Dislike 2",
      "lemmy.example unsupported_object Edition 1",
    ]);

    for (let i = 0; i < 105; i++) await recordRefusal(deps, "noisy.example", "unsupported_activity", `Made${i}`);
    await recordRefusal(deps, "noisy.example", "unsupported_activity", "Made0");
    const noisy = (await listRefusals(deps)).filter((r) => r.host === "noisy.example");
    expect(noisy).toHaveLength(101);
    expect(noisy.find((r) => r.type === "(other)")?.count).toBe(5);
    expect(noisy.find((r) => r.type === "Made0")?.count).toBe(2);
  });
});
