/**
 * Nothing typed is lost: drafts across room switches and reloads, the outbox across a reload
 * while sends fail, and the length limit (refused before sending, long pastes as a file).
 */
import type { Browser, BrowserContext, Dialog, Locator, Page } from "playwright-core";
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
const password = "correct horse battery";
let browser: Browser;
let context: BrowserContext;
let page: Page;
const errors: string[] = [];
let alpha = "";
let beta = "";

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: desktop, baseURL: server.url });
  page = await context.newPage();
  // Not support's watch(): it dismisses every dialog, and a dismissed beforeunload stays on the page.
  page.on("pageerror", (error) => errors.push(String(error)));
  await register(page, "carol", "Carol Writer", password);
  alpha = await createRoom(page, "Alpha", "public");
  beta = await createRoom(page, "Beta", "public");
});

screenshotFailures(() => ({ carol: page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

/** Opens a room from the sidebar (a client-side move, as a person switches rooms). */
async function openRoom(name: string) {
  await page
    .getByRole("navigation", { name: "Rooms" })
    .getByRole("link", { name: new RegExp(`^${name}`) })
    .click();
  await roomBox(page, name).waitFor();
}

/** The composer of the room named `name` (its label isolates the name: U+2068 … U+2069). */
function roomBox(on: Page, name: string) {
  return on.getByRole("textbox", { name: `Message \u2068${name}\u2069` });
}

/** Carol's messages in a room, as the API lists them (a sign-in of her own). */
async function messagesOf(roomId: string) {
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "carol", password }),
  });
  const { accessToken } = (await login.json()) as { accessToken: string };
  const response = await fetch(`${server.url}/api/v1/rooms/${roomId}/messages?limit=100`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  return ((await response.json()) as { messages: { content: string; attachments: Record<string, unknown>[] }[] })
    .messages;
}

