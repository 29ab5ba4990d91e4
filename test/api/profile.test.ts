import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setRole } from "../../src/accounts/admin.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import {
  type ApiUser,
  avatarForm,
  countUsers,
  expectProblem,
  gif1x1,
  jpeg1x1,
  type LoggedIn,
  peek,
  png,
  registerUser,
  webp1x1,
} from "./support.ts";

let t: TestInstance;
let alice: LoggedIn;

beforeAll(async () => {
  t = await createTestInstance({ RATE_LIMIT_FACTOR: "100" });
  alice = await registerUser(t, "alice", undefined, { displayName: "Alice" });
});
afterAll(async () => {
  await t?.dispose();
});

const me = async (session: LoggedIn) => {
  const res = await t.request("/api/v1/me", { headers: bearer(session.accessToken) });
  expect(res.status).toBe(200);
  return (await res.json()) as ApiUser;
};

const patchMe = (session: LoggedIn, body: Record<string, unknown>) =>
  t.request("/api/v1/me", json("PATCH", body, bearer(session.accessToken)));

const uploadAvatar = (session: LoggedIn | undefined, body: BodyInit, headers: Record<string, string> = {}) =>
  t.request("/api/v1/me/avatar", {
    method: "PUT",
    headers: { ...(session ? bearer(session.accessToken) : {}), ...headers },
    body,
  });

/** The files in the avatar folder, so that a refused upload can be shown to leave nothing behind. */
const avatarFiles = () => {
  try {
    return readdirSync(join(t.config.dataDir, "media", "avatars")).sort();
  } catch {
    return [];
  }
};

const mediaPath = (url: string | null) => new URL(url ?? "about:blank").pathname;

describe("GET and PATCH /api/v1/me", () => {
  it("needs a session", async () => {
    await expectProblem(await t.request("/api/v1/me"), 401, "unauthenticated");
    await expectProblem(await t.request("/api/v1/me", json("PATCH", { bio: "x" })), 401, "unauthenticated");
  });

  it("returns the logged-in user", async () => {
    expect(await me(alice)).toMatchObject({
      id: alice.user.id,
      username: "alice",
      handle: "alice@chat.example",
      displayName: "Alice",
      url: "https://chat.example/users/alice",
      role: "user",
    });
  });

  it("tells an admin of the instance their role, and only them", async () => {
    const olga = await registerUser(t, "olga");
    expect(alice.user).toMatchObject({ role: "user" });
    await setRole(t.deps, "olga", "admin");
    expect(await me(olga)).toMatchObject({ username: "olga", role: "admin" });
    const profile = (await (await t.request("/api/v1/users/olga")).json()) as Record<string, unknown>;
    expect(profile).not.toHaveProperty("role");
    await setRole(t.deps, "olga", "user");
    expect(await me(olga)).toMatchObject({ role: "user" });
  });

  it("changes the display name, bio and colour; the bio keeps its line breaks and the colour is lowercased", async () => {
    const session = await registerUser(t, "bob");
    const bio = "Hello\nworld\n\nSecond paragraph";
    const res = await patchMe(session, { displayName: "Bob \u202ESmith\u200B", bio, color: "#AABBCC" });
    expect(res.status, await peek(res)).toBe(200);
    expect(await res.json()).toMatchObject({ displayName: "Bob Smith", bio, color: "#aabbcc" });
    expect(await me(session)).toMatchObject({ displayName: "Bob Smith", bio, color: "#aabbcc" });

    const onlyBio = await patchMe(session, { bio: "Windows\r\nline ends" });
    expect(await onlyBio.json()).toMatchObject({
      displayName: "Bob Smith",
      bio: "Windows\nline ends",
      color: "#aabbcc",
    });
    const cleared = await patchMe(session, { color: null });
    expect(await cleared.json()).toMatchObject({ bio: "Windows\nline ends", color: null });
  });

  it("accepts a bio of 500 characters and refuses 501", async () => {
    const session = await registerUser(t, "carol");
    const bio500 = `${"a".repeat(249)}\n${"b".repeat(250)}`;
    const ok = await patchMe(session, { bio: bio500 });
    expect(ok.status, await peek(ok)).toBe(200);
    await expectProblem(await patchMe(session, { bio: `${bio500}c` }), 422, "validation_failed");
    expect((await me(session)).bio).toBe(bio500);
  });

  it.each([
    ["a colour name", { color: "red" }],
    ["a short colour", { color: "#abc" }],
    ["a colour with alpha", { color: "#aabbccdd" }],
    ["an empty display name", { displayName: "" }],
    ["an invisible display name", { displayName: "\u202E\u200B" }],
    ["a display name of 65 characters", { displayName: "x".repeat(65) }],
  ])("refuses %s with validation_failed and changes nothing", async (_, body) => {
    const session = await registerUser(t, `dave_${Math.random().toString(36).slice(2, 10)}`);
    await patchMe(session, { displayName: "Dave", bio: "Before", color: "#123456" });
    const problem = await expectProblem(await patchMe(session, body), 422, "validation_failed");
    expect(problem.details).toContainEqual(expect.objectContaining({ path: Object.keys(body)[0] }));
    expect(await me(session)).toMatchObject({ displayName: "Dave", bio: "Before", color: "#123456" });
  });
});

