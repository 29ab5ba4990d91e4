// Upload cost: throughput of POST /api/v1/attachments through the HTTP app (multipart parsing,
// type recognition, SHA-256, quota check, row and file), the time to make the preview of a
// 10 MB JPEG, alone and as part of its whole upload, and the first and later opens of the same
// JPEG as a remote message's file (fetched from a server on loopback, checked, kept).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { uuidv7 } from "uuidv7";
import { createInstance, type Instance } from "../../federation/instance.ts";
import { loadConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/client.ts";
import { actors, attachments } from "../../src/db/schema.ts";
import { signedUrl } from "../../src/media/downloads.ts";
import { makePreview } from "../../src/media/image-previews.ts";
import { percentile, report } from "./support.ts";

async function upload(instance: Instance, token: string, bytes: Uint8Array, name: string): Promise<Response> {
  const form = new FormData();
  form.append("file", new File([new Uint8Array(bytes)], name));
  return await instance.app.request(
    new URL("/api/v1/attachments", instance.config.origin),
    { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form },
    { clientAddress: "198.51.100.1" },
  );
}

/** A JPEG of noise (which compresses badly) of about `target` bytes. */
async function noisyJpeg(target: number): Promise<Uint8Array> {
  const [width, height] = [4000, 3000];
  const raw = randomBytes(width * height * 3);
  let quality = 95;
  for (;;) {
    const jpeg = await sharp(raw, { raw: { width, height, channels: 3 } })
      .jpeg({ quality })
      .toBuffer();
    if (jpeg.length <= target || quality <= 50) return new Uint8Array(jpeg);
    quality -= 1;
  }
}

export async function uploadsBenchmark(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "fedchat-bench-uploads-"));
  const database = await openDatabase({ memory: true });
  const config = loadConfig({
    ORIGIN: "https://bench.example",
    QUEUE_WORKERS: "0",
    DATA_DIR: dataDir,
    RATE_LIMIT_FACTOR: "100000",
    FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
    ATTACHMENT_QUOTA_BYTES: String(10 * 1024 * 1024 * 1024),
  });
  const instance = await createInstance(config, {
    database,
    secrets: { jwtPrivateKey: generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }) },
  });
  try {
    const res = await instance.app.request(
      new URL("/api/v1/auth/register", config.origin),
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "bench_uploader", password: "bench password" }),
      },
      { clientAddress: "198.51.100.1" },
    );
    const { accessToken } = (await res.json()) as { accessToken: string };

    const size = 5 * 1024 * 1024;
    const files = Array.from({ length: 20 }, () => new Uint8Array(randomBytes(size)));
    const started = performance.now();
    for (const [i, bytes] of files.entries()) {
      const answer = await upload(instance, accessToken, bytes, `file-${i}.bin`);
      if (answer.status !== 201) throw new Error(`upload failed: ${answer.status} ${await answer.text()}`);
    }
    const seconds = (performance.now() - started) / 1000;
    report("uploads: 20 × 5 MiB files, one at a time", (files.length * size) / 1024 / 1024 / seconds, "MiB/s");

    const jpeg = await noisyJpeg(10_000_000);
    const meta = await sharp(jpeg).metadata();
    process.stdout.write(`uploads: test JPEG ${meta.width}×${meta.height}, ${(jpeg.length / 1e6).toFixed(2)} MB\n`);
    const previews: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await makePreview(jpeg);
      previews.push(performance.now() - t);
    }
    report("uploads: preview of the 10 MB JPEG, median of 5", percentile(previews, 50), "ms");
    const whole: number[] = [];
    for (let i = 0; i < 3; i++) {
      // A fresh byte at the end makes each upload new content (no shared file).
      const bytes = new Uint8Array([...jpeg.subarray(0, jpeg.length - 2), i, 0xff, 0xd9]);
      const t = performance.now();
      const answer = await upload(instance, accessToken, bytes, `photo-${i}.jpg`);
      whole.push(performance.now() - t);
      if (answer.status !== 201) throw new Error(`upload failed: ${answer.status} ${await answer.text()}`);
    }
    report("uploads: whole upload of the 10 MB JPEG, median of 3", percentile(whole, 50), "ms");

    const remote = http.createServer((_req, res) => res.writeHead(200, { "content-type": "image/jpeg" }).end(jpeg));
    await new Promise<void>((resolve) => remote.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = remote.address() as AddressInfo;
      const [owner] = await database.db.select({ id: actors.id }).from(actors).limit(1);
      const opens: [number, number][] = [];
      for (let i = 0; i < 3; i++) {
        const [row] = await database.db
          .insert(attachments)
          .values({
            id: uuidv7(),
            ownerId: owner?.id as string,
            name: "remote.jpg",
            mediaType: "image/jpeg",
            remoteUrl: `http://127.0.0.1:${port}/remote-${i}.jpg`,
          })
          .returning();
        const url = signedUrl(instance.deps, "file", row?.id as string);
        const open = async () => {
          const t = performance.now();
          const answer = await instance.app.request(url);
          await answer.arrayBuffer();
          if (answer.status !== 200) throw new Error(`open failed: ${answer.status}`);
          return performance.now() - t;
        };
        opens.push([await open(), await open()]);
      }
      report(
        "uploads: first open of a remote 10 MB JPEG, median of 3",
        percentile(
          opens.map((o) => o[0]),
          50,
        ),
        "ms",
      );
      report(
        "uploads: a later open of it (kept), median of 3",
        percentile(
          opens.map((o) => o[1]),
          50,
        ),
        "ms",
      );
    } finally {
      remote.close();
    }
  } finally {
    await instance.close();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
