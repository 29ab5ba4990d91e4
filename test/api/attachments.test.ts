import { readdirSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { federatedUrl, signedUrl } from "../../src/media/downloads.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { expectProblem, png, rows } from "./support.ts";

interface Attachment {
  id: string;
  name: string;
  mediaType: string;
  size: number;
  width?: number;
  height?: number;
  url: string;
  previewUrl?: string;
}
interface Message {
  id: string;
  attachments: Attachment[];
}

const pdf = new TextEncoder().encode(
  "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
);
const html = new TextEncoder().encode("<!doctype html><script>alert(document.cookie)</script>");
let photo: Uint8Array;

let t: TestInstance;
beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "1000" });
  photo = new Uint8Array(
    await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 40, b: 90 } } })
      .jpeg()
      .toBuffer(),
  );
});
afterAll(async () => t.dispose());

async function user(instance: TestInstance, name: string) {
  const res = await instance.request(
    "/api/v1/auth/register",
    json("POST", { username: name, password: "correct horse" }),
  );
  const body = (await res.json()) as { user: { id: string }; accessToken: string };
  return { id: body.user.id, headers: bearer(body.accessToken) };
}
type User = Awaited<ReturnType<typeof user>>;

function upload(instance: TestInstance, who: User | null, bytes: Uint8Array, name: string, type = "") {
  const form = new FormData();
  form.append("file", new File([new Uint8Array(bytes)], name, { type }));
  return instance.request("/api/v1/attachments", { method: "POST", headers: who?.headers ?? {}, body: form });
}

async function uploaded(who: User, bytes: Uint8Array, name: string, type = "") {
  const res = await upload(t, who, bytes, name, type);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Attachment;
}

async function room(owner: User, visibility: "public" | "private" = "private") {
  const res = await t.request("/api/v1/rooms", json("POST", { name: "Files", visibility }, owner.headers));
  return ((await res.json()) as { id: string }).id;
}

async function invite(instance: TestInstance, owner: User, roomId: string, who: User) {
  const invite = await instance.request(`/api/v1/rooms/${roomId}/invites`, json("POST", {}, owner.headers));
  const { code } = (await invite.json()) as { code: string };
  const res = await instance.request(`/api/v1/invites/${code}/accept`, { method: "POST", headers: who.headers });
  expect(res.status).toBe(200);
}

function send(who: User, roomId: string, txn: string, body: Record<string, unknown>) {
  return t.request(`/api/v1/rooms/${roomId}/messages/${txn}`, json("PUT", body, who.headers));
}

/** Rows and stored files, to show that a refusal stored nothing. */
async function stored(instance: TestInstance) {
  const [row] = await rows<{ n: number }>(instance, sql`select count(*)::int as n from attachments`);
  const walk = (dir: string): string[] => {
    try {
      return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
      );
    } catch {
      return [];
    }
  };
  return { rows: Number(row?.n), files: walk(join(instance.config.dataDir, "media")).length };
}

let alice: User;
let bob: User;
let eve: User;
beforeAll(async () => {
  alice = await user(t, "alice");
  bob = await user(t, "bob");
  eve = await user(t, "eve");
});