describe("avatars", () => {
  it("stores a PNG under a server-generated name and serves it with its type, nosniff and a sandboxing CSP", async () => {
    const session = await registerUser(t, "erin");
    const bytes = png(4, 3);
    const res = await uploadAvatar(session, avatarForm(bytes, "../../evil name.html", "text/html"));
    expect(res.status, await peek(res)).toBe(200);
    const user = (await res.json()) as ApiUser;
    expect(user.avatarUrl).toMatch(
      /^https:\/\/chat\.example\/media\/avatars\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.png$/,
    );
    expect((await me(session)).avatarUrl).toBe(user.avatarUrl);

    // What a browser's <img> sends: it must not be taken for an ActivityPub request.
    const image = await t.request(mediaPath(user.avatarUrl), {
      headers: { accept: "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8" },
    });
    expect(image.status).toBe(200);
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(bytes);
    expect(image.headers.get("content-type")).toBe("image/png");
    expect(image.headers.get("x-content-type-options")).toBe("nosniff");
    expect(image.headers.get("content-security-policy")).toContain("sandbox");
  });

  it("lets other sites' clients embed an avatar (Cross-Origin-Resource-Policy: cross-origin)", async () => {
    const session = await registerUser(t, "erin_corp");
    const res = await uploadAvatar(session, avatarForm(png(2, 2), "a.png", "image/png"));
    const image = await t.request(mediaPath(((await res.json()) as ApiUser).avatarUrl));
    expect(image.status).toBe(200);
    // Remote instances' web clients show our users' avatars with <img>; same-site would block them.
    expect(image.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
  });

  it.each([
    ["PNG", png(1, 1), "png", "image/png"],
    ["JPEG", jpeg1x1, "jpg", "image/jpeg"],
    ["WebP", webp1x1, "webp", "image/webp"],
    ["GIF", gif1x1, "gif", "image/gif"],
  ])("recognises a %s from its bytes, not from its name or declared type", async (format, bytes, extension, type) => {
    const session = await registerUser(t, `frank_${extension}`);
    const res = await uploadAvatar(session, avatarForm(bytes, "avatar.svg", "image/svg+xml"));
    expect(res.status, await peek(res)).toBe(200);
    const { avatarUrl } = (await res.json()) as ApiUser;
    expect(avatarUrl, format).toMatch(new RegExp(`\\.${extension}$`));
    const image = await t.request(mediaPath(avatarUrl));
    expect(image.headers.get("content-type")).toBe(type);
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(bytes);
  });

  it("replaces the old file on a second upload, and removes it on DELETE", async () => {
    const session = await registerUser(t, "grace");
    const first = (await (await uploadAvatar(session, avatarForm(png(2, 2), "a.png", "image/png"))).json()) as ApiUser;
    const secondBytes = png(3, 3, { seed: 7 });
    const res = await uploadAvatar(session, avatarForm(secondBytes, "b.png", "image/png"));
    const second = (await res.json()) as ApiUser;
    expect(second.avatarUrl).not.toBe(first.avatarUrl);
    await expectProblem(await t.request(mediaPath(first.avatarUrl)), 404, "not_found");
    const image = await t.request(mediaPath(second.avatarUrl));
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(secondBytes);

    const removed = await t.request("/api/v1/me/avatar", { method: "DELETE", headers: bearer(session.accessToken) });
    expect(removed.status).toBe(200);
    expect(((await removed.json()) as ApiUser).avatarUrl).toBeNull();
    expect((await me(session)).avatarUrl).toBeNull();
    await expectProblem(await t.request(mediaPath(second.avatarUrl)), 404, "not_found");
    expect(avatarFiles().filter((f) => second.avatarUrl?.endsWith(f) || first.avatarUrl?.endsWith(f))).toEqual([]);
  });

  it("keeps only the current file when uploads race", async () => {
    const session = await registerUser(t, "grace_race");
    const filesBefore = avatarFiles();
    const seeds = [1, 2, 3, 4, 5, 6];
    const results = await Promise.all(
      seeds.map((seed) => uploadAvatar(session, avatarForm(png(2, 2, { seed }), "a.png", "image/png"))),
    );
    expect(results.map((res) => res.status)).toEqual(seeds.map(() => 200));
    const current = (await me(session)).avatarUrl ?? "";
    const added = avatarFiles().filter((f) => !filesBefore.includes(f));
    // Every replaced image must be gone: a user who changed their picture expects the old one unpublished.
    expect(added.map((f) => `https://chat.example/media/avatars/${f}`)).toEqual([current]);
  });

  describe("refusals: each has its code and leaves the avatar and the files as they were", () => {
    let session: LoggedIn;
    let before: string | null;

    beforeAll(async () => {
      session = await registerUser(t, "heidi");
      const res = await uploadAvatar(session, avatarForm(png(2, 2), "a.png", "image/png"));
      before = ((await res.json()) as ApiUser).avatarUrl;
      expect(before).not.toBeNull();
    });

    const expectUnchanged = async (files: string[]) => {
      expect((await me(session)).avatarUrl).toBe(before);
      expect(avatarFiles()).toEqual(files);
      expect((await t.request(mediaPath(before))).status).toBe(200);
    };

    const text = (s: string) => new TextEncoder().encode(s);
    it.each([
      [
        "an HTML file named avatar.png",
        avatarForm(text("<!doctype html><script>alert(1)</script>"), "avatar.png", "image/png"),
        415,
        "unsupported_media_type",
      ],
      [
        "an SVG",
        avatarForm(
          text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
          "a.svg",
          "image/svg+xml",
        ),
        415,
        "unsupported_media_type",
      ],
      ["an empty file", avatarForm(new Uint8Array(), "a.png", "image/png"), 415, "unsupported_media_type"],
      [
        "a PNG that declares 20000×20000 pixels",
        avatarForm(png(20_000, 20_000), "big.png", "image/png"),
        422,
        "validation_failed",
      ],
      ["a 4097×1 PNG", avatarForm(png(4097, 1), "wide.png", "image/png"), 422, "validation_failed"],
      [
        "a PNG of more than 2 MB",
        avatarForm(png(2, 2, { padding: 2 * 1024 * 1024 }), "fat.png", "image/png"),
        413,
        "payload_too_large",
      ],
    ])("refuses %s", async (_, form, status, code) => {
      const files = avatarFiles();
      await expectProblem(await uploadAvatar(session, form), status, code);
      await expectUnchanged(files);
    });

    it("refuses a 50 MB body by its declared length, before reading it", async () => {
      const files = avatarFiles();
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          sent += 64 * 1024;
          if (sent > 50 * 1024 * 1024) controller.close();
          else controller.enqueue(new Uint8Array(64 * 1024));
        },
      });
      const res = await t.request("/api/v1/me/avatar", {
        method: "PUT",
        headers: {
          ...bearer(session.accessToken),
          "content-type": "multipart/form-data; boundary=x",
          "content-length": String(50 * 1024 * 1024),
        },
        body,
        duplex: "half",
      } as RequestInit);
      await expectProblem(res, 413, "payload_too_large");
      expect(sent).toBeLessThan(10 * 1024 * 1024);
      await expectUnchanged(files);
    });

    it("refuses a 50 MB body streamed without a declared length, without reading all of it", async () => {
      const files = avatarFiles();
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          sent += 64 * 1024;
          if (sent > 50 * 1024 * 1024) controller.close();
          else controller.enqueue(new Uint8Array(64 * 1024));
        },
      });
      const res = await t.request("/api/v1/me/avatar", {
        method: "PUT",
        headers: { ...bearer(session.accessToken), "content-type": "multipart/form-data; boundary=x" },
        body,
        duplex: "half",
      } as RequestInit);
      await expectProblem(res, 413, "payload_too_large");
      expect(sent).toBeLessThan(10 * 1024 * 1024);
      await expectUnchanged(files);
    });

    it("refuses a body that is not multipart with unsupported_media_type, and a form without the file", async () => {
      const files = avatarFiles();
      await expectProblem(
        await uploadAvatar(session, new Uint8Array(png(2, 2)), { "content-type": "image/png" }),
        415,
        "unsupported_media_type",
      );
      const form = new FormData();
      form.append("file", "not a file");
      await expectProblem(await uploadAvatar(session, form), 422, "validation_failed");
      await expectUnchanged(files);
    });

    it("refuses an upload without a session", async () => {
      const files = avatarFiles();
      await expectProblem(
        await uploadAvatar(undefined, avatarForm(png(2, 2), "a.png", "image/png")),
        401,
        "unauthenticated",
      );
      await expectUnchanged(files);
    });
  });

  it.each([
    "/media/avatars/..%2f..%2fcanary.png",
    "/media/avatars/..%2F..%2Fcanary.png",
    "/media/avatars/%2e%2e%2f%2e%2e%2fcanary.png",
    "/media/avatars/....%2f%2f....%2f%2fcanary.png",
    "/media/avatars/..%5c..%5ccanary.png",
    "/media/avatars/canary.png",
    "/media/avatars/avatar.png",
    "/media/avatars/00000000-0000-4000-8000-000000000000.png",
  ])("GET %s is a 404 problem, never a file", async (path) => {
    // A file that a traversal out of the avatar folder would reach.
    mkdirSync(join(t.config.dataDir, "media", "avatars"), { recursive: true });
    writeFileSync(join(t.config.dataDir, "canary.png"), "CANARY");
    writeFileSync(join(t.config.dataDir, "media", "canary.png"), "CANARY");
    const res = await t.request(path);
    const problem = await expectProblem(res, 404, "not_found");
    expect(JSON.stringify(problem)).not.toContain("CANARY");
  });
});

