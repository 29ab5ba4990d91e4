import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, showServerOutput, startFederated } from "../helpers/federated.ts";
import { eventually, memberHandles, ok, register, roomMessages, send, type User } from "../helpers/stream.ts";
import { readTarGz } from "../helpers/tar.ts";

// Issue 19's check, as an operator would try it: Bob on B, in Alice's room on A, exports his
// data (the archive holds every message he wrote), then deletes his account; A hears B's
// `Delete` of his `Person` and shows him as deleted, his messages kept.

interface RoomBody {
  id: string;
  url: string;
  membership: string;
}
interface Message {
  content: string;
  author: { url: string; displayName: string; deleted?: boolean } | null;
}

describe("export, then delete an account, across two servers", { timeout: 240_000 }, () => {
  let a: Federated;
  let b: Federated;
  let alice: User;
  let bob: User;
  let room: RoomBody;
  let mirror: RoomBody;
  const bobSaid = ["one", "two", "three", "four"].map((n) => `bob's message ${n}`);
  showServerOutput(() => a?.server);
  showServerOutput(() => b?.server);

  beforeAll(async () => {
    [a, b] = await Promise.all([startFederated("fedchat-deletion-a-"), startFederated("fedchat-deletion-b-")]);
    [alice, bob] = await Promise.all([register(a.server, "alice"), register(b.server, "bob")]);
    room = await ok<RoomBody>(201, a.server, alice.token, "POST", "/api/v1/rooms", {
      name: "Tea",
      visibility: "public",
    });
    await send(a.server, alice, room.id, "a1", "hello from A");
    const asked = await ok<RoomBody>(202, b.server, bob.token, "POST", "/api/v1/rooms/join", { target: room.url });
    mirror = await eventually("Bob to be in the room", async () => {
      const { rooms } = await ok<{ rooms: RoomBody[] }>(200, b.server, bob.token, "GET", "/api/v1/rooms");
      return rooms.find((r) => r.id === asked.id && r.membership === "joined");
    });
    for (const [i, content] of bobSaid.entries()) {
      await ok(202, b.server, bob.token, "PUT", `/api/v1/rooms/${mirror.id}/messages/b${i}`, { content });
    }
    await eventually("A to hold Bob's messages", async () => {
      const list = await roomMessages<Message>(a.server, alice, room.id);
      return list.length === 1 + bobSaid.length ? list : undefined;
    });
    await eventually("B to hold them numbered", async () => {
      const list = await roomMessages<Message>(b.server, bob, mirror.id);
      return list.length === 1 + bobSaid.length ? list : undefined;
    });
  }, 200_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  const bobUrl = () => `${b.server.url}/users/bob`;

  it("exports every message Bob wrote, in a room on the other server", async () => {
    const asked = await ok<{ export: { id: string } }>(202, b.server, bob.token, "POST", "/api/v1/me/exports");
    const ready = await eventually("the export to be ready", async () => {
      const { export: row } = await ok<{ export: { state: string; downloadUrl: string | null } }>(
        200,
        b.server,
        bob.token,
        "GET",
        "/api/v1/me/exports",
      );
      return row.state === "ready" ? row : undefined;
    });
    expect(ready.downloadUrl).toBe(`${b.server.url}/api/v1/me/exports/${asked.export.id}/archive`);
    const res = await fetch(ready.downloadUrl as string, { headers: { authorization: `Bearer ${bob.token}` } });
    expect(res.status).toBe(200);
    const entries = readTarGz(new Uint8Array(await res.arrayBuffer()));
    const messages = JSON.parse(entries.get("messages/00001.json")?.toString() ?? "[]") as { content: string }[];
    expect(messages.map((m) => m.content).sort()).toEqual([...bobSaid].sort());
    const rooms = JSON.parse(entries.get("rooms.json")?.toString() ?? "[]") as { url: string }[];
    expect(rooms.map((r) => r.url)).toEqual([room.url]);
  });

  it("deletes Bob's account on B, and A shows him as deleted with his messages kept", async () => {
    await ok(204, b.server, bob.token, "POST", "/api/v1/me/delete", { password: "correct horse battery" });
    const actor = await fetch(bobUrl(), { headers: { accept: "application/activity+json" } });
    expect(actor.status).toBe(410);
    const shown = await eventually("A to show Bob as deleted", async () => {
      const list = await roomMessages<Message>(a.server, alice, room.id);
      const his = list.filter((m) => m.author?.url === bobUrl());
      return his.length === bobSaid.length && his.every((m) => m.author?.deleted) ? his : undefined;
    });
    expect(shown.map((m) => m.content)).toEqual(bobSaid);
    expect(await memberHandles(a.server, alice, room.id)).toEqual([`alice@${new URL(a.server.url).host}`]);
  });
});
