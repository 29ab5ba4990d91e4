/**
 * Writing as in Discord or Element: the formatting toolbar and its shortcuts, spoilers hidden
 * until shown (by mouse and by keyboard), tone indicators with their meaning, highlighted code blocks, thumbnails of files before
 * sending (also after a reload and for a file waiting in the outbox), the drop overlay.
 */
import type { Browser, BrowserContext, Dialog, Locator, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  composer,
  createRoom,
  desktop,
  launchBrowser,
  message,
  phone,
  register,
  screenshotFailures,
  screenshotPath,
  TestServer,
} from "./support.ts";

const server = new TestServer();
let browser: Browser;
let context: BrowserContext;
let page: Page;
const errors: string[] = [];
let roomId = "";
let png: Buffer;

beforeAll(async () => {
  png = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#d33682" } })
    .png()
    .toBuffer();
  await server.start();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: desktop, baseURL: server.url });
  page = await context.newPage();
  page.on("pageerror", (error) => errors.push(String(error)));
  await register(page, "fran", "Fran Format");
  roomId = await createRoom(page, "Styles", "public");
});

screenshotFailures(() => ({ fran: page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

/** Selects part of the composer's text, as a person would with the mouse. */
function select(box: Locator, start: number, end: number) {
  return box.evaluate(
    (el: HTMLTextAreaElement, [s, e]) => el.setSelectionRange(s as number, e as number),
    [start, end],
  );
}

/** The message whose text is exactly `text`, once the server has it. */
async function sent(text: string) {
  await composer(page).press("Enter");
  const m = message(page, text).last();
  await m.waitFor();
  return m;
}

describe("the formatting toolbar and shortcuts", () => {
  it("wraps the selection with the shortcuts, and renders it", async () => {
    const box = composer(page);
    await box.fill("bold italic gone");
    await select(box, 0, 4);
    await box.press("Control+b");
    expect(await box.inputValue()).toBe("**bold** italic gone");
    await select(box, 9, 15);
    await box.press("Control+i");
    expect(await box.inputValue()).toBe("**bold** *italic* gone");
    await select(box, 18, 22);
    await box.press("Control+Shift+X");
    expect(await box.inputValue()).toBe("**bold** *italic* ~~gone~~");
    // The same shortcut again takes the markers away; Ctrl+Z undoes.
    await box.press("Control+Shift+X");
    expect(await box.inputValue()).toBe("**bold** *italic* gone");
    await box.press("Control+z");
    expect(await box.inputValue()).toBe("**bold** *italic* ~~gone~~");
    const m = await sent("bold italic gone");
    const content = m.locator(".content");
    expect(await content.locator("strong").textContent()).toBe("bold");
    expect(await content.locator("em").textContent()).toBe("italic");
    expect(await content.locator("s").textContent()).toBe("gone");
  });

  it("formats with the toolbar's buttons, reachable by keyboard", async () => {
    const box = composer(page);
    const toolbar = page.getByRole("toolbar", { name: "Formatting" });
    await box.fill("let a = 2");
    await box.press("Control+a");
    await toolbar.getByRole("button", { name: "Code block" }).click();
    expect(await box.inputValue()).toBe("```\nlet a = 2\n```");
    await box.fill("one\ntwo");
    await box.press("Control+a");
    await toolbar.getByRole("button", { name: "List" }).click();
    expect(await box.inputValue()).toBe("- one\n- two");
    await box.press("Control+a");
    await toolbar.getByRole("button", { name: "Quote" }).click();
    expect(await box.inputValue()).toBe("> - one\n> - two");
    await box.fill("site");
    await box.press("Control+a");
    await toolbar.getByRole("button", { name: "Link" }).click();
    expect(await box.inputValue()).toBe("[site](https://)");
    // The selected address is typed over.
    await box.pressSequentially("https://example.com/x");
    expect(await box.inputValue()).toBe("[site](https://example.com/x)");

    // By keyboard: the toolbar is one tab stop, its buttons reached with the arrow keys.
    await box.fill("secret");
    await box.press("Control+a");
    await toolbar.getByRole("button", { name: "Bold" }).focus();
    for (let i = 0; i < 6; i++) await page.keyboard.press("ArrowRight");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe("Spoiler");
    await page.keyboard.press("Enter");
    expect(await box.inputValue()).toBe("||secret||");
    expect(await toolbar.locator("button[tabindex='0']").count()).toBe(1);
    await box.fill("");
    await page.screenshot({ path: screenshotPath("formatting-toolbar-desktop") });
  });
});

describe("spoilers", () => {
  it("hides a spoiler until it is clicked, and another until activated by keyboard", async () => {
    const box = composer(page);
    await box.fill("the end: ||they all [lived](https://example.com/end)||, really");
    const m = await sent("really");
    const spoiler = m.getByRole("button", { name: "Spoiler, hidden: activate to show" });
    await spoiler.waitFor();
    // Hidden: the text is transparent and the link inside is neither seen nor clicked.
    expect(await spoiler.evaluate((el) => getComputedStyle(el).color)).toBe("rgba(0, 0, 0, 0)");
    expect(await m.getByRole("link", { name: "lived" }).isVisible()).toBe(false);
    await page.screenshot({ path: screenshotPath("spoiler-hidden-desktop") });
    await spoiler.click();
    expect(page.url()).toContain(`/rooms/${roomId}`);
    const shown = m.locator(".spoiler");
    expect(await shown.getAttribute("data-spoiler")).toBe("shown");
    expect(await shown.getAttribute("role")).toBeNull();
    expect(await m.getByRole("link", { name: "lived" }).isVisible()).toBe(true);

    await box.fill("second ||by keyboard||");
    const k = await sent("second");
    const hidden = k.getByRole("button", { name: /^Spoiler, hidden/ });
    await hidden.focus();
    await page.keyboard.press("Enter");
    expect(await k.locator(".spoiler").getAttribute("data-spoiler")).toBe("shown");
    expect(await k.locator(".spoiler").evaluate((el) => getComputedStyle(el).color)).not.toBe("rgba(0, 0, 0, 0)");

    await box.fill("third ||by space||");
    const s = await sent("third");
    await s.getByRole("button", { name: /^Spoiler, hidden/ }).focus();
    await page.keyboard.press(" ");
    expect(await s.locator(".spoiler").getAttribute("data-spoiler")).toBe("shown");
  });
});

describe("code blocks", () => {
  it("highlights a JavaScript block, and leaves an unknown language plain", async () => {
    const box = composer(page);
    await box.fill('```js\nconst answer = 42; // the answer\nfunction ask() { return "why"; }\n```');
    const m = await sent("const answer");
    const code = m.locator("pre code.language-js");
    await code.and(page.locator("[data-highlight='done']")).waitFor();
    expect(await code.locator("span.hljs-keyword").first().textContent()).toBe("const");
    expect(await code.locator("span.hljs-number").textContent()).toBe("42");
    expect(await code.locator("span.hljs-comment").textContent()).toBe("// the answer");
    expect(await code.locator("span.hljs-string").textContent()).toBe('"why"');
    // The text is the code, exactly.
    expect(await code.textContent()).toBe('const answer = 42; // the answer\nfunction ask() { return "why"; }\n');
    await page.screenshot({ path: screenshotPath("code-highlight-desktop") });

    await box.fill("```nosuchlanguage\n<img src=x onerror=alert(1)>\n```");
    const plain = await sent("onerror");
    const other = plain.locator("pre code");
    await other.and(page.locator("[data-highlight='none']")).waitFor();
    expect(await other.locator("span, img").count()).toBe(0);
  });
});

/** Drags files over the room and drops them, as a file manager would. */
async function dragFiles(files: { name: string; type: string; data: number[] }[], drop: boolean) {
  await page.locator(".room-main").evaluate(
    (el, [list, dropIt]) => {
      const data = new DataTransfer();
      for (const f of list as { name: string; type: string; data: number[] }[]) {
        data.items.add(new File([new Uint8Array(f.data)], f.name, { type: f.type }));
      }
      el.dispatchEvent(new DragEvent("dragenter", { dataTransfer: data, bubbles: true, cancelable: true }));
      el.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
      if (dropIt) el.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    },
    [files, drop] as const,
  );
}

describe("files before sending", () => {
  it("shows the drop overlay, stages dropped files with a thumbnail, and keeps it after a reload", async () => {
    const image = { name: "pink.png", type: "image/png", data: [...png] };
    const text = { name: "notes.txt", type: "text/plain", data: [...Buffer.from("some notes\n")] };
    await dragFiles([image], false);
    const overlay = page.locator(".drop-overlay");
    await overlay.getByText("Drop files here").waitFor();
    await page.screenshot({ path: screenshotPath("drop-overlay-desktop") });
    await dragFiles([image, text], true);
    expect(await overlay.count()).toBe(0);

    const chip = page.locator(".upload-chip").filter({ hasText: "pink.png" });
    const thumb = chip.locator("img.file-thumb");
    await thumb.waitFor();
    // A thumbnail of the local file, before the upload is even done.
    expect(await thumb.getAttribute("src")).toMatch(/^blob:/);
    expect(await thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(64);
    const other = page.locator(".upload-chip").filter({ hasText: "notes.txt" });
    await page.locator(".upload-chip.done").filter({ hasText: "notes.txt" }).waitFor();
    expect(await other.locator("img").count()).toBe(0);
    expect(await other.locator(":scope > svg.icon").count()).toBe(1);
    await page.locator(".upload-chip.done").filter({ hasText: "pink.png" }).waitFor();
    await page.screenshot({ path: screenshotPath("upload-thumbnails-desktop") });

    // The draft keeps the uploaded files; after a reload the server's preview stands in.
    await reload();
    const again = page.locator(".upload-chip").filter({ hasText: "pink.png" }).locator("img.file-thumb");
    await again.waitFor();
    expect(await again.getAttribute("src")).not.toMatch(/^blob:/);
    await expect.poll(() => again.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);

    await composer(page).fill("two files");
    const m = await sent("two files");
    await m.getByRole("button", { name: "Open image pink.png" }).waitFor();
    expect(await page.locator(".upload-chip").count()).toBe(0);
  });

  it("shows the thumbnail of an image waiting in the outbox, also after a reload", async () => {
    const uploads = "**/api/v1/attachments";
    await page.route(uploads, (route) => route.abort("internetdisconnected"));
    await page
      .locator(".composer input[type=file]")
      .setInputFiles({ name: "later.png", mimeType: "image/png", buffer: png });
    await page.locator(".upload-chip.failed").filter({ hasText: "later.png" }).locator("img.file-thumb").waitFor();
    await composer(page).fill("an image for later");
    await composer(page).press("Enter");
    const unsent = page.locator("li.pending-message").filter({ hasText: "an image for later" });
    await unsent.getByText("Not sent").waitFor();
    expect(await unsent.locator("img.file-thumb").getAttribute("src")).toMatch(/^blob:/);

    await reload();
    const thumb = unsent.locator("img.file-thumb");
    await thumb.waitFor();
    await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(64);
    await page.unroute(uploads);
    const m = message(page, "an image for later");
    await m.waitFor({ timeout: 40_000 });
    await m.getByRole("button", { name: "Open image later.png" }).waitFor();
  });
});

describe("tone indicators", () => {
  it("shows the meaning on hover and keyboard focus, and names it for screen readers", async () => {
    // On the second line: on a phone the message's actions cover its first line once touched.
    await composer(page).fill("new shoes?\nnice shoes /j, see https://example.com/s and `x /s`");
    const m = await sent("nice shoes");
    const tone = m.getByRole("button", { name: "/j: joking", exact: true });
    await tone.waitFor();
    // Only the one at the end of a clause: not in the address nor in code.
    expect(await m.locator("abbr.tone").count()).toBe(1);
    expect(await tone.textContent()).toBe("/j");
    const bubble = () =>
      tone.evaluate((el) => {
        const after = getComputedStyle(el, "::after");
        return after.content === "none" ? "" : after.content;
      });
    expect(await bubble()).toBe("");
    await tone.hover();
    expect(await bubble()).toBe('"joking"');
    await page.mouse.move(0, 0);
    expect(await bubble()).toBe("");
    await tone.focus();
    await page.keyboard.press("Enter");
    expect(await tone.getAttribute("aria-expanded")).toBe("true");
    expect(await bubble()).toBe('"joking"');
    await page.screenshot({ path: screenshotPath("tone-indicator-desktop") });
    await page.keyboard.press("Escape");
    expect(await tone.getAttribute("aria-expanded")).toBe("false");
  });
});

describe("on a phone", () => {
  it("hides the toolbar behind a toggle, and shows spoilers and code", async () => {
    const phoneContext = await browser.newContext({
      viewport: phone,
      baseURL: server.url,
      isMobile: true,
      hasTouch: true,
      storageState: await context.storageState(),
    });
    const small = await phoneContext.newPage();
    try {
      await small.goto(`/rooms/${roomId}`);
      await composer(small).waitFor();
      const toolbar = small.locator("#format-toolbar");
      expect(await toolbar.isVisible()).toBe(false);
      const toggle = small.getByRole("button", { name: "Formatting" });
      expect(await toggle.getAttribute("aria-expanded")).toBe("false");
      await toggle.click();
      expect(await toggle.getAttribute("aria-expanded")).toBe("true");
      await toolbar.waitFor();
      await composer(small).fill("tap");
      await composer(small).press("Control+a");
      await toolbar.getByRole("button", { name: "Spoiler" }).tap();
      expect(await composer(small).inputValue()).toBe("||tap||");
      await composer(small).fill("");
      await small.locator("[data-highlight='done']").last().scrollIntoViewIfNeeded();
      await small.screenshot({ path: screenshotPath("formatting-phone") });
      // A tap shows a spoiler.
      const hidden = small.getByRole("button", { name: /^Spoiler, hidden/ }).last();
      await hidden.scrollIntoViewIfNeeded();
      await hidden.tap();
      expect(await small.locator(".spoiler[data-spoiler='shown']").count()).toBeGreaterThan(0);
      // A tap shows a tone indicator's meaning (phones have no hover); a tap elsewhere hides it.
      const tone = small.getByRole("button", { name: "/j: joking" }).last();
      await tone.scrollIntoViewIfNeeded();
      await tone.tap();
      expect(await tone.getAttribute("aria-expanded")).toBe("true");
      expect(await tone.evaluate((el) => getComputedStyle(el, "::after").content)).toBe('"joking"');
      await small.screenshot({ path: screenshotPath("tone-indicator-phone") });
      await composer(small).tap();
      expect(await tone.getAttribute("aria-expanded")).toBe("false");
    } finally {
      await phoneContext.close();
    }
    expect(errors).toEqual([]);
  });
});

/** Reloads, accepting the "leave the page?" question if it comes. */
async function reload(): Promise<void> {
  const onDialog = (dialog: Dialog) => void dialog.accept();
  page.on("dialog", onDialog);
  await page.reload();
  page.off("dialog", onDialog);
  await composer(page).waitFor();
}
