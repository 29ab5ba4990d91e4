/**
 * Fuzzes the multipart uploads (every endpoint the OpenAPI document declares with a
 * `multipart/form-data` body: attachments and avatars): hostile file names (path separators,
 * `..`, bidi overrides, NUL, very long, empty), declared types, bytes (random, text, real and
 * broken images, images that claim huge dimensions) and broken multipart envelopes.
 *
 * The property: an answer within the timeout, never a 5xx; a refusal is a coded problem that
 * stored nothing (no row, no file anywhere in the data folder, not even a temporary one); a
 * name the server must refuse (a path, NUL, nothing left once cleaned) is refused; a stored
 * attachment's name is clean; and removing an accepted upload leaves things as they were.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gif1x1, jpeg1x1, png, webp1x1 } from "../api/support.ts";
import { anyBytes, anyString, headerValue, nastyStrings } from "./arbitraries.ts";
import { type Endpoint, endpointsOf, fillPath } from "./endpoints.ts";
import {
  type Answer,
  api,
  expectNoCrash,
  expectUnchanged,
  type FuzzServer,
  type FuzzUser,
  formatLog,
  fuzzParameters,
  observe,
  preview,
  problemOf,
  propertyTimeoutMs,
  send,
  signUp,
  startFuzzServer,
} from "./support.ts";

let server: FuzzServer;
let me: FuzzUser;
let roomId: string;
let uploads: Endpoint[];

beforeAll(async () => {
  server = await startFuzzServer();
  me = await signUp(server, "uploader");
  roomId = (
    await api<{ id: string }>(server, me, "POST", "/api/v1/rooms", { name: "Uploads", visibility: "public" }, 201)
  ).id;
  uploads = endpointsOf(await api(server, null, "GET", "/api/v1/openapi.json")).filter((e) => e.multipart);
  expect(uploads.map((e) => `${e.method} ${e.path}`)).toContain("POST /api/v1/attachments");
}, 60_000);

afterAll(async () => {
  await server?.close();
});

/** Every file in the data folder but the embedded database's. */
function dataFiles(): string[] {
  return readdirSync(server.dataDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !path.includes("/pglite"))
    .sort();
}

/** A PNG header that claims a size no server should decode. */
function pngClaiming(width: number, height: number): Uint8Array {
  const image = Buffer.from(png(1, 1));
  image.writeUInt32BE(width, 16);
  image.writeUInt32BE(height, 20);
  return new Uint8Array(image);
}

const fileBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: anyBytes },
  { weight: 1, arbitrary: anyString.map((s) => new Uint8Array(Buffer.from(s, "utf8"))) },
  { weight: 2, arbitrary: fc.constantFrom(png(2, 2), gif1x1, jpeg1x1, webp1x1, png(64, 64, { seed: 3 })) },
  {
    weight: 2,
    // A real image cut short, or with bytes flipped.
    arbitrary: fc
      .tuple(
        fc.constantFrom(png(8, 8), gif1x1, jpeg1x1, webp1x1),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        fc.boolean(),
      )
      .map(([image, at, noise, truncate]) => {
        const cut = new Uint8Array(image.subarray(0, Math.max(1, at % image.length)));
        return truncate ? cut : new Uint8Array(Buffer.concat([cut, noise, image.subarray(cut.length + noise.length)]));
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      pngClaiming(100_000, 100_000),
      pngClaiming(0, 0),
      pngClaiming(0x7fffffff, 1),
      new Uint8Array(Buffer.concat([Buffer.from("GIF89a"), Buffer.from([0xff, 0xff, 0xff, 0xff])])),
      new Uint8Array(deflateSync(Buffer.alloc(100_000))),
      new Uint8Array(Buffer.from("<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>")),
      new Uint8Array(Buffer.from("%PDF-1.4\n%\xff\xff\n", "latin1")),
    ),
  },
);

