import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apiAs,
  createRoom,
  desktop,
  launchBrowser,
  message,
  newUserPage,
  phone,
  register,
  screenshotFailures,
  TestServer,
} from "./support.ts";

// The design review of issue 17, point 8: the room view at desktop, phone and dark, the settings
// page (its file input) and the room list, photographed the same way before and after a change
// to the look. `DESIGN_SHOTS=after npx vitest run --config test/browser/vitest.config.ts
// test/browser/design.test.ts` names the files after-*.png; `DESIGN_SHOTS_COPY` is a folder that
// gets a copy of each.

const shotsDir = fileURLToPath(new URL("../../test-artifacts/polish/", import.meta.url));
const prefix = process.env.DESIGN_SHOTS ?? "current";
const phone390 = { width: 390, height: 844 };

const server = new TestServer();
let browser: Browser;
let alice: Awaited<ReturnType<typeof newUserPage>>;
let bob: Awaited<ReturnType<typeof newUserPage>>;
let lounge = "";

async function shoot(page: Page, name: string) {
  mkdirSync(shotsDir, { recursive: true });
  const path = `${shotsDir}${prefix}-${name}.png`;
  await page.screenshot({ path });
  const copy = process.env.DESIGN_SHOTS_COPY;
  if (copy) {
    if (!existsSync(copy)) mkdirSync(copy, { recursive: true });
    copyFileSync(path, `${copy}/${prefix}-${name}.png`);
  }
}

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  alice = await newUserPage(browser, server.url);
  bob = await newUserPage(browser, server.url);
  await register(alice.page, "alice", "Alice Liddell");
  await register(bob.page, "bob", "Bob Builder");
  lounge = await createRoom(alice.page, "Design review", "public", "Where the look of fedchat gets argued about");
  await createRoom(alice.page, "Kitchen", "public");
  const asAlice = await apiAs(server.url, "alice");
  const asBob = await apiAs(server.url, "bob");
  await asBob("POST", `/rooms/${lounge}/join`);
  let txn = 0;
  const send = async (as: typeof asAlice, body: Record<string, unknown>) =>
    (await as("PUT", `/rooms/${lounge}/messages/design-${++txn}`, body)) as { id: string };
  await send(asAlice, { content: "Morning! I pushed the new sidebar to the staging server." });
  await send(asAlice, { content: "It groups rooms by **unread** first, then by name." });
  await send(asAlice, { content: "Tell me what you think of the spacing." });
  const bobs = await send(asBob, { content: "Looks good on my laptop. On the phone the header feels crowded." });
  await send(asBob, { content: "Also the `file input` in settings is the browser default, which looks odd." });
  const first = await send(asAlice, { content: "Here is the phone layout I had in mind:" });
  const image = await sharp({
    create: { width: 320, height: 200, channels: 3, background: "#3b82f6" },
  })
    .composite([
      {
        input: await sharp({ create: { width: 200, height: 80, channels: 3, background: "#f59e0b" } })
          .png()
          .toBuffer(),
        left: 60,
        top: 60,
      },
    ])
    .png()
    .toBuffer();
  const form = new FormData();
  form.set("file", new File([new Uint8Array(image)], "phone-layout.png", { type: "image/png" }));
  const upload = (await asAlice("POST", "/attachments", form)) as { id: string };
  await send(asAlice, { content: "", attachments: [upload.id] });
  await send(asBob, { content: "Agreed about the header, let's use icons there.", replyTo: bobs.id });
  await asBob("PUT", `/rooms/${lounge}/messages/${first.id}/reactions/${encodeURIComponent("👍")}`);
  await asAlice("PUT", `/rooms/${lounge}/messages/${bobs.id}/reactions/${encodeURIComponent("🎉")}`);
});

