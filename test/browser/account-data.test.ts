import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTarGz } from "../helpers/tar.ts";
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

// Issue 19, item 5 in the browser: the settings page asks for an archive of one's data and
// downloads it, then deletes the account; the other member's timeline shows "Deleted user".

const server = new TestServer();
let browser: Browser;
let ann: Awaited<ReturnType<typeof newUserPage>>;
let ben: Awaited<ReturnType<typeof newUserPage>>;
let roomId: string;

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  ann = await newUserPage(browser, server.url);
  ben = await newUserPage(browser, server.url);
  await register(ann.page, "ann", "Ann");
  await register(ben.page, "ben", "Ben");
  roomId = await createRoom(ann.page, "Garden", "public");
  await ben.page.goto(`/rooms/${roomId}`);
  await ben.page.getByRole("button", { name: "Join room" }).click();
  await composer(ben.page).fill("ben was here");
  await composer(ben.page).press("Enter");
  await message(ben.page, "ben was here").waitFor();
  // Two users, a room and a message on a shared, loaded machine: more than the default minute or two.
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

screenshotFailures(() => ({ ann: ann?.page, ben: ben?.page }));

describe("one's data in the settings", () => {
  it("asks for an archive, shows when it is ready, and downloads it", async () => {
    const { page } = ben;
    await page.goto("/settings");
    await page.getByText("No archive yet.").waitFor();
    await page.getByRole("button", { name: "Ask for an archive" }).click();
    await page.getByRole("button", { name: "Download archive" }).waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download archive" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^fedchat-export-\d{4}-\d\d-\d\d\.tar\.gz$/);
    const path = await download.path();
    const { readFile } = await import("node:fs/promises");
    const entries = readTarGz(await readFile(path));
    const messages = JSON.parse(entries.get("messages/00001.json")?.toString() ?? "[]") as { content: string }[];
    expect(messages.map((m) => m.content)).toEqual(["ben was here"]);
    await page.screenshot({ path: screenshotPath("account-data-export") });
  });

  it("deletes the account with the password, and the room shows Ben as a deleted user", async () => {
    const { page } = ben;
    await page.goto("/settings");
    const section = page.getByRole("region", { name: "Delete your account" });
    await section.getByLabel("Password").fill("not my password");
    await section.getByRole("button", { name: "Delete my account" }).click();
    await section.getByRole("alert").filter({ hasText: "The password is wrong." }).waitFor();
    await section.getByLabel("Password").fill("correct horse battery");
    await page.screenshot({ path: screenshotPath("account-data-delete") });
    await section.getByRole("button", { name: "Delete my account" }).click();
    await page.getByRole("button", { name: "Sign in", exact: true }).waitFor({ timeout: 15_000 });

    await ann.page.goto(`/rooms/${roomId}`);
    const his = message(ann.page, "ben was here");
    await his.waitFor();
    await expect.poll(() => his.locator(".author").textContent()).toContain("Deleted user");
    expect(ann.seen.errors).toEqual([]);
  });
});
