import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setRole } from "../../src/accounts/admin.ts";
import { checkConsistency } from "../../src/consistency.ts";
import { stickerFiles as stickerFileCheck } from "../../src/stickers/consistency.ts";
import { animatedGif } from "../helpers/animated.ts";
import { testDatabaseKind } from "../helpers/db.ts";
import { createTestInstance, type TestInstance } from "../helpers/instance.ts";
import { apiClient, type Client, expectProblem, jpeg1x1, openStream, png, rows } from "./support.ts";

interface Sticker {
  id: string;
  packId: string;
  name: string;
  emoji: string | null;
  mediaType: string;
  width: number;
  height: number;
  url: string;
  stillUrl?: string;
}
interface Pack {
  id: string;
  name: string;
  kind: "server" | "personal";
  stickers: Sticker[];
}
interface Message {
  id: string;
  content: string;
  sticker?: true;
  attachments: {
    id: string;
    name: string;
    mediaType: string;
    previewUrl?: string;
    stillUrl?: string;
    sticker?: true;
  }[];
}

let t: TestInstance;
const { signUp, call, ok } = apiClient(() => t);
let partyGif: Uint8Array;
let alice: Client;
let bob: Client;
let admin: Client;

function uploadSticker(who: Client, packId: string, bytes: Uint8Array, name: string, emoji?: string) {
  const form = new FormData();
  form.append("file", new File([new Uint8Array(bytes)], "sticker.bin"));
  form.append("name", name);
  if (emoji !== undefined) form.append("emoji", emoji);
  return t.request(`/api/v1/sticker-packs/${packId}/stickers`, { method: "POST", headers: who.headers, body: form });
}

async function pack(who: Client, name: string, server = false): Promise<Pack> {
  return await ok<Pack>(await call("POST", "/sticker-packs", who, { name, ...(server ? { server } : {}) }), 201);
}

async function packsOf(who: Client): Promise<Pack[]> {
  return (await ok<{ packs: Pack[] }>(await call("GET", "/sticker-packs", who))).packs;
}

async function room(owner: Client, ...members: Client[]): Promise<string> {
  const { id } = await ok<{ id: string }>(
    await call("POST", "/rooms", owner, { name: "Stickers", visibility: "private" }),
    201,
  );
  for (const member of members) {
    const { code } = await ok<{ code: string }>(await call("POST", `/rooms/${id}/invites`, owner, {}), 201);
    await ok(await call("POST", `/invites/${code}/accept`, member));
  }
  return id;
}

function stickerFiles(): string[] {
  try {
    return readdirSync(join(t.config.dataDir, "media", "stickers")).sort();
  } catch {
    return [];
  }
}

async function counts() {
  const [row] = await rows<{ packs: number; stickers: number; attachments: number; messages: number }>(
    t,
    sql`select (select count(*)::int from sticker_packs) as packs, (select count(*)::int from stickers) as stickers,
      (select count(*)::int from attachments) as attachments, (select count(*)::int from messages) as messages`,
  );
  return { ...row, files: stickerFiles() };
}

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
  partyGif = await animatedGif(4, 64);
  alice = await signUp("alice");
  bob = await signUp("bob");
  admin = await signUp("root");
  await setRole(t.deps, admin.username, "admin");
});
afterAll(async () => t.dispose());

