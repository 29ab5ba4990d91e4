import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { png } from "../api/support.ts";
import { animatedGif } from "../helpers/animated.ts";
import {
  createRoom,
  launchBrowser,
  newUserPage,
  phone,
  register,
  screenshotFailures,
  screenshotPath,
  TestServer,
} from "./support.ts";

const server = new TestServer();
let browser: Browser;
let olive: Awaited<ReturnType<typeof newUserPage>>;
let max: Awaited<ReturnType<typeof newUserPage>>;
let roomId: string;

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  olive = await newUserPage(browser, server.url);
  max = await newUserPage(browser, server.url, phone);
  // Max asks his system for reduced motion: animated stickers stand still for him.
  await max.page.emulateMedia({ reducedMotion: "reduce" });
});

screenshotFailures(() => ({ olive: olive?.page, max: max?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

describe("stickers in two browsers", () => {
  it("makes a personal pack, uploads a sticker, sends it from the picker, and the other user sees it", async () => {
    await register(olive.page, "olive", "Olive Oyl");
    await register(max.page, "max", "Max Power");
    roomId = await createRoom(olive.page, "Sticker room", "public");
    await max.page.goto(`/rooms/${roomId}`);
    await max.page.getByRole("button", { name: "Join room" }).click();

    // The packs page, from the settings.
    await olive.page.goto("/settings");
    await olive.page.getByRole("link", { name: "Sticker packs" }).click();
    await olive.page.getByRole("heading", { name: "Sticker packs" }).waitFor();
    await olive.page.getByLabel("New pack").fill("Party");
    await olive.page.getByRole("button", { name: "Create pack" }).click();
    const pack = olive.page.getByRole("region", { name: "Pack Party" });
    await pack.waitFor();
    await pack.getByLabel("Add a sticker").setInputFiles({
      name: "wave.gif",
      mimeType: "image/gif",
      buffer: Buffer.from(await animatedGif(4, 96, 150)),
    });
    await pack.getByLabel("Sticker name").fill("Wave");
    await pack.getByLabel("Emoji hint (optional)").fill("👋");
    await pack.getByRole("button", { name: "Upload" }).click();
    await pack.getByRole("img", { name: "Wave" }).waitFor();
    // A refused file says why and adds nothing.
    await pack.getByLabel("Add a sticker").setInputFiles({
      name: "notes.png",
      mimeType: "image/png",
      buffer: Buffer.from("not an image at all"),
    });
    await pack.getByLabel("Sticker name").fill("Notes");
    await pack.getByRole("button", { name: "Upload" }).click();
    await pack.getByText("A sticker is a PNG, GIF or WebP image.").waitFor();
    expect(await pack.getByRole("img").count()).toBe(1);
    await olive.page.screenshot({ path: screenshotPath("stickers-manage-desktop") });

    // The picker: opened from the composer, keyboard to the sticker, Enter sends it at once.
    await olive.page.goto(`/rooms/${roomId}`);
    await olive.page.getByRole("button", { name: "Send a sticker" }).click();
    const picker = olive.page.getByRole("dialog", { name: "Send a sticker" });
    await picker.getByRole("tab", { name: "Party" }).waitFor();
    expect(await picker.getByRole("tab", { name: "Party" }).getAttribute("aria-selected")).toBe("true");
    await picker.getByRole("button", { name: "Send sticker Wave" }).waitFor();
    await olive.page.screenshot({ path: screenshotPath("stickers-picker-desktop") });
    await picker.getByRole("button", { name: "Send sticker Wave" }).focus();
    await olive.page.keyboard.press("Enter");
    await picker.waitFor({ state: "detached" });

    // Both see a sticker message: the image alone, large; Olive's animates, Max's stands still.
    const mine = olive.page.locator(".messages li.sticker-message").getByRole("img", { name: "Sticker: Wave" });
    await mine.waitFor();
    const theirs = max.page.locator(".messages li.sticker-message").getByRole("img", { name: "Sticker: Wave" });
    await theirs.waitFor({ timeout: 15_000 });
    const loaded = (img: typeof mine) =>
      img.evaluate(
        (el: HTMLImageElement) =>
          new Promise<{ src: string; width: number }>((resolve) => {
            const done = () => resolve({ src: el.currentSrc, width: el.naturalWidth });
            if (el.complete) done();
            else el.addEventListener("load", done, { once: true });
          }),
      );
    const olives = await loaded(mine);
    const maxs = await loaded(theirs);
    expect(olives.width).toBeGreaterThan(0);
    expect(maxs.width).toBeGreaterThan(0);
    expect(new URL(olives.src).pathname).toMatch(/\/preview$/);
    expect(new URL(maxs.src).pathname).toMatch(/\/still$/);
    expect((await mine.boundingBox())?.width).toBeGreaterThanOrEqual(90);
    // A sticker is not text: it has no Edit action, and ↑ in the empty composer skips it.
    const stickerMessage = olive.page.locator(".messages li.sticker-message");
    await stickerMessage.hover();
    await stickerMessage.getByRole("button", { name: "Add reaction" }).waitFor();
    expect(await stickerMessage.getByRole("button", { name: "Edit" }).count()).toBe(0);
    await olive.page.screenshot({ path: screenshotPath("stickers-desktop") });
    await max.page.screenshot({ path: screenshotPath("stickers-phone") });

    // The picker on a phone.
    await max.page.getByRole("button", { name: "Send a sticker" }).click();
    const maxPicker = max.page.getByRole("dialog", { name: "Send a sticker" });
    await maxPicker.getByText("No sticker packs yet.").waitFor();
    await max.page.screenshot({ path: screenshotPath("stickers-picker-phone") });
    await max.page.keyboard.press("Escape");
    expect(olive.seen.errors).toEqual([]);
    expect(max.seen.errors).toEqual([]);
  });
  it("lets an admin make a server pack that everyone's picker shows", async () => {
    // The operator makes Olive an admin from the command line, which needs the server stopped
    // (the embedded database belongs to one process).
    await server.stop();
    const run = spawnSync(
      process.execPath,
      [fileURLToPath(new URL("../../federation/admin.ts", import.meta.url)), "users:role", "olive", "admin"],
      { env: { PATH: process.env.PATH ?? "", DATA_DIR: server.dataDir }, encoding: "utf8", timeout: 60_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    await server.start();

    await olive.page.goto("/settings/stickers");
    const section = olive.page.getByRole("region", { name: "Server packs" });
    await section.getByLabel("New server pack").fill("House");
    await section.getByRole("button", { name: "Create pack" }).click();
    const house = olive.page.getByRole("region", { name: "Pack House" });
    await house.getByLabel("Add a sticker").setInputFiles({
      name: "dot.png",
      mimeType: "image/png",
      buffer: Buffer.from(png(64, 64, { seed: 4 })),
    });
    await house.getByLabel("Sticker name").fill("Dot");
    await house.getByRole("button", { name: "Upload" }).click();
    await house.getByRole("img", { name: "Dot" }).waitFor();
    await olive.page.screenshot({ path: screenshotPath("stickers-server-pack-desktop") });

    // Max, not an admin, sees the server pack in his picker and cannot change it.
    await max.page.goto("/settings/stickers");
    await max.page.getByRole("region", { name: "Server packs" }).getByRole("img", { name: "Dot" }).waitFor();
    expect(await max.page.getByRole("button", { name: "Create pack" }).count()).toBe(1);
    await max.page.goto(`/rooms/${roomId}`);
    await max.page.getByRole("button", { name: "Send a sticker" }).click();
    const picker = max.page.getByRole("dialog", { name: "Send a sticker" });
    await picker.getByRole("tab", { name: "House" }).waitFor();
    await picker.getByRole("button", { name: "Send sticker Dot" }).click();
    await olive.page.goto(`/rooms/${roomId}`);
    await olive.page.locator(".messages li.sticker-message").getByRole("img", { name: "Sticker: Dot" }).waitFor();
  });
});