describe("public profiles", () => {
  it("finds a user by alice, ALICE@chat.example and @alice", async () => {
    for (const handle of ["alice", "ALICE@chat.example", "@alice", "@alice@chat.example"]) {
      const res = await t.request(`/api/v1/users/${handle}`);
      expect(res.status, handle).toBe(200);
      const user = (await res.json()) as Record<string, unknown>;
      expect(user).toMatchObject({ id: alice.user.id, username: "alice", handle: "alice@chat.example" });
      expect(Object.keys(user).sort()).toEqual(
        [
          "avatarUrl",
          "bio",
          "bot",
          "color",
          "createdAt",
          "displayName",
          "fields",
          "handle",
          "id",
          "url",
          "username",
        ].sort(),
      );
    }
  });

  it("refuses a NUL byte in a path as invalid text, not with a server error or a file", async () => {
    await expectProblem(await t.request("/api/v1/users/alice%00"), 422, "validation_failed");
    await expectProblem(
      await t.request("/media/avatars/00000000-0000-4000-8000-000000000000.png%00.png"),
      422,
      "validation_failed",
    );
  });

  it.each(["nobody", "alice@other.example", "alice@chat.example@x", "@", "..%2fadmin"])(
    "answers %s with user_not_found",
    async (handle) => {
      await expectProblem(await t.request(`/api/v1/users/${handle}`), 404, "user_not_found");
    },
  );
});

