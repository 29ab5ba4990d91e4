import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { readTarGz } from "../helpers/tar.ts";
import { expectProblem, type LoggedIn, loginUser, registerUser } from "./support.ts";

// Issue 19, item 5: a user's export of their own data, and deleting their account.

let t: TestInstance;
let alice: LoggedIn;
let bob: LoggedIn;
let roomId: string;

const password = "correct horse battery";
const auth = (who: LoggedIn) => bearer(who.accessToken);

async function send(who: LoggedIn, txn: string, content: string, attachments: string[] = []) {
  const res = await t.request(
    `/api/v1/rooms/${roomId}/messages/${txn}`,
    json("PUT", { content, ...(attachments.length ? { attachments } : {}) }, auth(who)),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string };
}

interface ExportView {
  id: string;
  state: string;
  size: number | null;
  downloadUrl: string | null;
}

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
  alice = await registerUser(t, "alice", password, { displayName: "Alice" });
  bob = await registerUser(t, "bob", password);
  const res = await t.request("/api/v1/rooms", json("POST", { name: "Tea", visibility: "public" }, auth(alice)));
  roomId = ((await res.json()) as { id: string }).id;
  expect((await t.request(`/api/v1/rooms/${roomId}/join`, { method: "POST", headers: auth(bob) })).status).toBe(200);
});
afterAll(async () => {
  await t?.dispose();
});

describe("exporting one's data", () => {
  const fileBytes = new TextEncoder().encode("the minutes of the meeting\n");
  const written: string[] = [];

  it("makes an archive with the profile, the rooms, every message the user wrote and their files", async () => {
    const form = new FormData();
    form.append("file", new File([fileBytes], "minutes.txt", { type: "text/plain" }));
    const up = await t.request("/api/v1/attachments", { method: "POST", headers: auth(alice), body: form });
    expect(up.status).toBe(201);
    const file = (await up.json()) as { id: string };
    for (let i = 0; i < 5; i++) written.push((await send(alice, `a${i}`, `alice says ${i}`)).id);
    written.push((await send(alice, "af", "with a file", [file.id])).id);
    await send(bob, "b0", "bob says hi");
    const gone = await send(alice, "ad", "regretted");
    const del = await t.request(`/api/v1/rooms/${roomId}/messages/${gone.id}`, {
      method: "DELETE",
      headers: auth(alice),
    });
    expect(del.status).toBe(204);

    const asked = await t.request("/api/v1/me/exports", { method: "POST", headers: auth(alice) });
    expect(asked.status).toBe(202);
    const { export: pending } = (await asked.json()) as { export: ExportView };
    expect(pending.downloadUrl).toBeNull();
    await t.deps.exports.settled();

    const status = await t.request("/api/v1/me/exports", { headers: auth(alice) });
    const { export: ready } = (await status.json()) as { export: ExportView };
    expect(ready).toMatchObject({ id: pending.id, state: "ready" });
    expect(ready.downloadUrl).toBe(`${t.origin}/api/v1/me/exports/${pending.id}/archive`);

    const download = await t.request(new URL(ready.downloadUrl as string).pathname, { headers: auth(alice) });
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/gzip");
    expect(download.headers.get("content-disposition")).toMatch(
      /^attachment; filename="alice-\d{4}-\d\d-\d\d\.tar\.gz"$/,
    );
    const bytes = new Uint8Array(await download.arrayBuffer());
    expect(bytes.length).toBe(ready.size);
    const entries = readTarGz(bytes);

    const profile = JSON.parse(entries.get("profile.json")?.toString() ?? "null");
    expect(profile).toMatchObject({ username: "alice", displayName: "Alice", url: `${t.origin}/users/alice` });
    const rooms = JSON.parse(entries.get("rooms.json")?.toString() ?? "null");
    expect(rooms).toEqual([expect.objectContaining({ id: roomId, name: "Tea", role: "owner" })]);
    const messages = JSON.parse(entries.get("messages/00001.json")?.toString() ?? "null") as {
      id: string;
      content: string;
      attachments: { file: string }[];
    }[];
    // Every message she wrote and still has, none of Bob's, not the deleted one.
    expect(messages.map((m) => m.id)).toEqual(written);
    expect(messages.map((m) => m.content)).toContain("alice says 4");
    const withFile = messages.find((m) => m.content === "with a file");
    expect(withFile?.attachments).toEqual([{ id: file.id, file: `files/${file.id}/minutes.txt` }]);
    expect(entries.get(`files/${file.id}/minutes.txt`)).toEqual(Buffer.from(fileBytes));
  });

  it("allows one export a day", async () => {
    const again = await t.request("/api/v1/me/exports", { method: "POST", headers: auth(alice) });
    const problem = await expectProblem(again, 429, "rate_limited");
    expect(problem).toBeTruthy();
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThan(80_000);
  });

  it("gives an export to its owner only, and refuses ids that are not exports", async () => {
    const { export: mine } = (await (await t.request("/api/v1/me/exports", { headers: auth(alice) })).json()) as {
      export: ExportView;
    };
    const theirs = await t.request(`/api/v1/me/exports/${mine.id}/archive`, { headers: auth(bob) });
    await expectProblem(theirs, 404, "export_not_found");
    await expectProblem(await t.request(`/api/v1/me/exports/${mine.id}/archive`), 401, "unauthenticated");
    await expectProblem(
      await t.request("/api/v1/me/exports/..%2F..%2Fsecrets/archive", { headers: auth(alice) }),
      422,
      "validation_failed",
    );
    const none = await t.request("/api/v1/me/exports", { headers: auth(bob) });
    expect(await none.json()).toEqual({ export: null });
  });
});

