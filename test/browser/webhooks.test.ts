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

const postTo = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("incoming webhooks", () => {
  it("makes a webhook in the room's settings, shows its URL once, marks its messages, and revokes it", async () => {
    const page = alice.page;
    await createRoom(page, "Builds", "public");
    await page.getByRole("link", { name: "Room settings" }).click();
    await page.getByRole("tab", { name: "Webhooks" }).click();
    await page.getByText("No webhooks yet.").waitFor();
    await page.getByRole("textbox", { name: /^Webhook name/ }).fill("Build bot");
    await page.getByRole("button", { name: "Create webhook" }).click();
    const shown = page.getByLabel(/shown once: copy it now/);
    await shown.waitFor();
    const url = await shown.inputValue();
    expect(url).toMatch(new RegExp(`^${server.url}/api/v1/webhooks/[0-9a-f-]{36}/[A-Za-z0-9_-]{43}$`));
    const listed = page.locator(".webhook-list li").filter({ hasText: "Build bot" });
    await listed.waitFor();
    await page.screenshot({ path: screenshotPath("webhooks-created") });
    await page.keyboard.press("Escape");

    // A program posts, Slack-style; the message shows live, marked as a webhook's.
    expect((await postTo(url, { text: "Build <https://ci.example/7|#7> passed" })).status).toBe(200);
    const posted = message(page, "passed");
    await posted.waitFor();
    await posted.locator(".bot-badge", { hasText: "WEBHOOK" }).waitFor();
    expect(await posted.locator("a[href='https://ci.example/7']").textContent()).toBe("#7");
    expect(await posted.textContent()).toContain("Build bot");
    await page.screenshot({ path: screenshotPath("webhooks-message") });

    // Shown once: reopened, the settings list the webhook but not its URL.
    await page.getByRole("link", { name: "Room settings" }).click();
    await page.getByRole("tab", { name: "Webhooks" }).click();
    await listed.waitFor();
    expect(await page.content()).not.toContain(url.split("/").at(-1));
    await listed.getByRole("button", { name: "Revoke" }).click();
    await page.getByText("No webhooks yet.").waitFor();
    expect((await postTo(url, { content: "after revoking" })).status).toBe(404);
  });
});