describe("federation views of a user", () => {
  const activityJson = { accept: "application/activity+json" };

  it("serves the Person: names, escaped bio, avatar icon and keys", async () => {
    const session = await registerUser(t, "ivan", undefined, { displayName: "Ivan the <b>Bold</b>" });
    await patchMe(session, { bio: 'I like <script>alert(1)</script> & "quotes"\nsecond line' });
    const upload = await uploadAvatar(session, avatarForm(png(2, 2), "i.png", "image/png"));
    const { avatarUrl } = (await upload.json()) as ApiUser;

    const res = await t.request("/users/ivan", { headers: activityJson });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/activity\+json/);
    const person = (await res.json()) as Record<string, unknown>;
    expect(person).toMatchObject({
      id: "https://chat.example/users/ivan",
      type: "Person",
      preferredUsername: "ivan",
      name: "Ivan the <b>Bold</b>",
      inbox: "https://chat.example/users/ivan/inbox",
      icon: { type: "Image", url: avatarUrl, mediaType: "image/png" },
      publicKey: {
        id: expect.stringMatching(/^https:\/\/chat\.example\/users\/ivan#/),
        owner: "https://chat.example/users/ivan",
        publicKeyPem: expect.stringContaining("-----BEGIN PUBLIC KEY-----"),
      },
    });
    const summary = String(person.summary);
    expect(summary).not.toContain("<script>");
    expect(summary).toContain("&#60;script&#62;alert(1)&#60;/script&#62;");
    expect(summary).toContain("&#38;");
    expect(summary).toContain("<br>");
    const methods = person.assertionMethod as { type: string; controller: string; publicKeyMultibase: string }[];
    expect(methods).toHaveLength(2);
    for (const method of methods) {
      expect(method).toMatchObject({ type: "Multikey", controller: "https://chat.example/users/ivan" });
      expect(method.publicKeyMultibase).toMatch(/^z[1-9A-HJ-NP-Za-km-z]+$/);
    }
  });

  it("answers WebFinger for acct:alice@chat.example with a self link to the Person", async () => {
    const res = await t.request("/.well-known/webfinger?resource=acct:alice@chat.example");
    expect(res.status).toBe(200);
    const jrd = (await res.json()) as { subject: string; links: { rel: string; type?: string; href?: string }[] };
    expect(jrd.subject).toBe("acct:alice@chat.example");
    expect(jrd.links).toContainEqual(
      expect.objectContaining({
        rel: "self",
        type: "application/activity+json",
        href: "https://chat.example/users/alice",
      }),
    );
    const unknown = await t.request("/.well-known/webfinger?resource=acct:nobody@chat.example");
    expect(unknown.status).toBe(404);
  });

  it("answers WebFinger for a handle with a NUL byte with 404, not a server error", async () => {
    const res = await t.request("/.well-known/webfinger?resource=acct:al%00ice@chat.example");
    expect(res.status, await peek(res)).toBe(404);
  });

  it("counts the registered users in NodeInfo", async () => {
    const res = await t.request("/nodeinfo/2.1", { headers: { accept: "application/json" } });
    expect(res.status).toBe(200);
    const info = (await res.json()) as { usage: { users: { total: number } } };
    const total = await countUsers(t);
    expect(total).toBeGreaterThanOrEqual(1);
    expect(info.usage.users.total).toBe(total);
    await registerUser(t, "judy");
    const after = (await (await t.request("/nodeinfo/2.1")).json()) as { usage: { users: { total: number } } };
    expect(after.usage.users.total).toBe(total + 1);
  });
});