describe("an image and a PDF in a message", () => {
  let image: Attachment;
  let doc: Attachment;
  let roomId: string;
  let message: Message;

  beforeAll(async () => {
    roomId = await room(alice);
    await invite(t, alice, roomId, bob);
    image = await uploaded(alice, photo, "Holiday été.jpg", "image/jpeg");
    doc = await uploaded(alice, pdf, "Report Q3.pdf", "application/pdf");
    const res = await send(alice, roomId, "files", { content: "Look", attachments: [image.id, doc.id] });
    expect(res.status).toBe(201);
    message = (await res.json()) as Message;
  });

  it("recognises both from their bytes and keeps the original names", () => {
    expect(image).toMatchObject({ name: "Holiday été.jpg", mediaType: "image/jpeg", width: 640, height: 480 });
    expect(image.size).toBe(photo.length);
    expect(image.previewUrl).toMatch(/\/media\/attachments\/.+\/preview\?expires=\d+&signature=/);
    expect(doc).toMatchObject({ name: "Report Q3.pdf", mediaType: "application/pdf", size: pdf.length });
    expect(doc.previewUrl).toBeUndefined();
    expect(message.attachments.map((a) => a.name)).toEqual(["Holiday été.jpg", "Report Q3.pdf"]);
  });

  it("shows them in history and lets a member download them, with safe headers", async () => {
    const res = await t.request(`/api/v1/rooms/${roomId}/messages`, { headers: bob.headers });
    const [seen] = ((await res.json()) as { messages: Message[] }).messages;
    const [picture, report] = seen?.attachments ?? [];
    expect([picture?.name, report?.name]).toEqual(["Holiday été.jpg", "Report Q3.pdf"]);

    const got = await t.request(picture?.url ?? "");
    expect(got.status).toBe(200);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(photo);
    expect(got.headers.get("content-type")).toBe("image/jpeg");
    expect(got.headers.get("x-content-type-options")).toBe("nosniff");
    expect(got.headers.get("content-security-policy")).toContain("sandbox");
    expect(got.headers.get("content-disposition")).toBe(
      `inline; filename="Holiday _t_.jpg"; filename*=UTF-8''Holiday%20%C3%A9t%C3%A9.jpg`,
    );

    const file = await t.request(report?.url ?? "");
    expect(file.status).toBe(200);
    expect(file.headers.get("content-disposition")).toMatch(/^attachment; filename="Report Q3.pdf"/);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(pdf);

    const preview = await t.request(picture?.previewUrl ?? "");
    expect(preview.status).toBe(200);
    expect(preview.headers.get("content-type")).toBe("image/webp");
    const meta = await sharp(new Uint8Array(await preview.arrayBuffer())).metadata();
    expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBeLessThanOrEqual(400);
  });

  it("refuses a non-member: no URL from the API, and a forged signature is refused", async () => {
    await expectProblem(
      await t.request(`/api/v1/attachments/${image.id}`, { headers: eve.headers }),
      404,
      "attachment_not_found",
    );
    await expectProblem(
      await t.request(`/api/v1/rooms/${roomId}/messages`, { headers: eve.headers }),
      404,
      "room_not_found",
    );
    const forged = image.url.replace(/signature=[^&]+/, `signature=${"A".repeat(43)}`);
    await expectProblem(await t.request(forged), 403, "forbidden");
    // A URL signed for the preview does not open the file.
    const swapped = image.url.replace(/signature=[^&]+/, /signature=([^&]+)/.exec(image.previewUrl ?? "")?.[0] ?? "");
    await expectProblem(await t.request(swapped), 403, "forbidden");
    // A member gets fresh URLs.
    const fresh = await t.request(`/api/v1/attachments/${image.id}`, { headers: bob.headers });
    expect(((await fresh.json()) as Attachment).name).toBe("Holiday été.jpg");
  });

  it("refuses a URL once it has expired", async () => {
    const past = Math.floor(Date.now() / 1000) - 1;
    await expectProblem(await t.request(signedUrl(t.deps, "file", image.id, past)), 410, "link_expired");
  });

  it("serves a sent file at its lasting federated URL, and nothing else there", async () => {
    const res = await t.request(federatedUrl(t.deps, doc.id));
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(pdf);
    expect(res.headers.get("content-security-policy")).toContain("sandbox");
    expect(res.headers.get("cache-control")).toMatch(/^public/);
    // Not for the preview, not with an expiring URL's signature, and never a draft.
    const previewPath = federatedUrl(t.deps, doc.id).replace(/\?/, "/preview?");
    await expectProblem(await t.request(previewPath), 403, "forbidden");
    const expiring = /signature=([^&]+)/.exec(doc.url)?.[1] ?? "";
    await expectProblem(await t.request(`/media/attachments/${doc.id}?signature=${expiring}`), 403, "forbidden");
    const draft = await uploaded(alice, pdf, "draft.pdf", "application/pdf");
    await expectProblem(await t.request(federatedUrl(t.deps, draft.id)), 404, "attachment_not_found");
  });
});

