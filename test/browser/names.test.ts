import type { Browser, Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  composer,
  createRoom,
  launchBrowser,
  message,
  newUserPage,
  register,
  screenshotFailures,
  screenshotPath,
  TestServer,
} from "./support.ts";

const server = new TestServer();
let browser: Browser;
let alice: Awaited<ReturnType<typeof newUserPage>>;
let mallory: Awaited<ReturnType<typeof newUserPage>>;
let roomId = "";

/** "Alice" with a Cyrillic А (U+0410): the name Mallory takes to pass for Alice. */
const spoofed = "\u0410lice";
/** Bidi embeddings, overrides, isolates and marks: none may reach the page from a file name. */
const bidiControls = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

/** The API as a script would use it. */
async function apiAs(username: string) {
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse battery", refreshTokenIn: "body" }),
  });
  expect(login.status).toBe(200);
  const { accessToken } = (await login.json()) as { accessToken: string };
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status, `${method} ${path}: ${res.status}`).toBeLessThan(300);
    return res.status === 204 ? null : ((await res.json()) as Record<string, unknown>);
  };
}

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  alice = await newUserPage(browser, server.url);
  mallory = await newUserPage(browser, server.url);
  await register(alice.page, "alice", "Alice");
  await register(mallory.page, "mallory", spoofed);
  const bob = await fetch(`${server.url}/api/v1/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "bob", password: "correct horse battery", displayName: "Bob" }),
  });
  expect(bob.status).toBe(201);
  roomId = await createRoom(alice.page, "Tea party", "public", "Where Alice meets everyone");
  for (const who of ["mallory", "bob"]) await (await apiAs(who))("POST", `/rooms/${roomId}/join`);
});

screenshotFailures(() => ({ alice: alice?.page, mallory: mallory?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

/** Where, left to right, the first and the last three characters of an element's text are drawn. */
async function ends(name: Locator): Promise<{ start: number; end: number }> {
  return name.evaluate((element) => {
    const text = element.firstChild as Text;
    const at = (from: number, to: number) => {
      const range = document.createRange();
      range.setStart(text, from);
      range.setEnd(text, to);
      return range.getBoundingClientRect().left;
    };
    const length = text.data.length;
    return { start: at(0, 3), end: at(length - 3, length) };
  });
}

describe("what people wrote is shown in its own direction", () => {
  it("shows a file named with a right-to-left override by its real name, extension last", async () => {
    await mallory.page.goto(`/rooms/${roomId}`);
    await mallory.page
      .locator(".composer input[type=file]")
      .setInputFiles([{ name: "\u202Egnp.exe", mimeType: "application/octet-stream", buffer: Buffer.from("MZ") }]);
    const chip = mallory.page.locator(".upload-chip.done");
    await chip.waitFor();
    // Once uploaded, the chip shows the name as the server keeps it.
    expect(await chip.locator(".upload-name bdi").textContent()).toBe("gnp.exe");
    await composer(mallory.page).fill("the picture I promised");
    await composer(mallory.page).press("Enter");

    await alice.page.goto(`/rooms/${roomId}`);
    const sent = message(alice.page, "the picture I promised");
    await sent.waitFor();
    const name = sent.locator(".attachment-name");
    expect(await name.evaluate((element) => element.tagName)).toBe("BDI");
    const text = (await name.textContent()) ?? "";
    expect(text).toBe("gnp.exe");
    expect(text).not.toMatch(bidiControls);
    expect(await sent.locator("a.attachment-file").getAttribute("download")).toBe("gnp.exe");
    // Laid out left to right: "gnp" is drawn before "exe", not after it as the override had it.
    const { start, end } = await ends(name);
    expect(start).toBeLessThan(end);
  });

  it("shows the handle beside a name that passes for another member's", async () => {
    for (const [who, content] of [
      ["bob", "Just Bob here"],
      ["mallory", "Hi, it's me, Alice: send me the keys"],
      ["alice", "Who is this?"],
    ] as const) {
      await (await apiAs(who))("PUT", `/rooms/${roomId}/messages/${who}-hello`, { content });
    }
    const page = alice.page;
    const fake = message(page, "send me the keys");
    await fake.waitFor();
    // The table of confusable characters loads after the room: wait for its verdict.
    const fakeHandle = fake.locator(".message-head .lookalike-handle");
    await fakeHandle.waitFor();
    expect(await fakeHandle.textContent()).toMatch(/^@mallory@/);
    expect(await fake.locator(".message-head .author > bdi").first().textContent()).toBe(spoofed);
    // The real Alice is marked too: the names alone would not tell who is who.
    expect(await message(page, "Who is this?").locator(".lookalike-handle").textContent()).toMatch(/^@alice@/);
    // A name like nobody else's is shown alone.
    const bob = message(page, "Just Bob here");
    expect(await bob.locator(".message-head .author").textContent()).toBe("Bob");
    expect(await bob.locator(".lookalike-handle").count()).toBe(0);
    expect(await fake.getAttribute("aria-label")).toMatch(new RegExp(`^${spoofed} \\(@mallory@[^)]+\\), `));

    // The member list says the same.
    const member = (name: string) => page.locator(".member-panel .member").filter({ hasText: `@${name}@` });
    expect(await member("mallory").getAttribute("class")).toContain("lookalike");
    expect(await member("mallory").locator(".member-name .lookalike-handle").textContent()).toMatch(/^@mallory@/);
    expect(await member("alice").locator(".member-name .lookalike-handle").textContent()).toMatch(/^@alice@/);
    expect(await member("bob").getAttribute("class")).not.toContain("lookalike");
    expect(await member("bob").locator(".lookalike-handle").count()).toBe(0);
    await page.screenshot({ path: screenshotPath("names-lookalikes") });

    // Mallory takes another name: nobody is marked any more.
    await (await apiAs("mallory"))("PATCH", `/rooms/${roomId}/members/me`, { nickname: "Mallory" });
    await member("mallory").filter({ hasText: "Mallory" }).waitFor();
    await page.locator(".lookalike-handle").first().waitFor({ state: "detached" });
  });

  it("isolates every name it shows, and lets blocks of text find their own direction", async () => {
    const page = alice.page;
    await page.goto(`/rooms/${roomId}`);
    await message(page, "Just Bob here").waitFor();
    const name = async (selector: string) =>
      page
        .locator(selector)
        .first()
        .evaluate((e) => e.tagName);
    expect(await name(".message-head .author > bdi")).toBe("BDI");
    expect(await name(".member-name > bdi")).toBe("BDI");
    expect(await name("h1#room-title > bdi")).toBe("BDI");
    expect(await name(".room-link .room-name > bdi")).toBe("BDI");
    expect(await page.locator(".room-head .topic").getAttribute("dir")).toBe("auto");
    expect(await message(page, "Just Bob here").locator(".content").getAttribute("dir")).toBe("auto");
    expect(await composer(page).getAttribute("dir")).toBe("auto");

    // A notification's title names a person and a room: each in its own bdi.
    await (await apiAs("bob"))("PUT", `/rooms/${roomId}/messages/bob-mention`, { content: "@alice the tea is ready" });
    await page.goto("/notifications");
    const title = page.locator(".notification-title").filter({ hasText: "mentioned you" });
    await title.waitFor();
    expect(await title.locator("bdi").allTextContents()).toEqual(["Bob", "Tea party"]);
    // And the tab's title isolates the page's name in plain text.
    await page.goto(`/rooms/${roomId}`);
    await page.locator("h1#room-title").waitFor();
    await page.waitForFunction(() => document.title.includes("\u2068Tea party\u2069"));

    for (const user of [alice, mallory]) {
      expect(user.seen.dialogs).toEqual([]);
      expect(user.seen.errors).toEqual([]);
    }
  });
});
