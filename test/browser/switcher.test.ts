import type { Browser, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Peer } from "../helpers/peer.ts";
import {
  apiAs,
  composer,
  desktop,
  launchBrowser,
  message,
  newUserPage,
  phone,
  register,
  screenshotFailures,
  screenshotPath,
  TestServer,
} from "./support.ts";

// Issue 17: the quick switcher (Ctrl+K, or its button), Alt+Up/Down between rooms (with Shift,
// between unread ones), editing a message not telling others that one is typing, and
// cancelling a pending join of a remote room (whose server is played by a peer).

// The peer serves on loopback.
const server = new TestServer({ FEDERATION_ALLOW_PRIVATE_ADDRESS: "true" });
let peer: Peer;
let browser: Browser;
let alice: Awaited<ReturnType<typeof newUserPage>>;
let bob: Awaited<ReturnType<typeof newUserPage>>;
const ids: Record<string, string> = {};

beforeAll(async () => {
  [peer] = await Promise.all([Peer.start(), server.start()]);
  browser = await launchBrowser();
  alice = await newUserPage(browser, server.url);
  bob = await newUserPage(browser, server.url);
  await register(alice.page, "alice", "Alice Liddell");
  await register(bob.page, "bob", "Bob Builder");
  const asAlice = await apiAs(server.url, "alice");
  const asBob = await apiAs(server.url, "bob");
  for (const name of ["Alpha club", "Beta lounge", "Gamma garden"]) {
    ids[name] = String((await asAlice("POST", "/rooms", { name, visibility: "public" })).id);
  }
  ids["Delta den"] = String((await asBob("POST", "/rooms", { name: "Delta den", visibility: "public" })).id);
  await asAlice("POST", `/rooms/${ids["Delta den"]}/join`);
  await asBob("POST", `/rooms/${ids["Gamma garden"]}/join`);
  // Alice and Bob are contacts (no conversation yet): the switcher offers him as a contact.
  await asAlice("POST", "/contacts", { user: "bob" });
  await asBob("POST", "/contacts", { user: "alice" });
}, 120_000);

screenshotFailures(() => ({ alice: alice?.page, bob: bob?.page }));

afterAll(async () => {
  await browser?.close();
  await Promise.all([server.dispose(), peer?.close()]);
});

const current = (page: Page) => new URL(page.url()).pathname;
const switcher = (page: Page) => page.getByRole("dialog", { name: "Jump to" });
const options = (page: Page) => switcher(page).getByRole("option");

/** The rooms' ids in the order the sidebar lists them. */
async function listed(page: Page): Promise<string[]> {
  const hrefs = await page
    .locator(".sidebar .room-list a.room-link")
    .evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
  return hrefs.map((h) => h.replace("/rooms/", ""));
}