describe("deleting one's account", () => {
  it("refuses a wrong password and changes nothing", async () => {
    const res = await t.request("/api/v1/me/delete", json("POST", { password: "not the password" }, auth(bob)));
    await expectProblem(res, 401, "invalid_credentials");
    await expectProblem(await t.request("/api/v1/me/delete", json("POST", {}, auth(bob))), 422, "validation_failed");
    expect((await t.request("/api/v1/me", { headers: auth(bob) })).status).toBe(200);
  });

  it("refuses while the user owns a room others are in", async () => {
    const res = await t.request("/api/v1/me/delete", json("POST", { password }, auth(alice)));
    const problem = await expectProblem(res, 409, "rooms_owned");
    expect(problem.details).toEqual({ rooms: [{ id: roomId, name: "Tea" }] });
  });

  it("deletes the account: sessions end, the profile is gone, messages stay under a deleted account", async () => {
    const other = await loginUser(t, "bob", password);
    const res = await t.request("/api/v1/me/delete", json("POST", { password }, auth(bob)));
    expect(res.status).toBe(204);
    // Every session, not only the one that asked.
    await expectProblem(await t.request("/api/v1/me", { headers: auth(bob) }), 401, "unauthenticated");
    await expectProblem(await t.request("/api/v1/me", { headers: auth(other) }), 401, "unauthenticated");
    const login = await t.request("/api/v1/auth/login", json("POST", { username: "bob", password }));
    await expectProblem(login, 401, "invalid_credentials");
    // The username is not given again.
    const again = await t.request("/api/v1/auth/register", json("POST", { username: "bob", password }));
    await expectProblem(again, 409, "username_taken");

    const members = await t.request(`/api/v1/rooms/${roomId}/members`, { headers: auth(alice) });
    const list = (await members.json()) as { members: { actor: { handle: string } }[] };
    expect(list.members.map((m) => m.actor.handle)).toEqual([`alice@${new URL(t.origin).host}`]);
    const history = await t.request(`/api/v1/rooms/${roomId}/messages`, { headers: auth(alice) });
    const { messages } = (await history.json()) as {
      messages: { content: string; author: { deleted?: boolean; displayName: string } }[];
    };
    const his = messages.find((m) => m.content === "bob says hi");
    expect(his?.author).toMatchObject({ deleted: true, displayName: "bob" });
    await expectProblem(await t.request("/api/v1/users/bob", { headers: auth(alice) }), 404, "user_not_found");

    // The actor answers 410 Gone, as Mastodon's deleted accounts do.
    const actor = await t.request("/users/bob", { headers: { accept: "application/activity+json" } });
    expect(actor.status, await actor.clone().text()).toBe(410);
  });
});
