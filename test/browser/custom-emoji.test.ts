import type { Browser, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAdmin } from "../helpers/admin.ts";
import {
  composer,
  createRoom,
  launchBrowser,
  message,
  newUserPage,
  phone,
  register,
  screenshotFailures,
  screenshotPath,
  TestServer,
} from "./support.ts";

// Server emoji in the browser (issue 16, item 5): an admin uploads them in the settings, then
// uses them in a message (typed with :shortcode: completion) and in a reaction (from the
// picker's Custom tab); they show as images in the text, the author's name and the reaction.

const server = new TestServer();
let browser: Browser;
let olga: Awaited<ReturnType<typeof newUserPage>>;
let olgaPhone: Awaited<ReturnType<typeof newUserPage>> | undefined;
let bob: Awaited<ReturnType<typeof newUserPage>> | undefined;

async function image(color: string, animated = false): Promise<Buffer> {
  const frame = (background: string) =>
    sharp({ create: { width: 64, height: 64, channels: 4, background } })
      .png()
      .toBuffer();
  if (!animated) return await frame(color);
  return await sharp([await frame(color), await frame("#ffd000")], { join: { animated: true } })
    .gif({ loop: 0, delay: 300 })
    .toBuffer();
}

async function signIn(page: Page, username: string) {
  await page.goto("/");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Rooms" }).waitFor({ timeout: 15_000 });
}

beforeAll(async () => {
  // An admin of the instance, made the way an operator does, before the server starts.
  const env = { DATA_DIR: server.dataDir };
  runAdmin(env, ["users:create", "olga", "--password", "correct horse battery", "--display-name", "Olga :blob:"]);
  runAdmin(env, ["users:role", "olga", "admin"]);
  await server.start();
  browser = await launchBrowser();
  olga = await newUserPage(browser, server.url);
});

screenshotFailures(() => ({ olga: olga?.page, phone: olgaPhone?.page, bob: bob?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

/** The alt texts of the custom emoji images in a locator. */
const emojiAlts = async (page: Page, selector: string) =>
  await page.locator(`${selector} img.custom-emoji`).evaluateAll((imgs) => imgs.map((i) => i.getAttribute("alt")));

describe("custom emoji", () => {
  it("lets an admin upload emoji in the settings, which a plain user does not see", async () => {
    const { page } = olga;
    await signIn(page, "olga");
    await page.goto("/settings");
    const section = page.getByRole("region", { name: "Custom emoji" });
    await section.getByText("No custom emoji yet.").waitFor();
    for (const [shortcode, bytes, file] of [
      ["blob", await image("#e0307a"), "blob.png"],
      ["party_blob", await image("#30a0e0", true), "party.gif"],
    ] as const) {
      await section.getByLabel("Shortcode").fill(shortcode);
      await section.getByLabel("Image").setInputFiles({ name: file, mimeType: "image/png", buffer: bytes });
      await section.getByRole("button", { name: "Add emoji" }).click();
      await section.locator(".emoji-admin-list code", { hasText: new RegExp(`^:${shortcode}:$`) }).waitFor();
    }
    // A name taken is refused, and said so.
    await section.getByLabel("Shortcode").fill("BLOB");
    await section
      .getByLabel("Image")
      .setInputFiles({ name: "b.png", mimeType: "image/png", buffer: await image("#000") });
    await section.getByRole("button", { name: "Add emoji" }).click();
    await section
      .getByRole("alert")
      .filter({ hasText: /already/ })
      .waitFor();
    expect(await section.locator(".emoji-admin-list li").count()).toBe(2);
    await page.screenshot({ path: screenshotPath("custom-emoji-admin-desktop"), fullPage: true });

    bob = await newUserPage(browser, server.url, phone);
    await register(bob.page, "bob", "Bob");
    await bob.page.goto("/settings");
    await bob.page.getByRole("heading", { name: "Password" }).waitFor();
    expect(await bob.page.getByRole("heading", { name: "Custom emoji" }).count()).toBe(0);
  });

  it("shows an emoji typed with completion in the message and in the author's name", async () => {
    const { page } = olga;
    await page.goto("/");
    await createRoom(page, "Emoji lounge", "public");
    await composer(page).fill("hello ");
    await composer(page).pressSequentially(":party_b");
    await page
      .getByRole("listbox", { name: "Emoji" })
      .getByRole("option", { name: /party_blob/ })
      .waitFor();
    await composer(page).press("Enter");
    expect(await composer(page).inputValue()).toBe("hello :party_blob:");
    await composer(page).pressSequentially(" and :blob: too");
    await composer(page).press("Enter");
    const sent = message(page, "too");
    await sent.locator(".content img.custom-emoji").first().waitFor();
    expect(await emojiAlts(page, ".messages li.message .content")).toEqual([":party_blob:", ":blob:"]);
    expect(await emojiAlts(page, ".messages li.message .author")).toEqual([":blob:"]);
    // Sized to the line, not the image's 64 pixels.
    const height = await sent
      .locator(".content img.custom-emoji")
      .first()
      .evaluate((img) => img.getBoundingClientRect().height);
    expect(height).toBeGreaterThan(10);
    expect(height).toBeLessThan(40);
  });

  it("reacts with a custom emoji from the picker's Custom tab, shown as its image", async () => {
    const { page } = olga;
    const target = message(page, "too");
    await target.hover();
    await target.getByRole("button", { name: "Add reaction" }).click();
    const picker = page.getByRole("dialog", { name: /Add a reaction/ });
    await picker.getByRole("tab", { name: "Custom" }).click();
    await picker.getByRole("button", { name: "blob", exact: true }).click();
    const chip = target.locator(".chip").first();
    await chip.locator("img.custom-emoji").waitFor();
    expect(await chip.locator("img.custom-emoji").getAttribute("alt")).toBe(":blob:");
    expect(await chip.getAttribute("aria-pressed")).toBe("true");
    await page.screenshot({ path: screenshotPath("custom-emoji-desktop") });

    // The same room on a phone, after a reload: the images come from the history.
    olgaPhone = await newUserPage(browser, server.url, phone);
    await signIn(olgaPhone.page, "olga");
    await olgaPhone.page.goto(page.url());
    const onPhone = message(olgaPhone.page, "too");
    await onPhone.locator(".chip img.custom-emoji").waitFor();
    expect(await emojiAlts(olgaPhone.page, ".messages li.message .content")).toEqual([":party_blob:", ":blob:"]);
    await onPhone.locator(".author img.custom-emoji").waitFor();
    await olgaPhone.page.screenshot({ path: screenshotPath("custom-emoji-phone") });
    expect(olga.seen.errors).toEqual([]);
    expect(olgaPhone.seen.errors).toEqual([]);
  });
});
