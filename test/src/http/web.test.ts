import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import { createApp } from "../../../src/http/app.ts";
import { clientPolicy } from "../../../src/http/web.ts";
import { appDeps } from "../../helpers/app-deps.ts";

const config = loadConfig({ ORIGIN: "https://chat.example" });
let dist: string;
const page = "<!doctype html><title>fedchat</title><script type=module src=/assets/index-abc123.js></script>";

function app(web: string | false = dist) {
  // No database: the client's files need none.
  return createApp(appDeps(config), { readiness: async () => ({ ready: true, checks: {} }), web });
}

const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };

beforeAll(() => {
  dist = mkdtempSync(join(tmpdir(), "fedchat-web-"));
  mkdirSync(join(dist, "assets"));
  writeFileSync(join(dist, "index.html"), page);
  writeFileSync(join(dist, "assets", "index-abc123.js"), "console.log(1)");
  writeFileSync(join(dist, "favicon.svg"), "<svg/>");
});
afterAll(() => rmSync(dist, { recursive: true, force: true }));

describe("serving the web client", () => {
  it("serves index.html for the client's pages, under a policy without inline script", async () => {
    for (const path of [
      "/",
      "/rooms/0192c0de-0000-7000-8000-000000000000",
      "/invite/abcdefghijklmnop",
      "/settings",
      "/settings/stickers",
      "/notifications",
      "/contacts",
    ]) {
      const res = await app().request(path, { headers: html });
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("content-security-policy")).toBe(clientPolicy("https://chat.example"));
      expect(await res.text()).toBe(page);
    }
    const policy = clientPolicy("https://chat.example");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self' wss://chat.example");
    expect(policy).not.toContain("unsafe");
  });

  it("serves the page to a client that takes anything (curl), not only to a browser", async () => {
    const anything = [{}, { accept: "*/*" }, { accept: "text/*, */*;q=0.5" }, { accept: "image/png" }];
    for (const headers of anything as Record<string, string>[]) {
      const res = await app().request("/", { headers });
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("vary")).toBe("Accept");
    }
  });

  it("serves hashed assets for a year and other build files by name", async () => {
    const asset = await app().request("/assets/index-abc123.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await asset.text()).toBe("console.log(1)");
    const icon = await app().request("/favicon.svg");
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
    const head = await app().request("/assets/index-abc123.js", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("shows the front page to any request but an ActivityPub one, and other pages to any but JSON", async () => {
    for (const accept of ["application/json", "text/plain", "image/png", "application/xml"]) {
      const res = await app().request("/", { headers: { accept } });
      expect(res.status, accept).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    }
    const image = await app().request("/rooms/x", { headers: { accept: "image/png" } });
    expect(image.status).toBe(200);
  });

  it("never answers server paths, missing assets or non-page requests with the page", async () => {
    for (const path of ["/api/v1/nothing", "/media/avatars/x.png", "/.well-known/nothing", "/problems/nope"]) {
      const res = await app().request(path, { headers: html });
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    const missing = await app().request("/assets/index-gone.js", { headers: html });
    expect(missing.status).toBe(404);
    for (const accept of ["application/json", "application/activity+json, */*;q=0.1"]) {
      const json = await app().request("/rooms/x", { headers: { accept } });
      expect(json.status, accept).toBe(404);
    }
    // The front page has no ActivityPub document: only an ActivityPub request is refused.
    const actor = await app().request("/", { headers: { accept: "application/activity+json" } });
    expect(actor.status).toBe(404);
    // A path the client does not route is not found, for a browser too.
    const unknown = await app().request("/somewhere/else", { headers: html });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-type")).toBe("application/problem+json");
    // Path traversal out of the build folder finds nothing.
    const traversal = await app().request("/assets/..%2F..%2F..%2Fetc%2Fpasswd");
    expect(traversal.status).toBe(404);
    // Other methods keep their 404 (the client is not a catch-all route that would make them 405s).
    const post = await app().request("/settings", { method: "POST", headers: html });
    expect(post.status).toBe(404);
  });

  it("explains a missing build, and serves no client when told not to", async () => {
    const missing = await app(join(dist, "nowhere")).request("/", { headers: html });
    expect(missing.status).toBe(503);
    expect(await missing.text()).toContain("npm run build:web");
    const none = await app(false).request("/", { headers: html });
    expect(none.status).toBe(404);
  });
});
