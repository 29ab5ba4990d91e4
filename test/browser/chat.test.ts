import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

const server = new TestServer();
let browser: Browser;
let alice: Awaited<ReturnType<typeof newUserPage>>;
let bob: Awaited<ReturnType<typeof newUserPage>>;
let roomId = "";

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  alice = await newUserPage(browser, server.url);
  bob = await newUserPage(browser, server.url);
});

screenshotFailures(() => ({ alice: alice?.page, bob: bob?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

async function visible(page: Page, selector: string, timeout = 15_000) {
  await page.locator(selector).first().waitFor({ state: "visible", timeout });
}

describe("two people in two browsers", () => {
  it("sign up, create a private room, and invite by link", async () => {
    await register(alice.page, "alice", "Alice Liddell");
    await register(bob.page, "bob", "Bob Builder");

    roomId = await createRoom(alice.page, "Tea party", "private", "Mad hatters only");
    await visible(alice.page, "h1#room-title");
    expect(await alice.page.locator("h1#room-title").textContent()).toBe("Tea party");
    expect(await alice.page.getByRole("link", { name: /Tea party/ }).count()).toBeGreaterThan(0);

    // The room settings make an invite with an expiry and a use limit.
    await alice.page.getByRole("link", { name: "Room settings" }).click();
    await alice.page.getByRole("tab", { name: "Invites" }).click();
    await alice.page.getByLabel("Uses").selectOption("1");
    await alice.page.getByRole("button", { name: "Create invite link" }).click();
    const link = alice.page.getByLabel("New invite link (shown once)");
    await link.waitFor();
    const inviteUrl = await link.inputValue();
    expect(inviteUrl).toMatch(new RegExp(`^${server.url}/invite/[A-Za-z0-9_-]{16,64}$`));
    await alice.page.locator(".plain-list li").filter({ hasText: "used 0 of 1" }).waitFor();
    await alice.page.keyboard.press("Escape");
    await alice.page.waitForURL(`**/rooms/${roomId}`);

    // Bob opens the invite page: he sees the room before accepting.
    await bob.page.goto(inviteUrl);
    await bob.page.getByRole("heading", { name: "Tea party" }).waitFor();
    expect(await bob.page.getByText("Mad hatters only").isVisible()).toBe(true);
    await bob.page.getByRole("button", { name: "Accept invitation" }).click();
    await bob.page.waitForURL(`**/rooms/${roomId}`);
    await visible(bob.page, ".composer textarea");
  });

  it("shows presence and typing live", async () => {
    // Alice's member panel (open by default on a wide screen) shows Bob arrive, online.
    const bobInPanel = alice.page.locator(".member-panel .member").filter({ hasText: "Bob Builder" });
    await bobInPanel.waitFor();
    await bobInPanel.locator(".presence-online").waitFor();

    await composer(bob.page).click();
    await composer(bob.page).pressSequentially("Hello Ali");
    await alice.page.getByText("Bob Builder is typing…").waitFor();
  });

  it("sends with Enter, breaks lines with Shift+Enter, and replies with a quote", async () => {
    await composer(bob.page).pressSequentially("ce");
    await composer(bob.page).press("Shift+Enter");
    await composer(bob.page).pressSequentially("second **line**");
    await composer(bob.page).press("Enter");
    const received = message(alice.page, "Hello Alice");
    await received.waitFor();
    expect(await received.locator(".content strong").textContent()).toBe("line");
    // The notice ends with the message.
    await alice.page.getByText("Bob Builder is typing…").waitFor({ state: "detached" });
    expect(await composer(bob.page).inputValue()).toBe("");

    await received.hover();
    await received.getByRole("button", { name: "Reply", exact: true }).click();
    expect(await alice.page.locator(".composer-context").textContent()).toContain("Replying to");
    await composer(alice.page).fill("Hi Bob, tea?");
    await composer(alice.page).press("Enter");
    const reply = message(bob.page, "Hi Bob, tea?");
    await reply.waitFor();
    expect(await reply.locator(".reply-quote").textContent()).toContain("Hello Alice");
    // Clicking the quote jumps to (and focuses) the original.
    await reply.locator(".reply-quote").click();
    await bob.page.waitForFunction(() => document.activeElement?.textContent?.includes("Hello Alice") ?? false);

    // Bob has read her reply: Alice sees his receipt under it, and none of her own.
    await message(alice.page, "Hi Bob, tea?")
      .locator("xpath=following-sibling::li[1][@class='read-receipts' and @aria-label='Seen by Bob Builder']")
      .waitFor();
    expect(await alice.page.locator(".read-receipts").count()).toBe(1);
  });

  it("reacts through the picker and shows counts and who reacted", async () => {
    const target = message(bob.page, "Hi Bob, tea?");
    await target.hover();
    await target.getByRole("button", { name: "Add reaction" }).click();
    await bob.page.getByLabel("Search emoji").fill("thumbs");
    await bob.page.getByRole("button", { name: "thumbs up", exact: true }).click();
    const chip = message(alice.page, "Hi Bob, tea?").locator(".chip");
    await chip.waitFor();
    expect((await chip.textContent())?.replace(/\s+/g, "")).toBe("👍1");
    expect(await chip.getAttribute("aria-pressed")).toBe("false");
    await chip.hover();
    await alice.page.waitForFunction(
      () => document.querySelector(".chip")?.getAttribute("title")?.includes("Bob Builder") ?? false,
    );
    // Alice adds hers by clicking the chip: both see two.
    await chip.click();
    await alice.page.waitForFunction(() => document.querySelector(".chip")?.textContent?.includes("2") ?? false);
    const bobChip = message(bob.page, "Hi Bob, tea?").locator(".chip");
    await bob.page.waitForFunction(() => document.querySelector(".chip.mine")?.textContent?.includes("2") ?? false);
    expect(await bobChip.getAttribute("aria-pressed")).toBe("true");
  });

  it("edits the last message with the Up key and shows its history", async () => {
    await composer(alice.page).click();
    await composer(alice.page).press("ArrowUp");
    await expect.poll(() => composer(alice.page).inputValue()).toBe("Hi Bob, tea?");
    await alice.page.locator(".composer-context").filter({ hasText: "Editing your message" }).waitFor();
    await composer(alice.page).fill("Hi Bob, tea or coffee?");
    await composer(alice.page).press("Enter");
    const edited = message(bob.page, "Hi Bob, tea or coffee?");
    await edited.waitFor();
    await edited.getByRole("button", { name: "(edited)" }).click();
    const dialog = bob.page.getByRole("dialog", { name: "Edit history" });
    await dialog.getByText("Hi Bob, tea?", { exact: true }).waitFor();
    await bob.page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  it("deletes after a confirmation", async () => {
    const mine = message(alice.page, "Hi Bob, tea or coffee?");
    await mine.hover();
    await mine.getByRole("button", { name: "Delete" }).click();
    const confirm = alice.page.getByRole("dialog", { name: "Delete message?" });
    // The safe choice has the focus.
    await confirm.waitFor();
    await expect.poll(() => alice.page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    await confirm.getByRole("button", { name: "Delete" }).click();
    await bob.page.locator(".messages .deleted").filter({ hasText: "Message deleted" }).waitFor();
    expect(await message(bob.page, "Hi Bob, tea or coffee?").count()).toBe(0);
  });

  it("autocompletes mentions and counts them for the mentioned", async () => {
    await alice.page.goto("/");
    await composer(bob.page).fill("");
    await composer(bob.page).pressSequentially("@ali");
    const option = bob.page.getByRole("option", { name: /Alice Liddell/ });
    await option.waitFor();
    await composer(bob.page).press("Enter");
    expect(await composer(bob.page).inputValue()).toBe("@alice ");
    await composer(bob.page).pressSequentially("are you there?");
    await composer(bob.page).press("Enter");
    // Alice is on the home screen: the room shows a mention badge.
    await alice.page.getByRole("link", { name: /Tea party, 1 mention/ }).waitFor();
    await alice.page
      .getByRole("link", { name: /Tea party/ })
      .first()
      .click();
    await message(alice.page, "are you there?").waitFor();
    expect(await message(alice.page, "are you there?").getAttribute("class")).toContain("mentioned");
    // The "new messages" line sits where she had read to: right before it.
    expect(await alice.page.locator(".new-line + li.message .content").textContent()).toContain("are you there?");
  });

  it("keeps screenshots at desktop and phone widths", async () => {
    await alice.page.screenshot({ path: screenshotPath("desktop-room"), fullPage: false });
    // A phone opens the room.
    await bob.page.setViewportSize(phone);
    await bob.page.reload();
    await message(bob.page, "are you there?").waitFor();
    await bob.page.screenshot({ path: screenshotPath("phone-room") });
    // At 360 px the room list is its own screen, and nothing overflows sideways.
    await bob.page.getByRole("link", { name: "Back to rooms" }).click();
    await bob.page.getByRole("navigation", { name: "Rooms" }).waitFor();
    expect(await bob.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(phone.width);
    await bob.page.screenshot({ path: screenshotPath("phone-room-list") });
    await bob.page.goto("/settings");
    await bob.page.getByRole("heading", { name: "Sessions" }).waitFor();
    await bob.page.screenshot({ path: screenshotPath("phone-settings"), fullPage: true });
    await bob.page.setViewportSize({ width: 1280, height: 800 });
    await alice.page.emulateMedia({ colorScheme: "dark" });
    await alice.page.screenshot({ path: screenshotPath("desktop-room-dark") });
    await alice.page.emulateMedia({ colorScheme: "light" });
    console.log(`screenshots: ${screenshotPath("*")}`);
  });

  it("measures the time from navigation to an interactive room view", async () => {
    const page = await alice.context.newPage();
    const started = performance.now();
    await page.goto(`/rooms/${roomId}`);
    await page.locator(".composer textarea").waitFor();
    await page.locator(".messages li.message").first().waitFor();
    const ms = performance.now() - started;
    const nav = await page.evaluate(() => {
      const entry = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
      return entry
        ? { domContentLoaded: Math.round(entry.domContentLoadedEventEnd), load: Math.round(entry.loadEventEnd) }
        : null;
    });
    console.log(
      `time to interactive room view: ${Math.round(ms)} ms (DOMContentLoaded ${nav?.domContentLoaded} ms, load ${nav?.load} ms)`,
    );
    expect(await page.locator(".composer textarea").isEditable()).toBe(true);
    await page.close();
  });

  it("shares the session across tabs and revokes another session", async () => {
    // A second tab of Alice's browser picks up the session from the cookie.
    const tab = await alice.context.newPage();
    await tab.goto("/settings");
    await tab.getByRole("heading", { name: "Sessions" }).waitFor();
    // Two tabs refreshing at once must not end the session (refreshes take turns).
    await Promise.all([tab.reload(), alice.page.reload()]);
    await tab.getByRole("heading", { name: "Sessions" }).waitFor();
    await alice.page.getByRole("navigation", { name: "Rooms" }).waitFor();
    await tab.reload();
    await tab.getByRole("heading", { name: "Sessions" }).waitFor();
    await tab.close();

    // A separate sign-in of Bob's, revoked from his settings, is signed out.
    const other = await newUserPage(browser, server.url);
    await other.page.goto("/");
    await other.page.getByLabel("Username").fill("bob");
    await other.page.getByLabel("Password").fill("correct horse battery");
    await other.page.getByRole("button", { name: "Sign in" }).click();
    await other.page.getByRole("navigation", { name: "Rooms" }).waitFor();
    await bob.page.goto("/settings");
    const revoke = bob.page.getByRole("button", { name: /^Revoke / });
    await revoke.first().waitFor();
    expect(await revoke.count()).toBe(1);
    await revoke.click();
    await bob.page.getByText("Session revoked.").waitFor();
    await other.page.getByRole("heading", { name: "Sign in to fedchat" }).waitFor({ timeout: 20_000 });
    await other.context.close();
  });

  it("recovers after the server restarts, without losing messages", async () => {
    await alice.page.goto(`/rooms/${roomId}`);
    await bob.page.goto(`/rooms/${roomId}`);
    await visible(alice.page, ".composer textarea");
    await visible(bob.page, ".composer textarea");
    await server.stop();
    await alice.page.getByRole("status").filter({ hasText: "Offline" }).waitFor({ timeout: 20_000 });
    // A message sent while the server is down fails visibly, with Retry and Discard…
    await composer(alice.page).fill("sent while down");
    await composer(alice.page).press("Enter");
    const failed = alice.page.locator(".pending-message.failed").filter({ hasText: "sent while down" });
    await failed.getByRole("button", { name: "Retry" }).waitFor();
    await server.start();
    await alice.page.getByRole("status").filter({ hasText: "Offline" }).waitFor({ state: "detached", timeout: 40_000 });
    await bob.page.getByRole("status").filter({ hasText: "Offline" }).waitFor({ state: "detached", timeout: 40_000 });
    // …and goes by itself once the stream is back.
    await message(bob.page, "sent while down").waitFor();
    await alice.page.locator(".pending-message").waitFor({ state: "detached" });
    // The stream is live again both ways.
    await composer(bob.page).fill("back online");
    await composer(bob.page).press("Enter");
    await message(alice.page, "back online").waitFor();
    expect(await message(alice.page, "sent while down").count()).toBe(1);
  });

  it("never showed a dialog or an error", () => {
    expect(alice.seen.dialogs).toEqual([]);
    expect(bob.seen.dialogs).toEqual([]);
    expect(alice.seen.errors).toEqual([]);
    expect(bob.seen.errors).toEqual([]);
  });
});
