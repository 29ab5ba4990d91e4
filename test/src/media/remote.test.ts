import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../../src/errors.ts";
import { fetchRemoteMedia, isPrivateAddress } from "../../../src/media/remote.ts";
import { png } from "../../api/support.ts";

const image = png(8, 8);
let server: Server;
let base: string;
let hits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    const path = req.url ?? "/";
    if (path.startsWith("/image")) {
      res.writeHead(200, { "content-type": "text/html" }); // a lie: the bytes decide
      res.end(image);
    } else if (path === "/big") {
      res.writeHead(200); // no Content-Length: counted while streaming
      res.end(Buffer.alloc(4096, 1));
    } else if (path === "/declared-big") {
      res.writeHead(200, { "content-length": "999999999" });
      res.end();
    } else if (path === "/slow") {
      setTimeout(() => res.end("late"), 2000);
    } else if (path.startsWith("/redirect/")) {
      res.writeHead(302, { location: decodeURIComponent(path.slice("/redirect/".length)) });
      res.end();
    } else if (path === "/loop") {
      res.writeHead(302, { location: "/loop" });
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const allowed = () => ({ allowPrivateAddress: true });
const strict = () => ({ allowPrivateAddress: false });
const limits = { maxBytes: 1024, timeoutMs: 500, maxRedirects: 2 };

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) {
      return error.code === "remote_unreachable" ? (error.details as { reason: string }).reason : error.code;
    }
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("fetchRemoteMedia", () => {
  it("fetches the bytes as they are, whatever the server says they are", async () => {
    const media = await fetchRemoteMedia(allowed(), `${base}/image`, { limits });
    expect(media.bytes).toEqual(image);
    expect(media.finalUrl).toBe(`${base}/image`);
  });

  it("follows a few redirects and refuses more", async () => {
    const media = await fetchRemoteMedia(allowed(), `${base}/redirect/${encodeURIComponent("/image?r")}`, { limits });
    expect(media.finalUrl).toBe(`${base}/image?r`);
    expect(await reason(fetchRemoteMedia(allowed(), `${base}/loop`, { limits }))).toBe("redirects");
  });

  it("stops at the size bound, declared or streamed, and at the time bound", async () => {
    expect(await reason(fetchRemoteMedia(allowed(), `${base}/big`, { limits }))).toBe("payload_too_large");
    expect(await reason(fetchRemoteMedia(allowed(), `${base}/declared-big`, { limits }))).toBe("payload_too_large");
    expect(await reason(fetchRemoteMedia(allowed(), `${base}/slow`, { limits }))).toBe("timeout");
    expect(await reason(fetchRemoteMedia(allowed(), `${base}/missing`, { limits }))).toBe("status");
  });

  it("keeps the start of a long body when told to cut it, declared or streamed", async () => {
    const big = await fetchRemoteMedia(allowed(), `${base}/big`, { limits, truncate: true });
    expect(big.bytes).toEqual(new Uint8Array(1024).fill(1));
    expect(big.truncated).toBe(true);
    const small = await fetchRemoteMedia(allowed(), `${base}/image`, { limits, truncate: true });
    expect(small).toMatchObject({ bytes: image, truncated: false, contentType: "text/html" });
  });

  it("refuses an answer whose declared type is not wanted, before reading it", async () => {
    const onlyImages = (type: string | undefined) => type?.startsWith("image/") === true;
    const answer = fetchRemoteMedia(allowed(), `${base}/image`, { limits, acceptContentType: onlyImages });
    expect(await reason(answer)).toBe("media_type");
  });

  it("refuses loopback and private addresses unless allowed, by literal or by name", async () => {
    expect(await reason(fetchRemoteMedia(strict(), `${base}/image?strict`, { limits }))).toBe("private_address");
    const port = (server.address() as AddressInfo).port;
    expect(await reason(fetchRemoteMedia(strict(), `http://localhost:${port}/image`, { limits }))).toBe(
      "private_address",
    );
    // A name with one public and one private address is refused: every address is checked.
    const mixed = async () => ["93.184.215.14", "10.1.2.3"];
    expect(await reason(fetchRemoteMedia(strict(), "http://mixed.example/x", { limits, resolve: mixed }))).toBe(
      "private_address",
    );
    expect(await reason(fetchRemoteMedia(strict(), "file:///etc/passwd", { limits }))).toBe("scheme");
    expect(await reason(fetchRemoteMedia(strict(), "http://user:pw@example.com/", { limits }))).toBe("credentials");
  });

  it("checks every redirect again: a public host may not redirect to a private one", async () => {
    // The loopback server stands for a public host (the policy lets exactly it through); the
    // redirect target's name resolves to a private address.
    const port = (server.address() as AddressInfo).port;
    const resolve = async (host: string) => (host === "public.example" ? ["127.0.0.1"] : ["192.168.1.10"]);
    const allowAddress = (address: string) => address === "127.0.0.1" || !isPrivateAddress(address);
    const options = { limits, resolve, allowAddress };
    const ok = await fetchRemoteMedia(strict(), `http://public.example:${port}/image?public`, options);
    expect(ok.bytes).toEqual(image);
    const target = encodeURIComponent("http://intranet.example/secret");
    const before = hits;
    expect(await reason(fetchRemoteMedia(strict(), `http://public.example:${port}/redirect/${target}`, options))).toBe(
      "private_address",
    );
    expect(hits).toBe(before + 1); // only the redirect itself was fetched
  });
});

describe("isPrivateAddress", () => {
  it.each([
    ["127.0.0.1", true],
    ["10.0.0.1", true],
    ["172.20.1.1", true],
    ["192.168.0.1", true],
    ["169.254.169.254", true],
    ["100.64.0.1", true],
    ["0.0.0.0", true],
    ["::1", true],
    ["fd00::1", true],
    ["fe80::1", true],
    ["::ffff:127.0.0.1", true],
    ["::ffff:7f00:1", true],
    ["93.184.215.14", false],
    ["2606:2800:21f:cb07:6820:80da:af6b:8b2c", false],
    ["not an address", true],
  ])("%s → %s", (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});