/** Pastes text into a box as the clipboard would (a paste event carrying it). */
function paste(box: Locator, text: string) {
  return box.evaluate((el, pasted) => {
    const data = new DataTransfer();
    data.setData("text/plain", pasted);
    el.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

/** Reloads, accepting the "leave the page?" question if it comes; returns whether it came. */
async function reload(): Promise<boolean> {
  let asked = false;
  const onDialog = (dialog: Dialog) => {
    asked = dialog.type() === "beforeunload";
    void dialog.accept();
  };
  page.on("dialog", onDialog);
  await page.reload();
  page.off("dialog", onDialog);
  await composer(page).waitFor();
  return asked;
}

describe("the composer keeps what is typed", () => {
  it("keeps a draft per room across room switches and a reload, and forgets it once sent", async () => {
    await openRoom("Alpha");
    await composer(page).fill("half a thought for Alpha");
    await openRoom("Beta");
    expect(await composer(page).inputValue()).toBe("");
    await composer(page).fill("something for Beta");
    await openRoom("Alpha");
    expect(await composer(page).inputValue()).toBe("half a thought for Alpha");

    await reload();
    expect(await composer(page).inputValue()).toBe("half a thought for Alpha");
    await openRoom("Beta");
    expect(await composer(page).inputValue()).toBe("something for Beta");

    // Sent: the draft goes with it.
    await composer(page).press("Enter");
    await message(page, "something for Beta").waitFor();
    expect(await composer(page).inputValue()).toBe("");
    await reload();
    expect(await composer(page).inputValue()).toBe("");

    // A thread panel's composer keeps its own draft, apart from the room's.
    const root = message(page, "something for Beta");
    await root.hover();
    await root.getByRole("button", { name: "Reply in thread" }).click();
    const panel = page.getByRole("complementary", { name: "Thread" });
    await panel.getByLabel("Reply in thread").fill("a thought for the thread");
    await panel.getByRole("button", { name: "Close thread" }).click();
    await reload();
    expect(await composer(page).inputValue()).toBe("");
    await root.hover();
    await root.getByRole("button", { name: "Reply in thread" }).click();
    expect(await panel.getByLabel("Reply in thread").inputValue()).toBe("a thought for the thread");
    await panel.getByLabel("Reply in thread").press("Enter");
    await panel.locator("li.message:not(.pending-message)").filter({ hasText: "a thought for the thread" }).waitFor();
    expect(await panel.getByLabel("Reply in thread").inputValue()).toBe("");
    await panel.getByRole("button", { name: "Close thread" }).click();
  });

  it("keeps a message sent while the server is unreachable across a reload, and delivers it once", async () => {
    await page.goto(`/rooms/${alpha}`);
    await composer(page).waitFor();
    let blocked = 0;
    const sends = "**/api/v1/rooms/*/messages/*";
    await page.route(sends, (route) => {
      if (route.request().method() !== "PUT") return route.continue();
      blocked++;
      return route.abort("internetdisconnected");
    });
    await composer(page).fill("written on a train");
    await composer(page).press("Enter");
    const unsent = page.locator("li.pending-message").filter({ hasText: "written on a train" });
    await unsent.getByText("Not sent").waitFor();
    expect(await composer(page).inputValue()).toBe("");

    // Leaving asks first; after the reload the message is there, still pending, and tried again.
    expect(await reload()).toBe(true);
    await unsent.waitFor();
    const before = blocked;
    await expect.poll(() => blocked, { timeout: 15_000 }).toBeGreaterThan(before);
    await unsent.getByText("Not sent").waitFor();
    await page.screenshot({ path: screenshotPath("outbox-unsent-desktop") });

    // The connection comes back: it arrives by itself, once.
    await page.unroute(sends);
    await message(page, "written on a train").waitFor({ timeout: 40_000 });
    await expect.poll(() => unsent.count()).toBe(0);
    const sent = (await messagesOf(alpha)).filter((m) => m.content === "written on a train");
    expect(sent).toHaveLength(1);
    expect(await reload()).toBe(false);
    await message(page, "written on a train").waitFor();
    expect(await page.locator("li.pending-message").count()).toBe(0);
    expect((await messagesOf(alpha)).filter((m) => m.content === "written on a train")).toHaveLength(1);
  });

  it("keeps a file that could not be uploaded with its message, and sends both once the server is back", async () => {
    await page.goto(`/rooms/${alpha}`);
    await composer(page).waitFor();
    const uploads = "**/api/v1/attachments";
    await page.route(uploads, (route) => route.abort("internetdisconnected"));
    await page.locator(".composer input[type=file]").setInputFiles({
      name: "notes.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("notes written offline\n"),
    });
    await page
      .locator(".upload-chip.failed")
      .filter({ hasText: "notes.txt" })
      .getByText(/goes with the message later/)
      .waitFor();
    await composer(page).fill("with a file, offline");
    await composer(page).press("Enter");
    const unsent = page.locator("li.pending-message").filter({ hasText: "with a file, offline" });
    await unsent.getByText("Not sent").waitFor();
    expect(await unsent.getByText("notes.txt").count()).toBe(1);
    expect(await page.locator(".upload-chip").count()).toBe(0);

    expect(await reload()).toBe(true);
    await unsent.getByText("notes.txt").waitFor();
    await page.unroute(uploads);
    await message(page, "with a file, offline").getByText("notes.txt").waitFor({ timeout: 40_000 });
    const sent = (await messagesOf(alpha)).filter((m) => m.content === "with a file, offline");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.attachments).toHaveLength(1);
    expect(sent[0]?.attachments[0]).toMatchObject({ name: "notes.txt", size: 22 });
  });

  it("offers to edit a message the server refused, instead of retrying it forever", async () => {
    let tries = 0;
    const sends = "**/api/v1/rooms/*/messages/*";
    await page.route(sends, (route) => {
      if (route.request().method() !== "PUT") return route.continue();
      tries++;
      return route.fulfill({
        status: 422,
        contentType: "application/problem+json",
        body: JSON.stringify({
          type: "about:blank",
          title: "Validation failed",
          status: 422,
          code: "validation_failed",
          detail: "The request is not valid.",
          details: [{ path: "content", message: "expected something else" }],
        }),
      });
    });
    await composer(page).fill("a refused message");
    await composer(page).press("Enter");
    const refused = page.locator("li.pending-message").filter({ hasText: "a refused message" });
    await refused.getByText(/cannot be sent as it is/).waitFor();
    expect(await refused.getByRole("button", { name: "Retry" }).count()).toBe(0);

    // Kept across a reload as refused: not sent again by itself.
    await reload();
    await refused.getByText(/cannot be sent as it is/).waitFor();
    expect(tries).toBe(1);
    await page.unroute(sends);
    await refused.getByRole("button", { name: "Edit" }).click();
    // The text comes back through the draft, once the composer has rendered the change.
    await expect.poll(() => composer(page).inputValue()).toBe("a refused message");
    expect(await refused.count()).toBe(0);
    await composer(page).press("Enter");
    await message(page, "a refused message").waitFor();
  });

  it("refuses a message over the length limit before sending it, and keeps the text", async () => {
    await openRoom("Beta");
    const long = "x".repeat(5000);
    await composer(page).fill(long);
    const note = page.locator(".length-note");
    await note.getByText("This message is 1,000 characters over the limit of 4,000").waitFor();
    expect(await note.textContent()).toContain("5,000 / 4,000");
    expect(await page.getByRole("button", { name: "Send", exact: true }).isDisabled()).toBe(true);
    await composer(page).press("Enter");
    expect(await composer(page).inputValue()).toBe(long);
    expect(await page.locator("li.pending-message").count()).toBe(0);
    await page.screenshot({ path: screenshotPath("composer-too-long-desktop") });

    // Near the limit the counter shows, and sending works.
    await composer(page).fill("y".repeat(3600));
    await note.getByText("3,600 / 4,000").waitFor();
    expect(await page.getByRole("button", { name: "Send", exact: true }).isDisabled()).toBe(false);
    await composer(page).fill("");
  });

  it("offers a 300 KB paste as a text file, and sends it as one", async () => {
    const pasted = "All work and no play makes Jack a dull boy.\n".repeat(7000).slice(0, 300_000);
    await composer(page).focus();
    await paste(composer(page), pasted);
    const offer = page.locator(".long-paste");
    await offer.getByText("The pasted text (300,000 characters) is too long").waitFor();
    expect(await composer(page).inputValue()).toBe("");
    await page.screenshot({ path: screenshotPath("composer-long-paste-desktop") });
    await offer.getByRole("button", { name: "Attach as file" }).click();
    await page.locator(".upload-chip.done").filter({ hasText: "message.txt" }).waitFor();
    await composer(page).fill("the whole text, as a file");
    await composer(page).press("Enter");
    await message(page, "the whole text, as a file").getByText("message.txt").waitFor();
    const [sent] = (await messagesOf(beta)).filter((m) => m.content === "the whole text, as a file");
    expect(sent?.attachments).toHaveLength(1);
    expect(sent?.attachments[0]).toMatchObject({ name: "message.txt", mediaType: "text/plain", size: 300_000 });
  });

  it("shows the counter and the paste offer on a phone", async () => {
    const small = await browser.newContext({ viewport: phone, baseURL: server.url });
    const other = await small.newPage();
    other.on("pageerror", (error) => errors.push(String(error)));
    await other.goto(`/rooms/${alpha}`);
    await other.getByLabel("Username").fill("carol");
    await other.getByLabel("Password").fill(password);
    await other.getByRole("button", { name: "Sign in" }).click();
    const box = roomBox(other, "Alpha");
    await box.waitFor();
    await box.fill("z".repeat(4100));
    await other
      .locator(".length-note")
      .getByText(/100 characters over the limit/)
      .waitFor();
    expect(await other.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(phone.width);
    await other.screenshot({ path: screenshotPath("composer-too-long-phone") });
    await box.fill("");
    await paste(box, "w".repeat(10_000));
    await other.locator(".long-paste").waitFor();
    expect(await other.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(phone.width);
    await other.screenshot({ path: screenshotPath("composer-long-paste-phone") });
    await small.close();
    expect(errors).toEqual([]);
  });
});