describe("the quick switcher", () => {
  it("opens with Ctrl+K, finds by a fuzzy name, goes with Enter, and puts unread rooms first", async () => {
    const page = alice.page;
    await page.goto(`/rooms/${ids["Alpha club"]}`);
    await composer(page).waitFor();
    // Bob writes in Delta den: unread for Alice.
    const asBob = await apiAs(server.url, "bob");
    await asBob("PUT", `/rooms/${ids["Delta den"]}/messages/unread-1`, { content: "anyone here?" });
    await page.getByRole("link", { name: /^Delta den, 1 unread/ }).waitFor();

    await composer(page).click();
    await page.keyboard.press("Control+k");
    const box = switcher(page).getByRole("combobox");
    await box.waitFor();
    expect(await box.evaluate((el) => el === document.activeElement)).toBe(true);
    // With nothing typed: the unread room first, then the list's order; Bob as a contact.
    const names = await options(page).allTextContents();
    expect(names[0]).toContain("Delta den");
    expect(names.some((n) => n.includes("Bob Builder") && n.includes("Contact"))).toBe(true);
    await page.screenshot({ path: screenshotPath("switcher-desktop") });

    // "gmg" finds Gamma garden (letters in order, not in a row).
    await box.fill("gmg");
    expect(await options(page).allTextContents()).toEqual([expect.stringContaining("Gamma garden")]);
    // Only what matches is offered.
    await box.fill("lounge");
    expect(await options(page).allTextContents()).toEqual([expect.stringContaining("Beta lounge")]);
    await box.fill("a");
    expect((await options(page).allTextContents())[0]).toContain("Delta den");
    // Down, then Enter: the second match.
    const second = (await options(page).allTextContents())[1] ?? "";
    await box.press("ArrowDown");
    expect(await options(page).nth(1).getAttribute("aria-selected")).toBe("true");
    await box.press("Enter");
    await switcher(page).waitFor({ state: "detached" });
    const title = await page.locator("h1#room-title").textContent();
    expect(second).toContain(title ?? "?");
  });

  it("closes with Escape and gives the focus back", async () => {
    const page = alice.page;
    await composer(page).click();
    await page.keyboard.press("Control+k");
    await switcher(page).waitFor();
    await page.keyboard.press("Escape");
    await switcher(page).waitFor({ state: "detached" });
    expect(await composer(page).evaluate((el) => el === document.activeElement)).toBe(true);
    // With text selected in the composer, Ctrl+K still makes a link of it.
    await composer(page).fill("site");
    await composer(page).selectText();
    await page.keyboard.press("Control+k");
    expect(await composer(page).inputValue()).toContain("[site]");
    expect(await switcher(page).count()).toBe(0);
    await composer(page).fill("");
  });

  it("opens a conversation with a contact", async () => {
    const page = alice.page;
    await page.keyboard.press("Control+k");
    await switcher(page).getByRole("combobox").fill("bob bui");
    await switcher(page).getByRole("combobox").press("Enter");
    await page.locator("h1#room-title").filter({ hasText: "Bob Builder" }).waitFor();
  });

  it("opens from its button on a phone", async () => {
    const { context, page } = await newUserPage(browser, server.url, phone);
    await page.goto("/login");
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("button", { name: "Jump to a room or person" }).click();
    await switcher(page).getByRole("combobox").fill("beta");
    await options(page).first().waitFor();
    await page.screenshot({ path: screenshotPath("switcher-phone") });
    await options(page).first().click();
    await page.waitForURL(`**/rooms/${ids["Beta lounge"]}`);
    await context.close();
  });
});

