import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PageServer, startPageServer } from "../helpers/pages.ts";
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

// The pages are on loopback: the server may fetch them only with private addresses allowed.
const server = new TestServer({ FEDERATION_ALLOW_PRIVATE_ADDRESS: "true" });
let browser: Browser;
let pages: PageServer;
let alice: Page | undefined;
let bob: Page | undefined;

beforeAll(async () => {
  pages = await startPageServer();
  await server.start();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server.dispose();
  await pages.close();
});

screenshotFailures(() => ({ alice, bob }));

describe("link previews", () => {
  it("show a card live to another member, with its image from our origin, until the sender removes it", async () => {
    const a = await newUserPage(browser, server.url);
    const b = await newUserPage(browser, server.url);
    alice = a.page;
    bob = b.page;
    await register(alice, "alice", "Alice");
    await register(bob, "bob", "Bob");
    const roomId = await createRoom(alice, "Links", "public");
    await bob.goto("/directory");
    await bob.getByRole("button", { name: /^Join / }).click();
    await bob.waitForURL(`**/rooms/${roomId}`);

    await composer(alice).fill(`Read this: ${pages.origin}/og`);
    await composer(alice).press("Enter");

    // Bob has the room open: the card arrives by the stream, after the server fetched the page.
    const card = message(bob, "Read this").locator(".link-card");
    await card.waitFor({ timeout: 30_000 });
    expect(await card.locator(".link-card-title").textContent()).toBe("The & Open Graph title");
    expect(await card.locator(".link-card-site").textContent()).toBe("Example Site");
    expect(await card.locator(".link-card-title").getAttribute("href")).toBe(`${pages.origin}/og`);
    const image = card.locator("img.link-card-image");
    expect(new URL((await image.getAttribute("src")) ?? "").origin).toBe(server.url);
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(64);
    // Only the sender may remove it.
    expect(await message(bob, "Read this").getByRole("button", { name: "Remove link previews" }).count()).toBe(0);
    await bob.screenshot({ path: screenshotPath("link-preview-card") });

    await message(alice, "Read this").locator(".link-card").waitFor();
    await message(alice, "Read this").getByRole("button", { name: "Remove link previews" }).click();
    await card.waitFor({ state: "detached" });
    await bob.reload();
    await message(bob, "Read this").waitFor();
    expect(await message(bob, "Read this").locator(".link-card").count()).toBe(0);

    // Bob turns cards off: a live card for a new message is not shown to him, but to Alice.
    await bob.goto("/settings");
    await bob.getByRole("checkbox", { name: /Show cards for links/ }).uncheck();
    await bob.getByText("Link previews are off.").waitFor();
    await bob.goto(`/rooms/${roomId}`);
    await composer(alice).fill(`Another: ${pages.origin}/twitter`);
    await composer(alice).press("Enter");
    await message(alice, "Another").locator(".link-card").waitFor({ timeout: 30_000 });
    await message(bob, "Another").waitFor();
    expect(await message(bob, "Another").locator(".link-card").count()).toBe(0);
    expect(a.seen.errors).toEqual([]);
    expect(b.seen.errors).toEqual([]);
  });
});
