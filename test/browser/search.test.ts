import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
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

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  alice = await newUserPage(browser, server.url);
});

screenshotFailures(() => ({ alice: alice?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

/** Sends messages as `username` through the API (faster than typing 120 of them). */
async function sendAs(username: string, roomId: string, contents: string[]) {
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse battery", refreshTokenIn: "body" }),
  });
  const { accessToken } = (await login.json()) as { accessToken: string };
  for (const [i, content] of contents.entries()) {
    const res = await fetch(`${server.url}/api/v1/rooms/${roomId}/messages/bulk-${i}`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ content }),
    });
    expect(res.status).toBe(201);
  }
}

describe("search in the browser", () => {
  it("finds a message far back, marks the match safely, and opens it in its room", async () => {
    const { page, seen } = alice;
    await register(page, "alice", "Alice Liddell");
    const roomId = await createRoom(page, "Haystack", "public");
    await sendAs("alice", roomId, [
      "the needle is here",
      '<img src=x onerror="alert(1)"> a needle <b>in</b> markup',
      ...Array.from({ length: 120 }, (_, i) => `hay ${i}`),
    ]);

    // The sidebar's box opens the results page.
    const box = page.getByRole("searchbox", { name: "Search messages" }).first();
    await box.fill("needle");
    await box.press("Enter");
    await page.waitForURL(/\/search\?q=needle$/);
    const results = page.getByRole("listbox", { name: "Results" }).getByRole("option");
    await expect.poll(() => results.count(), { timeout: 15_000 }).toBe(2);
    // The match is marked, and what the message says stays text.
    expect(await page.locator(".search-results mark").allTextContents()).toEqual(["needle", "needle"]);
    expect(await page.locator(".search-results img, .search-results b").count()).toBe(0);
    // When, relative, with the full date on hover.
    const when = page.locator(".search-results time").first();
    expect(await when.textContent()).toMatch(/^(just now|\d+ min ago)$/);
    expect(await when.getAttribute("title")).toMatch(/\d{4}/);
    await page.screenshot({ path: screenshotPath("search-results") });

    // A filter from its button, then the keyboard: ↓ chooses, Enter opens.
    const input = page.locator(".search-input");
    await page.getByRole("button", { name: "from:" }).click();
    await input.pressSequentially("alice");
    await input.press("End");
    await input.pressSequentially(' "needle is"');
    await expect.poll(() => results.count(), { timeout: 15_000 }).toBe(1);
    await input.press("Enter");
    await page.waitForURL(`**/rooms/${roomId}`);

    // The message is 120 messages back: the history around it is loaded and it is in view.
    const found = message(page, "the needle is here");
    await found.waitFor({ state: "visible", timeout: 15_000 });
    expect(await found.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.screenshot({ path: screenshotPath("search-jump") });
    // Jumping back to the latest replaces the older page with the newest.
    await page.getByRole("button", { name: /Jump to latest/ }).click();
    await message(page, "hay 119").waitFor({ state: "visible", timeout: 15_000 });

    // A filter the server refuses is explained, by term.
    await page.goto("/search?q=has%3Avideo");
    await page.getByRole("alert").filter({ hasText: "has:video" }).waitFor();
    expect(seen.dialogs).toEqual([]);
    expect(seen.errors).toEqual([]);
  });
});
