import { readdirSync } from "node:fs";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setRole } from "../../src/accounts/admin.ts";
import { queryRows } from "../../src/db/client.ts";
import { customEmoji } from "../../src/db/schema.ts";
import { addEmoji, deleteEmoji, readEmojiFile } from "../../src/emoji/emoji.ts";
import { learnRemoteEmoji, maxEmojiPerHost, maxEmojiTags } from "../../src/emoji/remote.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { expectProblem, png, registerUser } from "./support.ts";

// Server emoji (issue 16, item 5): admins add, rename and delete them; everyone lists them and
// sees them in messages and reactions. A refused upload changes nothing.

interface Emoji {
  id: string;
  shortcode: string;
  url: string;
  mediaType: string;
  width: number | null;
  height: number | null;
}
interface MessageBody {
  id: string;
  content: string;
  emojis: { shortcode: string; url: string }[];
  reactions: { emoji: string; count: number; me: boolean; url?: string }[];
}

let t: TestInstance;
let admin: Record<string, string>;
let plain: Record<string, string>;
let gif: Uint8Array;

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
  admin = bearer((await registerUser(t, "olga")).accessToken);
  plain = bearer((await registerUser(t, "bob")).accessToken);
  await setRole(t.deps, "olga", "admin");
  // Two frames: an animated GIF, kept as it is.
  const frame = (r: number) => ({
    create: { width: 32, height: 32, channels: 4 as const, background: { r, g: 0, b: 0, alpha: 1 } },
  });
  gif = new Uint8Array(
    await sharp([await sharp(frame(255)).png().toBuffer(), await sharp(frame(10)).png().toBuffer()], {
      join: { animated: true },
    })
      .gif({ loop: 0 })
      .toBuffer(),
  );
});
afterAll(async () => t?.dispose());

function upload(headers: Record<string, string>, shortcode: string | null, bytes: Uint8Array, name = "e.png") {
  const form = new FormData();
  if (shortcode != null) form.append("shortcode", shortcode);
  form.append("file", new File([new Uint8Array(bytes)], name));
  return t.request("/api/v1/custom-emoji", { method: "POST", headers, body: form });
}

async function added(shortcode: string, bytes: Uint8Array): Promise<Emoji> {
  const res = await upload(admin, shortcode, bytes);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Emoji;
}

async function list(): Promise<Emoji[]> {
  const res = await t.request("/api/v1/custom-emoji");
  expect(res.status).toBe(200);
  return ((await res.json()) as { emoji: Emoji[] }).emoji;
}

const emojiFiles = () => {
  try {
    return readdirSync(join(t.deps.config.dataDir, "media", "emoji")).filter((f) => !f.startsWith("."));
  } catch {
    return [];
  }
};

