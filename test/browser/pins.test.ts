import type { Browser } from "playwright-core";
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
let olive: Awaited<ReturnType<typeof newUserPage>>;
let max: Awaited<ReturnType<typeof newUserPage>>;

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  olive = await newUserPage(browser, server.url);
  max = await newUserPage(browser, server.url);
});

screenshotFailures(() => ({ olive: olive?.page, max: max?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

describe("pinned messages in two browsers", () => {
  it("lets the owner pin from the toolbar, and a member sees the list live and jumps to the message", async () => {
    await register(olive.page, "olive", "Olive Oyl");
    await register(max.page, "max", "Max Power");
    const roomId = await createRoom(olive.page, "Noticeboard", "public");
    await max.page.goto(`/rooms/${roomId}`);
    await max.page.getByRole("button", { name: "Join room" }).click();
    await composer(max.page).fill("Bins go out on Tuesday");
    await composer(max.page).press("Enter");
    for (let i = 0; i < 30; i++) {
      await composer(max.page).fill(`chatter ${i}`);
      await composer(max.page).press("Enter");
    }
    await message(max.page, "chatter 29").waitFor();

    // A member has no pin action; the owner has.
    const theirs = message(max.page, "Bins go out on Tuesday");
    await theirs.hover();
    expect(await theirs.getByRole("button", { name: "Pin" }).count()).toBe(0);
    const target = message(olive.page, "Bins go out on Tuesday");
    await target.scrollIntoViewIfNeeded();
    await target.hover();
    await target.getByRole("button", { name: "Pin" }).click();
    await olive.page.getByRole("button", { name: "Pinned messages (1)" }).waitFor();
    await target.hover();
    expect(await target.getByRole("button", { name: "Unpin" }).getAttribute("aria-pressed")).toBe("true");

    // Max's header follows the stream; the list jumps to the message, far above the latest.
    const open = max.page.getByRole("button", { name: "Pinned messages (1)" });
    await open.click();
    const list = max.page.getByRole("dialog", { name: "Pinned messages" });
    await list.getByText("Bins go out on Tuesday").waitFor();
    expect(await list.getByRole("button", { name: "Unpin" }).count()).toBe(0);
    expect(await list.locator("time").textContent()).toMatch(/^(just now|\d+ min ago)$/);
    await max.page.screenshot({ path: screenshotPath("pins-list") });
    await list.getByRole("button", { name: "Jump to message" }).click();
    await list.waitFor({ state: "detached" });
    await max.page.locator(".messages li.message.highlighted").filter({ hasText: "Bins go out on Tuesday" }).waitFor();
    expect(await theirs.evaluate((el) => el === document.activeElement)).toBe(true);

    // The owner unpins from the list: both headers drop the count.
    await olive.page.getByRole("button", { name: "Pinned messages (1)" }).click();
    await olive.page.getByRole("dialog", { name: "Pinned messages" }).getByRole("button", { name: "Unpin" }).click();
    const olives = olive.page.getByRole("dialog", { name: "Pinned messages" });
    await olives.getByText("Nothing is pinned").waitFor();
    await max.page.getByRole("button", { name: "Pinned messages", exact: true }).waitFor();
    await olive.page.keyboard.press("Escape");
    await olives.waitFor({ state: "detached" });
  });

  it("drops a pinned message from the list when it is deleted", async () => {
    const mine = message(max.page, "chatter 29");
    await mine.hover();
    const target = message(olive.page, "chatter 29");
    await target.hover();
    await target.getByRole("button", { name: "Pin" }).click();
    await max.page.getByRole("button", { name: "Pinned messages (1)" }).waitFor();
    await mine.hover();
    await mine.getByRole("button", { name: "Delete" }).click();
    await max.page.getByRole("dialog", { name: "Delete message?" }).getByRole("button", { name: "Delete" }).click();
    await max.page.getByRole("button", { name: "Pinned messages", exact: true }).waitFor();
    await olive.page.getByRole("button", { name: "Pinned messages", exact: true }).waitFor();
  });
});