screenshotFailures(() => ({ alice: alice?.page, bob: bob?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

describe("the design review screenshots", () => {
  it("photographs the room view, the settings and the room list", async () => {
    const page = bob.page;
    await page.goto(`/rooms/${lounge}`);
    await message(page, "let's use icons").waitFor();
    await page.getByRole("button", { name: "Open image phone-layout.png" }).waitFor();
    await page.waitForLoadState("networkidle");
    await shoot(page, "room-desktop");
    // Hovering a message shows its toolbar (and, on a grouped line, its time).
    await message(page, "groups rooms").hover();
    await shoot(page, "room-desktop-hover");

    await page.emulateMedia({ colorScheme: "dark" });
    await page.mouse.move(0, 0);
    await shoot(page, "room-dark");
    await page.emulateMedia({ colorScheme: "light" });

    await page.goto("/settings");
    await page.getByRole("heading", { name: "Settings" }).first().waitFor();
    await page.waitForLoadState("networkidle");
    await shoot(page, "settings-desktop");

    await page.goto("/");
    await page.getByRole("heading", { name: /Welcome/ }).waitFor();
    await shoot(page, "home-desktop");

    await page.setViewportSize(phone390);
    await page.goto(`/rooms/${lounge}`);
    await message(page, "let's use icons").waitFor();
    await page.waitForLoadState("networkidle");
    await shoot(page, "room-phone");
    await page.emulateMedia({ colorScheme: "dark" });
    await shoot(page, "room-phone-dark");
    await page.emulateMedia({ colorScheme: "light" });
    // The narrowest layout the client supports.
    await page.setViewportSize(phone);
    await shoot(page, "room-360");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(phone.width);
    await page.setViewportSize(phone390);
    await page.goto("/");
    await page.getByRole("navigation", { name: "Rooms" }).waitFor();
    await page.waitForLoadState("networkidle");
    await shoot(page, "sidebar-phone");
    await page.setViewportSize(desktop);
    // No page errors and nothing the Content-Security-Policy refused (no inline styles added).
    expect(bob.seen.errors).toEqual([]);
  });
});

describe("compact message grouping", () => {
  it("names the author once for a run of their messages, again after another author or at a reply", async () => {
    const page = bob.page;
    await page.setViewportSize(desktop);
    await page.goto(`/rooms/${lounge}`);
    await message(page, "let's use icons").waitFor();
    // The room's earlier joins load after its messages: wait for the timeline to settle.
    await page.locator(".membership-line", { hasText: "Bob Builder joined" }).waitFor();
    // The first match: a reply quotes the message it answers.
    const author = (text: string) => message(page, text).first().locator(".message-head .author");
    // Alice's three messages within seconds: one name and avatar, on the first.
    expect(await author("Morning!").textContent()).toBe("Alice Liddell");
    await expect.poll(() => message(page, "Morning!").locator(".avatar").count()).toBe(1);
    for (const text of ["groups rooms", "spacing"]) {
      expect(await message(page, text).getAttribute("class")).toContain("continued");
      expect(await author(text).count()).toBe(0);
      expect(await message(page, text).locator(".avatar").count()).toBe(0);
    }
    // Bob after Alice: his name again; his second message under it.
    expect(await author("Looks good on my laptop").textContent()).toBe("Bob Builder");
    expect(await author("file input").count()).toBe(0);
    // A reply opens its own group even right after the same author's message.
    expect(await author("let's use icons").textContent()).toBe("Bob Builder");

    // A grouped line's time shows while it is hovered or focused, not otherwise.
    const time = message(page, "groups rooms").locator(".gutter-time time");
    await page.mouse.move(0, 0);
    expect(await time.isVisible()).toBe(false);
    await message(page, "groups rooms").hover();
    expect(await time.isVisible()).toBe(true);
    await page.mouse.move(0, 0);
    await message(page, "spacing").focus();
    expect(await message(page, "spacing").locator(".gutter-time time").isVisible()).toBe(true);
    // The message still says who wrote it to a screen reader.
    expect(await message(page, "spacing").getAttribute("aria-label")).toMatch(/^Alice Liddell, /);
  });
});

describe("the styled file input", () => {
  it("is reached with Tab, shows the focus on its button, opens the picker from the keyboard and names the file", async () => {
    const page = bob.page;
    await page.setViewportSize(desktop);
    // Listening from the start: the browser intercepts file choosers only once someone listens.
    const chooser = page.waitForEvent("filechooser");
    await page.goto("/settings");
    const input = page.getByLabel("Picture (PNG, JPEG, WebP or GIF, at most 2 MB)");
    expect(await input.getAttribute("type")).toBe("file");
    await page.getByRole("link", { name: "your public profile" }).focus();
    await page.keyboard.press("Tab");
    expect(await input.evaluate((el) => el === document.activeElement)).toBe(true);
    const button = page.locator(".file-button .button").first();
    expect(await button.evaluate((el) => getComputedStyle(el).outlineStyle)).toBe("solid");
    await page.keyboard.press("Space");
    const picture = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#123456" } })
      .png()
      .toBuffer();
    await (await chooser).setFiles({ name: "me.png", mimeType: "image/png", buffer: picture });
    await page.locator(".file-chosen", { hasText: "me.png" }).waitFor();
    await shoot(page, "settings-file-focus");
    expect(await page.getByRole("button", { name: "Upload picture" }).isEnabled()).toBe(true);
  });
});

describe("the sidebar's navigation", () => {
  it("offers its pages as icon buttons with a name and a tooltip", async () => {
    const page = bob.page;
    await page.goto("/");
    for (const name of ["Room directory", "Join by address", "Contacts", "New direct message"]) {
      const link = page.getByRole("link", { name, exact: true });
      expect(await link.getAttribute("title")).toBe(name);
      expect(await link.evaluate((el) => getComputedStyle(el).textDecorationLine)).toBe("none");
    }
    const directory = page.getByRole("navigation", { name: "Rooms" }).getByRole("link", { name: "Room directory" });
    await directory.click();
    await page.waitForURL(/\/directory$/);
    expect(await directory.getAttribute("aria-current")).toBe("page");
    expect(await page.getByRole("button", { name: "Sign out" }).getAttribute("title")).toBe("Sign out");
  });
});