describe("server emoji", () => {
  it("lets an admin add a PNG, lists it publicly and serves it from our origin", async () => {
    const blob = await added("blob", png(64, 64));
    expect(blob).toMatchObject({ shortcode: "blob", mediaType: "image/png", width: 64, height: 64 });
    expect(blob.url).toMatch(/^https:\/\/chat\.example\/media\/emoji\/[0-9a-f]{64}\.png$/);
    expect((await list()).map((e) => e.shortcode)).toContain("blob");
    const image = await t.request(new URL(blob.url).pathname);
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/png");
    expect(image.headers.get("content-security-policy")).toContain("sandbox");
  });

  it("keeps an animated GIF's frames", async () => {
    const party = await added("party_blob", gif);
    expect(party.mediaType).toBe("image/gif");
    const bytes = new Uint8Array(await (await t.request(new URL(party.url).pathname)).arrayBuffer());
    expect(bytes).toEqual(gif);
    expect((await sharp(bytes).metadata()).pages).toBe(2);
  });

  it("refuses everyone but an admin, with admin_only, and no one unauthenticated", async () => {
    await expectProblem(await upload(plain, "nope", png(16, 16)), 403, "admin_only");
    await expectProblem(await upload({}, "nope", png(16, 16)), 401, "unauthenticated");
    const [first] = await list();
    await expectProblem(
      await t.request(`/api/v1/custom-emoji/${first?.id}`, json("PATCH", { shortcode: "x_x" }, plain)),
      403,
      "admin_only",
    );
    await expectProblem(
      await t.request(`/api/v1/custom-emoji/${first?.id}`, { method: "DELETE", headers: plain }),
      403,
      "admin_only",
    );
    expect((await list()).map((e) => e.shortcode)).not.toContain("nope");
  });

  it.each([
    ["a one-letter shortcode", "a"],
    ["a shortcode with a dash", "blob-cat"],
    ["a shortcode with colons", ":blob2:"],
    ["a shortcode with a space", "blob cat"],
    ["a shortcode with non-ASCII letters", "café"],
    ["a shortcode too long", "a".repeat(65)],
  ])("refuses %s with validation_failed", async (_what, shortcode) => {
    await expectProblem(await upload(admin, shortcode, png(16, 16)), 422, "validation_failed");
  });

  it("refuses a shortcode taken in any case with shortcode_taken, and a missing one", async () => {
    await expectProblem(await upload(admin, "BLOB", png(16, 16, { seed: 3 })), 409, "shortcode_taken");
    await expectProblem(await upload(admin, null, png(16, 16)), 422, "validation_failed");
  });

  it("refuses images that are too large, too big, not PNG/GIF/WebP or not images, and stores nothing", async () => {
    const before = emojiFiles();
    const jpeg = new Uint8Array(
      await sharp({ create: { width: 16, height: 16, channels: 3, background: "#fff" } })
        .jpeg()
        .toBuffer(),
    );
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    await expectProblem(await upload(admin, "huge", png(300, 300)), 422, "validation_failed");
    await expectProblem(await upload(admin, "heavy", png(250, 250, { padding: 300 * 1024 })), 413, "payload_too_large");
    await expectProblem(await upload(admin, "photo", jpeg, "photo.png"), 415, "unsupported_media_type");
    await expectProblem(await upload(admin, "vector", svg, "v.png"), 415, "unsupported_media_type");
    await expectProblem(await upload(admin, "empty", new Uint8Array(0)), 415, "unsupported_media_type");
    expect(emojiFiles()).toEqual(before);
    expect((await list()).map((e) => e.shortcode).sort()).toEqual(["blob", "party_blob"]);
  });

  it("renames and deletes, refusing a taken name and an unknown id", async () => {
    const temp = await added("temp_one", png(20, 20, { seed: 9 }));
    await expectProblem(
      await t.request(`/api/v1/custom-emoji/${temp.id}`, json("PATCH", { shortcode: "Blob" }, admin)),
      409,
      "shortcode_taken",
    );
    const renamed = await t.request(`/api/v1/custom-emoji/${temp.id}`, json("PATCH", { shortcode: "temp_two" }, admin));
    expect(renamed.status).toBe(200);
    expect(((await renamed.json()) as Emoji).shortcode).toBe("temp_two");
    const files = emojiFiles().length;
    expect((await t.request(`/api/v1/custom-emoji/${temp.id}`, { method: "DELETE", headers: admin })).status).toBe(204);
    expect(emojiFiles().length).toBe(files - 1);
    await expectProblem(
      await t.request(`/api/v1/custom-emoji/${temp.id}`, { method: "DELETE", headers: admin }),
      404,
      "emoji_not_found",
    );
    await expectProblem(await t.request(new URL(temp.url).pathname), 404, "not_found");
  });

  it("shows the emoji a message names and a custom reaction's image", async () => {
    const room = (await (
      await t.request("/api/v1/rooms", json("POST", { name: "Emoji", visibility: "public" }, admin))
    ).json()) as {
      id: string;
    };
    const sent = await t.request(
      `/api/v1/rooms/${room.id}/messages/e1`,
      json("PUT", { content: "hello :blob: and :unknown: and :party_blob:" }, admin),
    );
    expect(sent.status, await sent.clone().text()).toBe(201);
    const message = (await sent.json()) as MessageBody;
    const emoji = await list();
    const url = (code: string) => emoji.find((e) => e.shortcode === code)?.url;
    expect(message.emojis).toEqual([
      { shortcode: "blob", url: url("blob") },
      { shortcode: "party_blob", url: url("party_blob") },
    ]);
    const react = (key: string) =>
      t.request(`/api/v1/rooms/${room.id}/messages/${message.id}/reactions/${encodeURIComponent(key)}`, {
        method: "PUT",
        headers: admin,
      });
    expect((await react(":blob:")).status).toBe(204);
    // Another server's emoji can only be used once known here.
    await expectProblem(await react(":blob@other.example:"), 422, "validation_failed");
    const history = (await (await t.request(`/api/v1/rooms/${room.id}/messages`, { headers: admin })).json()) as {
      messages: MessageBody[];
    };
    const shown = history.messages.find((m) => m.id === message.id);
    expect(shown?.emojis.map((e) => e.shortcode)).toEqual(["blob", "party_blob"]);
    expect(shown?.reactions).toEqual([{ emoji: ":blob:", count: 1, me: true, url: url("blob") }]);
  });

  it("learns another server's emoji only from good tags, and never fetches a private address", async () => {
    const good = { name: ":blob:", url: "http://127.0.0.1:9/blob.png", mediaType: "image/png" };
    const learnt = await learnRemoteEmoji(t.deps, "other.example", [
      good,
      { name: ":bad name:", url: "https://other.example/a.png" },
      { name: "script", url: "javascript:alert(1)" },
      { name: "data", url: "data:image/png;base64,AAAA" },
      { name: "long", url: `https://other.example/${"a".repeat(2100)}` },
      ...Array.from({ length: maxEmojiTags + 5 }, (_, i) => ({ name: `e${i}`, url: `https://other.example/${i}.png` })),
    ]);
    expect(learnt.has("blob")).toBe(true);
    expect([...learnt.keys()].filter((k) => ["bad name", "script", "data", "long"].includes(k))).toEqual([]);
    expect(learnt.size).toBeLessThanOrEqual(maxEmojiTags);
    // Nothing is learnt for this server's own host.
    expect((await learnRemoteEmoji(t.deps, "chat.example", [good])).size).toBe(0);
    const id = learnt.get("blob")?.id;
    // Loopback is not a public address: refused, remembered, and not asked again at once.
    await expectProblem(await t.request(`/media/remote-emoji/${id}`), 404, "not_found");
    const [row] = await t.deps.db
      .select()
      .from(customEmoji)
      .where(eq(customEmoji.id, id as string));
    expect(row?.failedAt).not.toBeNull();
    expect(row?.file).toBeNull();
    await expectProblem(await t.request(`/media/remote-emoji/${id}`), 404, "not_found");
    expect((await list()).map((e) => e.shortcode)).not.toContain("blob@other.example");
  });

  it("looks emoji up by image URL and by server through indexes, not by reading the whole table", async () => {
    const plans = await t.deps.db.transaction(async (tx) => {
      // On a small table the planner would rightly scan it: asked not to, it shows an index exists.
      await tx.execute(sql`set local enable_seqscan = off`);
      const plan = async (query: ReturnType<typeof sql>) =>
        (await queryRows<Record<string, string>>(tx, sql`explain ${query}`)).map((r) => Object.values(r)[0]).join("\n");
      return [
        await plan(sql`select * from custom_emoji where remote_url = ${"https://other.example/a.png"}`),
        await plan(sql`select count(*) from custom_emoji where host = ${"other.example"}`),
      ];
    });
    for (const plan of plans) expect(plan).toMatch(/Index/);
  });

  it("keeps at most the per-server number of emoji, counting once for a batch of new tags", async () => {
    const host = "crowded.example";
    const filler = Array.from({ length: maxEmojiPerHost - 1 }, (_, i) => ({
      id: crypto.randomUUID(),
      shortcode: `f${i}`,
      host,
      remoteUrl: `https://${host}/f${i}.png`,
    }));
    for (let i = 0; i < filler.length; i += 1000) await t.deps.db.insert(customEmoji).values(filler.slice(i, i + 1000));
    const tags = ["f1", "new1", "new2", "new3"].map((name) => ({ name, url: `https://${host}/${name}.png` }));
    const learnt = await learnRemoteEmoji(t.deps, host, tags);
    // The known one (f1) and one new: then the server is full.
    expect([...learnt.keys()].sort()).toEqual(["f1", "new1"]);
    const [row] = await queryRows<{ n: number }>(
      t.deps.db,
      sql`select count(*)::int as n from custom_emoji where host = ${host}`,
    );
    expect(Number(row?.n)).toBe(maxEmojiPerHost);
    // Learnt again: the same rows, nothing added.
    expect([...(await learnRemoteEmoji(t.deps, host, tags)).keys()].sort()).toEqual(["f1", "new1"]);
  });

  it("stores identical images added at once, and keeps a file that a concurrent add still uses", async () => {
    const image = async (r: number) =>
      new Uint8Array(
        await sharp({ create: { width: 8, height: 8, channels: 4, background: { r, g: 40, b: 90, alpha: 1 } } })
          .png()
          .toBuffer(),
      );
    for (let round = 0; round < 4; round++) {
      const bytes = await image(round);
      // The same bytes twice at once: both added, one file.
      const [a, b] = await Promise.all([
        addEmoji(t.deps, `twin_a${round}`, bytes),
        addEmoji(t.deps, `twin_b${round}`, bytes),
      ]);
      expect(a.file).toBe(b.file);
      expect(new Uint8Array((await readEmojiFile(t.deps, a.file as string)).bytes)).toEqual(bytes);
      // Deleting both while the same bytes are added again: the new emoji's file stays.
      const [, , added] = await Promise.all([
        deleteEmoji(t.deps, a.id),
        deleteEmoji(t.deps, b.id),
        addEmoji(t.deps, `twin_c${round}`, bytes),
      ]);
      expect(new Uint8Array((await readEmojiFile(t.deps, added.file as string)).bytes)).toEqual(bytes);
      await deleteEmoji(t.deps, added.id);
    }
  });
});