describe("Alt+Up and Alt+Down", () => {
  it("move to the previous and next room in the list's order", async () => {
    const page = alice.page;
    await page.setViewportSize(desktop);
    await page.goto(`/rooms/${ids["Beta lounge"]}`);
    await composer(page).click();
    const order = await listed(page);
    const at = order.indexOf(ids["Beta lounge"] ?? "");
    expect(at).toBeGreaterThanOrEqual(0);
    const next = order[(at + 1) % order.length];
    const previous = order[(at - 1 + order.length) % order.length];
    await page.keyboard.press("Alt+ArrowDown");
    await page.waitForURL(`**/rooms/${next}`);
    await page.keyboard.press("Alt+ArrowUp");
    await page.waitForURL(`**/rooms/${ids["Beta lounge"]}`);
    await page.keyboard.press("Alt+ArrowUp");
    await page.waitForURL(`**/rooms/${previous}`);
    // Alt+Up in an empty composer moves on; it does not start editing the last message.
    await composer(page).click();
    await page.keyboard.press("Alt+ArrowDown");
    await page.waitForURL(`**/rooms/${ids["Beta lounge"]}`);

    // Two presses before the page has drawn the first room move two rooms on.
    await page.evaluate(() => {
      for (let i = 0; i < 2; i++) dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", altKey: true }));
    });
    await page.waitForURL(`**/rooms/${order[(at + 2) % order.length]}`);
  });

  it("with Shift, move to the previous and next unread room", async () => {
    const page = alice.page;
    const asBob = await apiAs(server.url, "bob");
    await asBob("PUT", `/rooms/${ids["Gamma garden"]}/messages/unread-2`, { content: "garden news" });
    await page.getByRole("link", { name: /^Gamma garden, 1 unread/ }).waitFor();
    const unread = [ids["Gamma garden"], ids["Delta den"]];
    const hasUnread = (await listed(page)).filter((id) => unread.includes(id));
    await page.keyboard.press("Alt+Shift+ArrowDown");
    await page.waitForURL(/\/rooms\//);
    const first = current(page).replace("/rooms/", "");
    expect(unread).toContain(first);
    // Read now; the other unread one is next either way.
    await page
      .getByRole("link", { name: /, 1 unread/ })
      .first()
      .waitFor();
    await page.keyboard.press("Alt+Shift+ArrowUp");
    const other = hasUnread.find((id) => id !== first);
    await page.waitForURL(`**/rooms/${other}`);
  });
});

describe("editing a message", () => {
  it("does not tell the others that one is typing", async () => {
    const room = ids["Gamma garden"] ?? "";
    await Promise.all([alice.page.goto(`/rooms/${room}`), bob.page.goto(`/rooms/${room}`)]);
    await Promise.all([composer(alice.page).waitFor(), composer(bob.page).waitFor()]);
    const typing: boolean[] = [];
    const watch = (request: Request) => {
      if (request.method() === "POST" && request.url().endsWith(`/rooms/${room}/typing`)) {
        typing.push(Boolean((request.postDataJSON() as { typing: boolean }).typing));
      }
    };
    alice.page.on("request", watch);

    await composer(alice.page).click();
    await composer(alice.page).fill("");
    await composer(alice.page).press("Enter");
    await composer(alice.page).pressSequentially("first draft");
    await bob.page.getByText("Alice Liddell is typing…").waitFor();
    expect(typing).toContain(true);
    await composer(alice.page).press("Enter");
    await message(bob.page, "first draft").waitFor();
    await bob.page.getByText("Alice Liddell is typing…").waitFor({ state: "detached" });

    // Up in the empty composer edits the last message: the words typed go to no one.
    typing.length = 0;
    await composer(alice.page).press("ArrowUp");
    await alice.page.getByRole("textbox", { name: "Edit message" }).waitFor();
    await composer(alice.page).pressSequentially(", edited with care");
    await composer(alice.page).press("Enter");
    await message(bob.page, "first draft, edited with care").waitFor();
    expect(typing.filter(Boolean)).toEqual([]);
    expect(await bob.page.getByText("Alice Liddell is typing…").count()).toBe(0);
    alice.page.off("request", watch);
  });
});

describe("a pending join of a remote room", () => {
  it("is cancelled from the room list, and the room's server is told", async () => {
    const club = await peer.actor("club", { type: "Group" });
    const page = alice.page;
    await page.setViewportSize(desktop);
    await page.goto("/join");
    await page.getByLabel("Room address or URL").fill(club.id);
    await page.getByRole("button", { name: "Join", exact: true }).click();
    const join = await peer.receive("alice's Join", (a) => a.type === "Join" && a.object === club.id);
    const cancel = page.getByRole("button", { name: "Cancel the request to join club" });
    await cancel.waitFor();
    // The room's page, where the join leads, offers the same.
    await page.getByRole("button", { name: "Cancel the request", exact: true }).waitFor();
    await page.screenshot({ path: screenshotPath("pending-join-desktop") });
    await page.setViewportSize(phone);
    await page.goto("/");
    await cancel.waitFor();
    await page.screenshot({ path: screenshotPath("pending-join-phone") });

    await cancel.click();
    await cancel.waitFor({ state: "detached" });
    const undo = await peer.receive("alice's Undo{Join}", (a) => a.type === "Undo");
    expect(undo).toMatchObject({ actor: join.actor, object: { type: "Join", id: join.id } });
    // Still gone after a reload: the server dropped the request too.
    await page.reload();
    await page.getByRole("link", { name: /^Alpha club/ }).waitFor();
    expect(await page.getByText("club", { exact: true }).count()).toBe(0);
    await page.setViewportSize(desktop);
  });
});