describe("personal packs", () => {
  it("are made, filled, listed, sent and seen only by their owner", async () => {
    const mine = await pack(alice, "Cats");
    expect(mine).toMatchObject({ name: "Cats", kind: "personal", stickers: [] });
    const added = await ok<Sticker>(await uploadSticker(alice, mine.id, png(32, 24), "Sleepy cat", "😺"), 201);
    expect(added).toMatchObject({ name: "Sleepy cat", emoji: "😺", mediaType: "image/png", width: 32, height: 24 });
    expect(added.stillUrl).toBeUndefined();
    const image = await t.request(new URL(added.url).pathname);
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/png");

    expect((await packsOf(alice)).find((p) => p.id === mine.id)?.stickers.map((s) => s.id)).toEqual([added.id]);
    expect((await packsOf(bob)).some((p) => p.id === mine.id)).toBe(false);

    const roomId = await room(alice, bob);
    const sent = await ok<Message>(
      await call("PUT", `/rooms/${roomId}/stickers/s1`, alice, { sticker: added.id }),
      201,
    );
    expect(sent).toMatchObject({ content: "", sticker: true });
    expect(sent.attachments).toHaveLength(1);
    expect(sent.attachments[0]).toMatchObject({ name: "Sleepy cat", mediaType: "image/png", sticker: true });
    // A retry with the same transaction id gives the same message and stores nothing more.
    const before = await counts();
    const again = await ok<Message>(await call("PUT", `/rooms/${roomId}/stickers/s1`, alice, { sticker: added.id }));
    expect(again.id).toBe(sent.id);
    expect(await counts()).toEqual(before);
    // Bob reads it in history as a sticker.
    const { messages } = await ok<{ messages: Message[] }>(await call("GET", `/rooms/${roomId}/messages`, bob));
    expect(messages.find((m) => m.id === sent.id)).toMatchObject({ sticker: true });
  });

  it("another user's pack can be neither seen, changed nor used", async () => {
    const mine = await pack(alice, "Private");
    const added = await ok<Sticker>(await uploadSticker(alice, mine.id, png(16, 16, { seed: 3 }), "Secret"), 201);
    const roomId = await room(bob, alice);
    const before = await counts();
    await expectProblem(
      await call("PUT", `/rooms/${roomId}/stickers/x1`, bob, { sticker: added.id }),
      404,
      "sticker_not_found",
    );
    await expectProblem(await uploadSticker(bob, mine.id, png(8, 8), "Mine now"), 404, "sticker_pack_not_found");
    await expectProblem(
      await call("PATCH", `/sticker-packs/${mine.id}`, bob, { name: "Bob's" }),
      404,
      "sticker_pack_not_found",
    );
    await expectProblem(await call("DELETE", `/sticker-packs/${mine.id}`, bob), 404, "sticker_pack_not_found");
    await expectProblem(await call("DELETE", `/stickers/${added.id}`, bob), 404, "sticker_not_found");
    expect(await counts()).toEqual(before);
  });

  it("refuses bad images and names with stable codes, changing nothing", async () => {
    const mine = await pack(alice, "Refusals");
    const before = await counts();
    await expectProblem(await uploadSticker(alice, mine.id, jpeg1x1, "Photo"), 415, "unsupported_media_type");
    await expectProblem(
      await uploadSticker(alice, mine.id, new TextEncoder().encode("<svg onload=alert(1)>"), "Svg"),
      415,
      "unsupported_media_type",
    );
    await expectProblem(await uploadSticker(alice, mine.id, png(600, 20), "Wide"), 422, "validation_failed");
    await expectProblem(
      await uploadSticker(alice, mine.id, png(20, 20, { padding: 600 * 1024 }), "Heavy"),
      413,
      "payload_too_large",
    );
    // A PNG whose header is fine and whose pixels are not there.
    const broken = png(20, 20).slice(0, 60);
    await expectProblem(await uploadSticker(alice, mine.id, broken, "Broken"), 415, "unsupported_media_type");
    await expectProblem(await uploadSticker(alice, mine.id, png(8, 8), "../etc"), 422, "validation_failed");
    await expectProblem(await uploadSticker(alice, mine.id, png(8, 8), " "), 422, "validation_failed");
    await expectProblem(await uploadSticker(alice, mine.id, png(8, 8), "Ok", "abc"), 422, "validation_failed");
    await expectProblem(
      await call("POST", "/sticker-packs", alice, { name: "x".repeat(65) }),
      422,
      "validation_failed",
    );
    expect(await counts()).toEqual(before);
  });

  // Two connections are needed to hold a lock while the server waits on it: PostgreSQL only.
  if (testDatabaseKind === "postgres")
    it("answers sticker_pack_not_found, not a server error, when the pack goes while a sticker is added", async () => {
      const doomed = await pack(alice, "Doomed");
      const before = await counts();
      let adding: Promise<Response> | undefined;
      await t.database.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from sticker_packs where id = ${doomed.id} for update`);
        adding = uploadSticker(alice, doomed.id, png(8, 8), "Late");
        // Until the upload waits for the pack's lock.
        for (let i = 0; i < 200; i++) {
          const waiting = await rows<{ n: number }>(
            t,
            sql`select count(*)::int as n from pg_stat_activity
                where wait_event_type = 'Lock' and query ilike '%sticker_packs%'`,
          );
          if ((waiting[0]?.n ?? 0) > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await tx.execute(sql`delete from sticker_packs where id = ${doomed.id}`);
      });
      await expectProblem(await (adding as Promise<Response>), 404, "sticker_pack_not_found");
      expect(await counts()).toEqual({ ...before, packs: (before.packs ?? 0) - 1 });
    });

  it("holds a user to 10 packs", async () => {
    const carol = await signUp("carol");
    for (let i = 0; i < 10; i++) await pack(carol, `Pack ${i}`);
    const before = await counts();
    const refused = await expectProblem(
      await call("POST", "/sticker-packs", carol, { name: "Eleventh" }),
      409,
      "sticker_limit_reached",
    );
    expect(refused.details).toEqual({ max: 10 });
    expect(await counts()).toEqual(before);
  });

  it("deleting a pack keeps sent stickers and removes files nobody uses", async () => {
    const dave = await signUp("dave");
    const mine = await pack(dave, "Short-lived");
    const added = await ok<Sticker>(await uploadSticker(dave, mine.id, png(12, 12, { seed: 9 }), "Gone"), 201);
    const file = new URL(added.url).pathname.split("/").pop() as string;
    expect(stickerFiles()).toContain(file);
    const roomId = await room(dave);
    const sent = await ok<Message>(await call("PUT", `/rooms/${roomId}/stickers/d1`, dave, { sticker: added.id }), 201);
    await ok(await call("DELETE", `/sticker-packs/${mine.id}`, dave), 204);
    expect(stickerFiles()).not.toContain(file);
    expect((await packsOf(dave)).filter((p) => p.kind === "personal")).toEqual([]);
    const still = await ok<Message>(await call("GET", `/rooms/${roomId}/messages/${sent.id}`, dave));
    expect(still).toMatchObject({ sticker: true });
    const download = await t.request(
      new URL(still.attachments[0]?.previewUrl as string).pathname +
        new URL(still.attachments[0]?.previewUrl as string).search,
    );
    expect(download.status).toBe(200);
  });
});

describe("server packs", () => {
  it("only admins make and change them; everyone sees and sends them; the stream tells everyone", async () => {
    const before = await counts();
    await expectProblem(
      await call("POST", "/sticker-packs", alice, { name: "Official", server: true }),
      403,
      "admin_only",
    );
    expect(await counts()).toEqual(before);

    const bobStream = await openStream(t, bob.headers);
    expect((await bobStream.take(1))[0]?.type).toBe("ready");
    const official = await pack(admin, "Official", true);
    expect(official.kind).toBe("server");
    const [made] = await bobStream.take(1);
    // Everyone gets a small event naming the pack, and reads it with the list.
    expect(made).toMatchObject({
      type: "stickers.updated",
      data: { packId: official.id, kind: "server", deleted: false },
    });

    // One event for everyone, however many users there are (one row per user once overflowed
    // PostgreSQL's bind parameters past about 8,000 users).
    const eventsBefore = await rows<{ n: number }>(t, sql`select count(*)::int as n from events`);
    const added = await ok<Sticker>(await uploadSticker(admin, official.id, partyGif, "Party", "🎉"), 201);
    const eventsAfter = await rows<{ n: number }>(t, sql`select count(*)::int as n from events`);
    expect((eventsAfter[0]?.n ?? 0) - (eventsBefore[0]?.n ?? 0)).toBe(1);
    const [filled] = await bobStream.take(1);
    expect(filled?.data).toEqual({ packId: official.id, kind: "server", deleted: false });
    expect((await packsOf(bob)).find((p) => p.id === official.id)?.stickers.map((s) => s.id)).toEqual([added.id]);

    const refusedBefore = await counts();
    await expectProblem(await uploadSticker(alice, official.id, png(8, 8), "Mine"), 403, "admin_only");
    await expectProblem(
      await call("PATCH", `/sticker-packs/${official.id}`, alice, { name: "Hijacked" }),
      403,
      "admin_only",
    );
    await expectProblem(await call("DELETE", `/stickers/${added.id}`, alice), 403, "admin_only");
    await expectProblem(await call("DELETE", `/sticker-packs/${official.id}`, alice), 403, "admin_only");
    expect(await counts()).toEqual(refusedBefore);

    expect((await packsOf(bob))[0]).toMatchObject({ id: official.id, kind: "server" });
    const roomId = await room(bob);
    const sent = await ok<Message>(await call("PUT", `/rooms/${roomId}/stickers/b1`, bob, { sticker: added.id }), 201);
    expect(sent).toMatchObject({ sticker: true });
    await bobStream.close();
  });

  it("a personal pack's change reaches only its owner", async () => {
    const erin = await signUp("erin");
    const frank = await signUp("frank");
    const frankStream = await openStream(t, frank.headers);
    const erinStream = await openStream(t, erin.headers);
    expect((await frankStream.take(1))[0]?.type).toBe("ready");
    expect((await erinStream.take(1))[0]?.type).toBe("ready");
    const mine = await pack(erin, "Erin's");
    const [told] = await erinStream.take(1);
    expect(told).toMatchObject({
      type: "stickers.updated",
      data: { packId: mine.id, kind: "personal", pack: { name: "Erin's" } },
    });
    // Frank hears of a server pack made after, and of nothing before it.
    await pack(admin, "Later", true);
    const [next] = await frankStream.take(1);
    expect(next?.data).toMatchObject({ kind: "server", deleted: false });
    await frankStream.close();
    await erinStream.close();
  });
});

describe("consistency", () => {
  it("deletes stickers whose image is gone and files no sticker uses", async () => {
    const gina = await signUp("gina");
    const mine = await pack(gina, "Fragile");
    const kept = await ok<Sticker>(await uploadSticker(gina, mine.id, png(10, 10, { seed: 21 }), "Kept"), 201);
    const lost = await ok<Sticker>(await uploadSticker(gina, mine.id, png(10, 10, { seed: 22 }), "Lost"), 201);
    const dir = join(t.config.dataDir, "media", "stickers");
    rmSync(join(dir, new URL(lost.url).pathname.split("/").pop() as string));
    const stray = `${"ab".repeat(32)}.png`;
    writeFileSync(join(dir, stray), "stray");
    const { found, remaining } = await checkConsistency(t.deps, { fix: true, checks: [stickerFileCheck] });
    expect(found.map((f) => f.subject).sort()).toEqual([lost.id, stray].sort());
    expect(remaining).toEqual([]);
    expect(stickerFiles()).not.toContain(stray);
    const left = (await packsOf(gina)).find((p) => p.id === mine.id);
    expect(left?.stickers.map((s) => s.id)).toEqual([kept.id]);
  });
});

describe("animated images", () => {
  it("keep their animation in previews and get a still first frame", async () => {
    const mine = await pack(alice, "Moving");
    const added = await ok<Sticker>(await uploadSticker(alice, mine.id, partyGif, "Blink"), 201);
    expect(added.stillUrl).toBeDefined();
    const still = await t.request(new URL(added.stillUrl as string).pathname);
    expect(still.status).toBe(200);
    expect((await sharp(new Uint8Array(await still.arrayBuffer())).metadata()).pages ?? 1).toBe(1);

    const roomId = await room(alice);
    const sent = await ok<Message>(
      await call("PUT", `/rooms/${roomId}/stickers/a1`, alice, { sticker: added.id }),
      201,
    );
    const attachment = sent.attachments[0];
    expect(attachment?.stillUrl).toBeDefined();
    const fetchSigned = async (url: string) => {
      const res = await t.request(new URL(url).pathname + new URL(url).search);
      expect(res.status).toBe(200);
      return new Uint8Array(await res.arrayBuffer());
    };
    const preview = await sharp(await fetchSigned(attachment?.previewUrl as string)).metadata();
    expect(preview.format).toBe("webp");
    expect(preview.pages).toBe(4);
    const first = await sharp(await fetchSigned(attachment?.stillUrl as string)).metadata();
    expect(first.pages ?? 1).toBe(1);
  });

  it("an animated GIF uploaded as an attachment gets an animated preview and a still", async () => {
    const form = new FormData();
    form.append("file", new File([new Uint8Array(await animatedGif(3, 500))], "dance.gif", { type: "image/gif" }));
    const res = await t.request("/api/v1/attachments", { method: "POST", headers: alice.headers, body: form });
    const upload = await ok<{ previewUrl: string; stillUrl?: string }>(res, 201);
    const preview = await t.request(new URL(upload.previewUrl).pathname + new URL(upload.previewUrl).search);
    const meta = await sharp(new Uint8Array(await preview.arrayBuffer())).metadata();
    expect(meta.pages).toBe(3);
    expect(meta.width).toBe(400);
    expect(upload.stillUrl).toBeDefined();
    // A still image has no still.
    const plain = new FormData();
    plain.append("file", new File([new Uint8Array(png(20, 20))], "plain.png"));
    const single = await ok<{ stillUrl?: string }>(
      await t.request("/api/v1/attachments", { method: "POST", headers: alice.headers, body: plain }),
      201,
    );
    expect(single.stillUrl).toBeUndefined();
  });
});
