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
  await register(alice.page, "alice", "Alice Liddell");
});

screenshotFailures(() => ({ alice: alice?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

describe("bots and tokens", () => {
  it("makes a bot and a token shown once in settings; the bot posts with it and is marked BOT", async () => {
    const page = alice.page;
    const lab = await createRoom(page, "Lab", "public");
    await page.goto("/settings");
    const section = page.getByRole("region", { name: "Bots and tokens" });
    await section.getByLabel("Bot handle").fill("lab_bot");
    await section.getByLabel("Shown as").fill("Lab Bot");
    await section.getByRole("button", { name: "Create bot" }).click();
    await section.getByRole("list", { name: "Your bots" }).getByText("Lab Bot").waitFor();

    await section.getByLabel("Token name").fill("lab script");
    await section.getByLabel("Acts as").selectOption({ label: "@lab_bot (bot)" });
    await section.getByLabel("Read and write").check();
    await section.getByRole("button", { name: "Create token" }).click();
    const shown = section.getByLabel("New token (shown once: copy it now)");
    await shown.waitFor();
    const secret = await shown.inputValue();
    expect(secret).toMatch(/^fct_[A-Za-z0-9_-]{43}$/);
    await section.getByRole("list", { name: "Your tokens" }).getByText("lab script").waitFor();
    // The default expiry is 30 days.
    const listed = await section.getByRole("list", { name: "Your tokens" }).textContent();
    expect(listed).toContain("expires");
    await section.screenshot({ path: screenshotPath("bots-token-created") });

    // Shown once: after a reload the list has the token, and the page has no secret.
    await page.reload();
    await page.getByRole("list", { name: "Your tokens" }).getByText("lab script").waitFor();
    expect(await page.content()).not.toContain(secret.slice(8));
    await expect(page.getByLabel("New token (shown once: copy it now)").count()).resolves.toBe(0);

    // The bot joins and posts over HTTP with the token, as a script would.
    const headers = { authorization: `Bearer ${secret}`, "content-type": "application/json" };
    expect((await fetch(`${server.url}/api/v1/rooms/${lab}/join`, { method: "POST", headers })).status).toBe(200);
    const sent = await fetch(`${server.url}/api/v1/rooms/${lab}/messages/bot-1`, {
      method: "PUT",
      headers,
      body: JSON.stringify({ content: "beep from the lab bot" }),
    });
    expect(sent.status).toBe(201);

    await page.goto(`/rooms/${lab}`);
    const posted = message(page, "beep from the lab bot");
    await posted.waitFor();
    await posted.locator(".bot-badge", { hasText: "BOT" }).waitFor();
    const member = page.locator(".member-text", { hasText: "Lab Bot" });
    await member.locator(".bot-badge").waitFor();
    expect(await page.locator(".member-text", { hasText: "Alice Liddell" }).locator(".bot-badge").count()).toBe(0);
    await posted.locator("a.author").click();
    const card = page.getByRole("dialog", { name: "Lab Bot" });
    await card.locator(".bot-badge").waitFor();
    await page.screenshot({ path: screenshotPath("bots-badge") });
  });
});