describe("a phone's photo", () => {
  it("loses where it was taken and who took it, keeps its pixels and orientation, and shows upright", async () => {
    const photoWithExif = new Uint8Array(
      await sharp({ create: { width: 60, height: 40, channels: 3, background: "#336699" } })
        .jpeg()
        .withExif({ IFD0: { Artist: "Jane Secret" }, IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 24/1" } })
        .withMetadata({ orientation: 6 })
        .toBuffer(),
    );
    const stored = await uploaded(alice, photoWithExif, "IMG_0001.jpg", "image/jpeg");
    // Turned a quarter by its orientation: shown 40 wide and 60 high.
    expect(stored).toMatchObject({ mediaType: "image/jpeg", width: 40, height: 60 });
    const bytes = new Uint8Array(await (await t.request(stored.url)).arrayBuffer());
    expect(stored.size).toBe(bytes.length);
    expect(Buffer.from(bytes).includes(Buffer.from("Jane Secret"))).toBe(false);
    const meta = await sharp(bytes).metadata();
    expect(meta.orientation).toBe(6);
    expect((await sharp(bytes).raw().toBuffer()).equals(await sharp(photoWithExif).raw().toBuffer())).toBe(true);
    const exif = meta.exif ?? Buffer.alloc(0);
    expect(exif.length).toBeLessThan(40); // the orientation alone, no GPS directory
    const preview = await sharp(
      new Uint8Array(await (await t.request(stored.previewUrl ?? "")).arrayBuffer()),
    ).metadata();
    expect([preview.width, preview.height]).toEqual([40, 60]);
  });
});

describe("uploads refused with a code, storing nothing", () => {
  let small: TestInstance;
  let sam: User;
  beforeAll(async () => {
    small = await createTestInstance({
      RATE_LIMIT_FACTOR: "1000",
      ATTACHMENT_MAX_BYTES: "100000",
      IMAGE_MAX_BYTES: "50000",
      ATTACHMENT_QUOTA_BYTES: "150000",
    });
    sam = await user(small, "sam");
  });
  afterAll(async () => small.dispose());

  it.each([
    [
      "a file over the limit",
      () => upload(small, sam, new Uint8Array(120_000).fill(65), "big.txt"),
      413,
      "payload_too_large",
    ],
    [
      "a file over the limit inside the body limit",
      () => upload(small, sam, new Uint8Array(100_001).fill(65), "big.txt"),
      413,
      "payload_too_large",
    ],
    [
      "an image over the image limit",
      () => upload(small, sam, png(64, 64, { padding: 60_000 }), "big.png"),
      413,
      "payload_too_large",
    ],
    [
      "an HTML file renamed photo.jpg",
      () => upload(small, sam, html, "photo.jpg", "image/jpeg"),
      415,
      "media_type_mismatch",
    ],
    ["HTML declared as an image", () => upload(small, sam, html, "page", "image/png"), 415, "media_type_mismatch"],
    [
      "a PNG declaring 30000×30000 pixels",
      () => upload(small, sam, png(30000, 30000), "huge.png"),
      422,
      "validation_failed",
    ],
    ["the file name ../../etc/passwd", () => upload(small, sam, pdf, "../../etc/passwd"), 422, "invalid_filename"],
    ["a file name with a backslash path", () => upload(small, sam, pdf, "..\\..\\boot.ini"), 422, "invalid_filename"],
    ["an upload without a session", () => upload(small, null, pdf, "report.pdf"), 401, "unauthenticated"],
    ["an empty file", () => upload(small, sam, new Uint8Array(), "empty.txt"), 422, "validation_failed"],
  ] as const)("%s", async (_, attempt, status, code) => {
    const before = await stored(small);
    await expectProblem(await attempt(), status, code);
    expect(await stored(small)).toEqual(before);
  });

  it("stops at the storage quota", async () => {
    const files = [0, 1].map((i) => new Uint8Array(70_000).fill(97 + i));
    for (const [i, bytes] of files.entries()) {
      expect((await upload(small, sam, bytes, `part${i}.txt`)).status).toBe(201);
    }
    const before = await stored(small);
    await expectProblem(await upload(small, sam, new Uint8Array(20_000).fill(99), "more.txt"), 413, "quota_exceeded");
    expect(await stored(small)).toEqual(before);
  });
});

describe("the upload rate limit", () => {
  it("refuses uploads past 30 per 10 minutes (scaled by RATE_LIMIT_FACTOR)", async () => {
    const slow = await createTestInstance({ RATE_LIMIT_FACTOR: "0.1" });
    try {
      const uma = await user(slow, "uma");
      for (let i = 0; i < 3; i++) expect((await upload(slow, uma, pdf, `r${i}.pdf`)).status).toBe(201);
      const before = await stored(slow);
      const refused = await upload(slow, uma, pdf, "r3.pdf");
      await expectProblem(refused, 429, "rate_limited");
      expect(await stored(slow)).toEqual(before);
    } finally {
      await slow.dispose();
    }
  });
});

describe("what a message may carry", () => {
  it("takes only the sender's own unsent uploads, at most 10", async () => {
    const roomId = await room(alice, "public");
    await t.request(`/api/v1/rooms/${roomId}/join`, { method: "POST", headers: bob.headers });
    const bobs = await uploaded(bob, pdf, "bob.pdf");
    const res = await send(alice, roomId, "steal", { content: "x", attachments: [bobs.id] });
    await expectProblem(res, 422, "validation_failed");
    const mine = await uploaded(alice, pdf, "mine.pdf");
    expect((await send(alice, roomId, "once", { content: "", attachments: [mine.id] })).status).toBe(201);
    await expectProblem(
      await send(alice, roomId, "twice", { content: "again", attachments: [mine.id] }),
      422,
      "validation_failed",
    );
    const eleven = Array.from({ length: 11 }, () => mine.id);
    await expectProblem(
      await send(alice, roomId, "many", { content: "x", attachments: eleven }),
      422,
      "validation_failed",
    );
    await expectProblem(await send(alice, roomId, "blank", { content: " " }), 422, "validation_failed");
  });

  it("serves SVG and HTML only as downloads, as the bytes say", async () => {
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    for (const [bytes, name, type] of [
      [svg, "logo.svg", "image/svg+xml"],
      [html, "page.html", "text/html"],
    ] as const) {
      const file = await uploaded(alice, bytes, name, type);
      const got = await t.request(file.url);
      expect(got.headers.get("content-disposition")).toMatch(/^attachment;/);
      expect(got.headers.get("content-type")).not.toMatch(/html|svg/);
      expect(got.headers.get("content-security-policy")).toContain("sandbox");
    }
  });
});

describe("file names", () => {
  it("lose their bidi controls and other invisible characters, as stored and as served", async () => {
    const roomId = await room(alice);
    const reversed = await uploaded(alice, new TextEncoder().encode("MZ, or so it says"), "\u202Egnp.exe");
    // U+061C (Arabic letter mark) and U+200B (zero-width space) show nothing but are not
    // controls: they stayed in names until every format character was removed.
    const marked = await uploaded(alice, pdf, "\u2067Report\u2069\u061C\u200B.pdf", "application/pdf");
    expect([reversed.name, marked.name]).toEqual(["gnp.exe", "Report.pdf"]);

    const res = await send(alice, roomId, "names", { content: "", attachments: [reversed.id, marked.id] });
    expect(res.status).toBe(201);
    expect(((await res.json()) as Message).attachments.map((a) => a.name)).toEqual(["gnp.exe", "Report.pdf"]);
    const fresh = (await (
      await t.request(`/api/v1/attachments/${marked.id}`, { headers: alice.headers })
    ).json()) as Attachment;
    expect(fresh.name).toBe("Report.pdf");
    const got = await t.request(fresh.url);
    expect(got.headers.get("content-disposition")).toBe(
      `attachment; filename="Report.pdf"; filename*=UTF-8''Report.pdf`,
    );
  });

  it("cannot hide an extension from the check of the bytes behind an invisible character", async () => {
    // Left in, the zero-width space ended the name, so no extension was found to compare.
    await expectProblem(await upload(t, alice, html, "photo.jpg\u200B"), 415, "media_type_mismatch");
  });
});

describe("unsent uploads", () => {
  it("are listed with the storage used, and their owner alone may delete them", async () => {
    const zoe = await user(t, "zoe");
    const draft = await uploaded(zoe, new TextEncoder().encode("draft one"), "draft.txt");
    const list = async () =>
      (await (await t.request("/api/v1/attachments", { headers: zoe.headers })).json()) as {
        uploads: Attachment[];
        used: number;
        quota: number;
      };
    expect(await list()).toMatchObject({ uploads: [{ id: draft.id, name: "draft.txt" }], used: 9 });
    const del = (who: User) => t.request(`/api/v1/attachments/${draft.id}`, { method: "DELETE", headers: who.headers });
    await expectProblem(await del(alice), 404, "attachment_not_found");
    expect((await del(zoe)).status).toBe(204);
    expect(await list()).toMatchObject({ uploads: [], used: 0 });
    await expectProblem(await t.request(draft.url), 404, "attachment_not_found");
  });
});

describe("deleting a message", () => {
  it("deletes its attachments, and the file once nothing else refers to it", async () => {
    const roomId = await room(alice);
    const bytes = new TextEncoder().encode(`shared ${Date.now()}`);
    const first = await uploaded(alice, bytes, "a.txt");
    const second = await uploaded(alice, bytes, "b.txt");
    const m1 = (await (await send(alice, roomId, "d1", { content: "1", attachments: [first.id] })).json()) as Message;
    const m2 = (await (await send(alice, roomId, "d2", { content: "2", attachments: [second.id] })).json()) as Message;
    const [{ hash } = { hash: "" }] = await rows<{ hash: string }>(
      t,
      sql`select hash from attachments where id = ${first.id}`,
    );
    const path = join(t.config.dataDir, "media", "attachments", hash.slice(0, 2), hash);
    const exists = () => readdirSync(join(path, "..")).includes(hash);

    expect(
      (await t.request(`/api/v1/rooms/${roomId}/messages/${m1.id}`, { method: "DELETE", headers: alice.headers }))
        .status,
    ).toBe(204);
    expect(await rows(t, sql`select 1 from attachments where id = ${first.id}`)).toHaveLength(0);
    expect(exists()).toBe(true);
    expect((await t.request(second.url)).status).toBe(200);
    await expectProblem(await t.request(first.url), 404, "attachment_not_found");

    expect(
      (await t.request(`/api/v1/rooms/${roomId}/messages/${m2.id}`, { method: "DELETE", headers: alice.headers }))
        .status,
    ).toBe(204);
    expect(exists()).toBe(false);
  });

  it("and deleting a room deletes the attachments of all its messages", async () => {
    const roomId = await room(alice);
    const bytes = new TextEncoder().encode(`room file ${Date.now()}`);
    const file = await uploaded(alice, bytes, "room.txt");
    expect((await send(alice, roomId, "r1", { content: "f", attachments: [file.id] })).status).toBe(201);
    const before = (await stored(t)).files;
    expect((await t.request(`/api/v1/rooms/${roomId}`, { method: "DELETE", headers: alice.headers })).status).toBe(204);
    expect(await rows(t, sql`select 1 from attachments where id = ${file.id}`)).toHaveLength(0);
    expect((await stored(t)).files).toBe(before - 1);
  });
});
