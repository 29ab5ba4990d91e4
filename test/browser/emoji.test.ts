import type { Browser, Page } from "playwright-core";
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
let user: Awaited<ReturnType<typeof newUserPage>>;
/** Every script the page fetched, in order. */
const scripts: string[] = [];

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  user = await newUserPage(browser, server.url);
  user.page.on("request", (request) => {
    if (request.resourceType() === "script") scripts.push(new URL(request.url()).pathname);
  });
});

screenshotFailures(() => ({ user: user?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

const picker = (page: Page) => page.getByRole("dialog", { name: /Add a reaction|Insert an emoji/ });

async function openReactionPicker(page: Page, text: string) {
  const target = message(page, text);
  await target.hover();
  await target.getByRole("button", { name: "Add reaction" }).click();
  await picker(page).waitFor();
}

/** The text of the reaction chips on a message, as "👍1". */
async function chips(page: Page, text: string) {
  const list = await message(page, text).locator(".chip").allTextContents();
  return list.map((chip) => chip.replace(/\s+/g, ""));
}

describe("the emoji picker and :shortcode: completion", () => {
  it("loads the emoji data only when a picker first opens", async () => {
    await register(user.page, "alice", "Alice");
    await createRoom(user.page, "Emoji", "public");
    await composer(user.page).fill("react to this");
    await composer(user.page).press("Enter");
    await message(user.page, "react to this").waitFor();
    expect(scripts.some((s) => s.includes("emoji-data"))).toBe(false);

    await openReactionPicker(user.page, "react to this");
    // No recent emoji yet: the first category is open, its tabs and grid named.
    const smileys = user.page.getByRole("tab", { name: "Smileys & emotion" });
    await smileys.waitFor();
    expect(await smileys.getAttribute("aria-selected")).toBe("true");
    expect(await user.page.getByRole("tab", { name: "Recently used" }).count()).toBe(0);
    await user.page.getByRole("button", { name: "grinning face", exact: true }).waitFor();
    expect(scripts.filter((s) => s.includes("emoji-data"))).toHaveLength(1);
  });

  it("reacts with an emoji found by name, and one found by shortcode", async () => {
    await user.page.getByLabel("Search emoji").fill("party");
    await user.page.getByRole("button", { name: "party popper" }).click();
    await expect.poll(() => chips(user.page, "react to this")).toEqual(["🎉1"]);

    await openReactionPicker(user.page, "react to this");
    await user.page.getByLabel("Search emoji").fill(":+1:");
    await user.page.getByLabel("Search emoji").press("Enter");
    await expect.poll(() => chips(user.page, "react to this")).toEqual(["🎉1", "👍1"]);
  });

  it("moves through the grid with the arrow keys and picks with Enter", async () => {
    await openReactionPicker(user.page, "react to this");
    await user.page.getByRole("tab", { name: "Animals & nature" }).click();
    await user.page.getByLabel("Search emoji").focus();
    await user.page.keyboard.press("ArrowDown");
    await user.page.keyboard.press("ArrowRight");
    await user.page.keyboard.press("ArrowDown");
    // Second column, second row of the category: the tenth emoji.
    const focused = await user.page.evaluate(() => document.activeElement?.textContent ?? "");
    const tenth = await user.page.locator("table.emoji-grid button").nth(9).textContent();
    expect(focused).toBe(tenth);
    await user.page.keyboard.press("Enter");
    await expect.poll(() => chips(user.page, "react to this")).toEqual(["🎉1", "👍1", `${focused}1`]);
    await user.page.screenshot({ path: screenshotPath("emoji-reactions") });
  });

  it("remembers the skin tone and the recent emoji", async () => {
    await openReactionPicker(user.page, "react to this");
    // Recent emoji come first once there are some, newest first.
    const recent = user.page.getByRole("tab", { name: "Recently used" });
    expect(await recent.getAttribute("aria-selected")).toBe("true");
    const grid = picker(user.page).locator("table.emoji-grid button");
    expect((await grid.allTextContents()).slice(1)).toEqual(["👍", "🎉"]);
    await user.page.screenshot({ path: screenshotPath("emoji-picker") });

    await user.page.getByLabel("Skin tone").selectOption({ label: "✋🏽 Medium" });
    await user.page.getByLabel("Search emoji").fill("waving hand");
    await user.page.getByRole("button", { name: "waving hand", exact: true }).click();
    await expect.poll(async () => (await chips(user.page, "react to this")).at(-1)).toBe("👋🏽1");

    // After a reload, the tone is still chosen.
    await user.page.reload();
    await openReactionPicker(user.page, "react to this");
    expect(await user.page.getByLabel("Skin tone").inputValue()).toBe("3");
    expect((await grid.allTextContents())[0]).toBe("👋🏽");
    await user.page.keyboard.press("Escape");
  });

  it("completes :shortcodes: in the composer with the keyboard", async () => {
    const box = composer(user.page);
    await box.click();
    await box.pressSequentially("Let's party :tad");
    const list = user.page.getByRole("listbox", { name: "Emoji" });
    await list.waitFor();
    expect(await list.getByRole("option").first().textContent()).toContain(":tada:");
    await box.press("Enter");
    await expect.poll(() => box.inputValue()).toBe("Let's party 🎉");
    await list.waitFor({ state: "detached" });

    // Escape closes the list and leaves the text; typing on opens it again; Tab takes it.
    await box.pressSequentially(" :thumbs");
    await list.waitFor();
    await box.press("Escape");
    await list.waitFor({ state: "detached" });
    expect(await box.inputValue()).toBe("Let's party 🎉 :thumbs");
    await box.pressSequentially("u");
    await list.waitFor();
    // ↓ then ↑ come back to the first option, :thumbsup:, written with the chosen skin tone.
    await box.press("ArrowDown");
    await box.press("ArrowUp");
    await box.press("Tab");
    await expect.poll(() => box.inputValue()).toBe("Let's party 🎉 👍🏽");
    // A time is not a shortcode.
    await box.pressSequentially(" at 12:30");
    expect(await list.count()).toBe(0);
    await box.press("Enter");
    await message(user.page, "Let's party 🎉 👍🏽 at 12:30").waitFor();
  });

  it("inserts an emoji from the picker where the caret is", async () => {
    const box = composer(user.page);
    await box.fill("before after");
    await box.evaluate((el: HTMLTextAreaElement) => el.setSelectionRange(7, 7));
    await user.page.getByRole("button", { name: "Insert emoji" }).click();
    await user.page.getByLabel("Search emoji").fill("rocket");
    await user.page.getByLabel("Search emoji").press("Enter");
    await expect.poll(() => box.inputValue()).toBe("before 🚀after");
    await user.page.waitForFunction(() => document.activeElement?.matches(".composer textarea") ?? false);
  });

  it("keeps each account's recent emoji to itself", async () => {
    await user.page.getByRole("button", { name: "Sign out" }).click();
    await register(user.page, "bob", "Bob");
    await createRoom(user.page, "Bob's", "public");
    await composer(user.page).fill("bob's message");
    await composer(user.page).press("Enter");
    await message(user.page, "bob's message").waitFor();
    await openReactionPicker(user.page, "bob's message");
    await user.page.getByRole("tab", { name: "Smileys & emotion" }).waitFor();
    expect(await user.page.getByRole("tab", { name: "Recently used" }).count()).toBe(0);
    // The skin tone belongs to the browser, not the account.
    expect(await user.page.getByLabel("Skin tone").inputValue()).toBe("3");
    expect(user.seen.errors).toEqual([]);
  });
});
