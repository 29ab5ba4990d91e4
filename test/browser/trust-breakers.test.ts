import type { Browser, Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apiAs,
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

// Small things that made people doubt the client (issue 17, item 7), each checked as a person
// would see it.

const server = new TestServer();
let browser: Browser;
let visitor: Awaited<ReturnType<typeof newUserPage>>;
let alice: Awaited<ReturnType<typeof newUserPage>>;

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  visitor = await newUserPage(browser, server.url);
  alice = await newUserPage(browser, server.url);
});

screenshotFailures(() => ({ visitor: visitor?.page, alice: alice?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

async function box(locator: Locator) {
  const found = await locator.boundingBox();
  if (found == null) throw new Error("not on screen");
  return found;
}

describe("the sign-in page", () => {
  it("opens on the sign-up form while the server has no account, and signs in at /login", async () => {
    const { page } = visitor;
    await page.goto("/");
    await page.getByRole("heading", { name: "Create your account" }).waitFor();
    await page.getByText("Nobody has an account on this server yet").waitFor();
    await page.screenshot({ path: screenshotPath("trust-first-account") });
    await page.goto("/login");
    await page.getByRole("heading", { name: "Sign in to fedchat" }).waitFor();
    expect(await page.getByText("Nobody has an account").count()).toBe(0);
  });

  it("draws no focus box around its title, and leaves a sign-in error behind on the sign-up form", async () => {
    const { page } = visitor;
    await page.goto("/login");
    const title = page.getByRole("heading", { name: "Sign in to fedchat" });
    await expect.poll(() => title.evaluate((h) => h === document.activeElement)).toBe(true);
    expect(await title.evaluate((h) => getComputedStyle(h).outlineStyle)).toBe("none");

    await page.getByLabel("Username").fill("nobody");
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    const error = page.locator("#auth-error");
    await expect.poll(() => error.textContent()).toBe("Wrong username or password.");
    await page.getByRole("button", { name: "Create an account" }).click();
    await page.getByRole("heading", { name: "Create your account" }).waitFor();
    expect(await error.isVisible()).toBe(false);
    await page.screenshot({ path: screenshotPath("trust-sign-up-after-error") });
  });
});

describe("the room list and the timeline", () => {
  it("keeps the bell's badge off the + button, and shows one message toolbar at a time", async () => {
    const { page } = alice;
    await register(page, "alice", "Alice");
    const room = await createRoom(page, "Busy", "public");
    const bob = await fetch(`${server.url}/api/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "bob", password: "correct horse battery" }),
    });
    expect(bob.status).toBe(201);
    const asBob = await apiAs(server.url, "bob");
    await asBob("POST", `/rooms/${room}/join`);
    // Enough mentions for the widest badge ("99+"), while Alice looks at another page.
    await page.goto("/settings");
    for (let i = 0; i < 100; i++) await asBob("PUT", `/rooms/${room}/messages/m${i}`, { content: `@alice ping ${i}` });
    const badge = page.locator(".bell-count");
    await expect.poll(() => badge.textContent(), { timeout: 15_000 }).toBe("99+");
    const [b, plus] = [await box(badge), await box(page.getByRole("link", { name: "Create a room" }).first())];
    // Clear of it by a few pixels, not touching.
    expect(plus.x - (b.x + b.width)).toBeGreaterThanOrEqual(4);
    await page.locator(".sidebar-head").screenshot({ path: screenshotPath("trust-bell-badge") });

    await page.goto(`/rooms/${room}`);
    await composer(page).fill("one");
    await composer(page).press("Enter");
    await composer(page).fill("two");
    await composer(page).press("Enter");
    const [one, two] = [message(page, "one"), message(page, "two")];
    await two.waitFor();
    await one.focus();
    await two.hover();
    const shown = await page
      .locator(".message-actions")
      .evaluateAll((bars) => bars.filter((bar) => getComputedStyle(bar).opacity !== "0").length);
    expect(shown).toBe(1);
  });
});