/** File names as a client might send them. */
const fileName = fc.oneof(
  { weight: 3, arbitrary: anyString },
  { weight: 2, arbitrary: fc.constantFrom(...nastyStrings) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "../../etc/passwd",
      "..\\..\\windows\\win.ini",
      "/etc/passwd",
      "a/b.png",
      "..",
      ".",
      "",
      " ",
      "\u202egpj.exe",
      "photo\u202e.jpg",
      "x.png\u0000.exe",
      "CON",
      "a.PNG",
      "a.txt",
      "a.jpg",
      ".htaccess",
      "\u200b",
      "\u0007bell.txt",
      `${"a".repeat(300)}.png`,
      `${"a".repeat(5000)}`,
      "💩".repeat(250),
    ),
  },
);

/** How a part names its file. */
type Naming = "quoted" | "none" | "star";

interface Upload {
  endpoint: Endpoint;
  field: string;
  name: string;
  naming: Naming;
  declared: string | undefined;
  bytes: Uint8Array;
  envelope: "ok" | "no-end" | "wrong-boundary" | "no-boundary" | "twice";
}

/** The name as a browser writes it in the part's header (HTML's encoding of `"`, CR and LF). */
function encodedName(name: string): string {
  return name.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** The name the server reads back: the header's bytes as UTF-8 (a lone surrogate is lost). */
function nameAsSeen(name: string): string {
  return Buffer.from(encodedName(name), "utf8").toString("utf8");
}

function multipartBody(upload: Upload): { type: string; body: Buffer } {
  const boundary = `----fuzz${Math.random().toString(36).slice(2)}`;
  const disposition =
    upload.naming === "none"
      ? `form-data; name="${upload.field}"`
      : upload.naming === "star"
        ? `form-data; name="${upload.field}"; filename*=UTF-8''${encodeURIComponent(upload.name.toWellFormed())}`
        : `form-data; name="${upload.field}"; filename="${encodedName(upload.name)}"`;
  const part = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n`, "utf8"),
    Buffer.from(upload.declared === undefined ? "" : `Content-Type: ${upload.declared}\r\n`, "latin1"),
    Buffer.from("\r\n"),
    upload.bytes,
    Buffer.from("\r\n"),
  ]);
  const parts = upload.envelope === "twice" ? [part, part] : [part];
  const end = upload.envelope === "no-end" ? "" : `--${boundary}--\r\n`;
  const type =
    upload.envelope === "no-boundary"
      ? "multipart/form-data"
      : `multipart/form-data; boundary=${upload.envelope === "wrong-boundary" ? "other" : boundary}`;
  return { type, body: Buffer.concat([...parts, Buffer.from(end)]) };
}

/** Whether the server must refuse this upload whatever its bytes. */
function mustRefuse(upload: Upload): boolean {
  const field = upload.endpoint.multipart?.fields[0];
  // No file in the field: a broken envelope, another field, two files, a part without a file
  // name (a text field), or no bytes.
  if (upload.envelope !== "ok" || upload.naming === "none" || upload.field !== field || upload.bytes.length === 0) {
    return true;
  }
  // Only attachments keep the name; an RFC 8187 name is the parser's to read.
  if (upload.endpoint.path !== "/api/v1/attachments" || upload.naming === "star") return false;
  const seen = nameAsSeen(upload.name);
  // A path, NUL, or nothing once controls and bidi overrides are gone.
  return (
    /[/\\]/.test(seen) ||
    seen.includes("\u0000") ||
    seen.replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, "").trim() === ""
  );
}

/** What a stored attachment's name must be: one clean line of text, not a path, bounded. */
function checkStoredName(label: string, name: unknown): void {
  if (typeof name !== "string" || name === "" || !name.isWellFormed())
    throw new Error(`${label}: stored the name ${JSON.stringify(name)}`);
  if (/[/\\\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(name) || name === "." || name === "..") {
    throw new Error(`${label}: stored the unsafe name ${JSON.stringify(name)}`);
  }
  if ([...name].length > 200) throw new Error(`${label}: stored a name of ${[...name].length} characters`);
}

async function exercise(upload: Upload): Promise<void> {
  const path = fillPath(upload.endpoint.path, { roomId });
  const { type, body } = multipartBody(upload);
  const label =
    `${upload.endpoint.method} ${path} field ${JSON.stringify(upload.field)} name ${preview(upload.name, 120)} (${upload.naming}) ` +
    `type ${JSON.stringify(upload.declared)} envelope ${upload.envelope} bytes ${preview(upload.bytes, 60)} (${upload.bytes.length})`;
  const before = await server.snapshot();
  const filesBefore = dataFiles();
  const seen = await observe(server, async () => ({
    answer: await send(server.url, upload.endpoint.method, path, {
      headers: { authorization: `Bearer ${me.token}`, "content-type": type },
      body,
    }),
  }));
  const answer: Answer = seen.answer;
  const context = () =>
    `${label}\n  -> ${answer.status} ${preview(answer.text, 400)}` +
    seen.errors.map((r) => `\n  log: ${formatLog(r)}`).join("");
  if (answer.status >= 500) throw new Error(`a ${answer.status} answer to ${context()}`);
  expectNoCrash(label, seen);
  const filesAfter = dataFiles();
  if (answer.status >= 400 || mustRefuse(upload)) {
    try {
      problemOf(answer);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n  for ${context()}`);
    }
    expectUnchanged(`${context()}\n  which`, before, await server.snapshot());
    const added = filesAfter.filter((f) => !filesBefore.includes(f));
    if (added.length > 0) throw new Error(`${context()}\n  left files behind: ${added.join(", ")}`);
    return;
  }
  const outside = filesAfter.filter((f) => !filesBefore.includes(f) && !f.startsWith(join(server.dataDir, "media")));
  if (outside.length > 0) throw new Error(`${context()}\n  wrote outside the media folder: ${outside.join(", ")}`);
  if (upload.endpoint.path === "/api/v1/attachments") {
    const stored = JSON.parse(answer.text) as { id: string; name: unknown };
    checkStoredName(context(), stored.name);
    // Taking the upload back leaves no trace of it.
    await api(server, me, "DELETE", `/api/v1/attachments/${stored.id}`, undefined, 204);
    expectUnchanged(`${context()}\n  then its removal`, before, await server.snapshot());
    const left = dataFiles().filter((f) => !filesBefore.includes(f));
    if (left.length > 0) throw new Error(`${context()}\n  then its removal left files: ${left.join(", ")}`);
  }
}

describe("multipart uploads", () => {
  it(
    "refuse hostile files with a coded problem that stored nothing, or store them cleanly",
    async () => {
      const input = fc
        .record({
          endpoint: fc.constantFrom(...uploads),
          field: fc.oneof(
            { weight: 8, arbitrary: fc.constant("file") },
            { weight: 1, arbitrary: fc.constantFrom("File", "file[]", "", "avatar") },
          ),
          name: fileName,
          naming: fc.constantFrom<Naming>("quoted", "quoted", "quoted", "quoted", "none", "star"),
          declared: fc.option(
            fc.oneof(
              fc.constantFrom(
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "image/svg+xml",
                "text/plain",
                "text/html",
                "application/octet-stream",
                "application/x-msdownload",
                "",
              ),
              headerValue,
            ),
            { nil: undefined },
          ),
          bytes: fileBytes,
          envelope: fc.constantFrom(
            "ok",
            "ok",
            "ok",
            "ok",
            "ok",
            "ok",
            "no-end",
            "wrong-boundary",
            "no-boundary",
            "twice",
          ),
        })
        .map((upload) => upload as Upload);
      await fc.assert(fc.asyncProperty(input, exercise), fuzzParameters(100));
    },
    propertyTimeoutMs,
  );
});
