import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { png } from "../api/support.ts";
import {
  apiAs,
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

// Issue 17, items 3 and 6: a profile change shows at once everywhere it is shown, and direct
// conversations are named and pictured by the other person.

const server = new TestServer();
let browser: Browser;
let alice: Awaited<ReturnType<typeof newUserPage>>;
let bob: Awaited<ReturnType<typeof newUserPage>>;
/** Alice's second tab, in the same browser (her own other session). */
let aliceTab: Page;
let lounge = "";

/** The sidebar link of a room, by the name it shows. */
function roomLink(page: Page, name: string) {
  return page.locator(".room-link").filter({ has: page.locator(".room-name", { hasText: name }) });
}

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  alice = await newUserPage(browser, server.url);
  bob = await newUserPage(browser, server.url);
  await register(alice.page, "alice", "Alice");
  await register(bob.page, "bob", "Bob Builder");
  lounge = await createRoom(alice.page, "Lounge", "public");
  await bob.page.goto(`/rooms/${lounge}`);
  await bob.page.getByRole("button", { name: "Join room" }).click();
  await composer(alice.page).fill("hello bob");
  await composer(alice.page).press("Enter");
  await message(bob.page, "hello bob").waitFor();
  aliceTab = await alice.context.newPage();
  await aliceTab.goto(`/rooms/${lounge}`);
  await message(aliceTab, "hello bob").waitFor();
});

screenshotFailures(() => ({ alice: alice?.page, bob: bob?.page, aliceTab }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

describe("live profiles", () => {
  it("shows Alice's new name in Bob's open room within 2 s, and in her own other tab", async () => {
    const author = message(bob.page, "hello bob").locator(".author");
    await expect.poll(() => author.textContent()).toBe("Alice");
    await alice.page.goto("/settings");
    await alice.page.getByLabel("Display name").fill("Alice Cooper");
    await alice.page.getByRole("button", { name: "Save profile" }).click();
    await alice.page.getByText("Profile saved.").waitFor();
    // Live: the timeline, the member list, and Alice's other tab, with no reload.
    await author.filter({ hasText: "Alice Cooper" }).waitFor({ timeout: 2000 });
    await bob.page.locator(".member-list .member-name", { hasText: "Alice Cooper" }).waitFor({ timeout: 2000 });
    await aliceTab.locator(".me-name", { hasText: "Alice Cooper" }).waitFor({ timeout: 2000 });
    await message(aliceTab, "hello bob").locator(".author", { hasText: "Alice Cooper" }).waitFor({ timeout: 2000 });
    await bob.page.screenshot({ path: screenshotPath("live-profiles-renamed-desktop") });
  });

  it("names and pictures a DM by the other person, never oneself, and follows their changes", async () => {
    const form = new FormData();
    form.set("file", new File([new Uint8Array(png(32, 32, { seed: 7 }))], "me.png", { type: "image/png" }));
    const { avatarUrl } = (await (
      await apiAs(server.url, "alice")
    )("PUT", "/me/avatar", form)) as { avatarUrl: string };

    await bob.page.goto("/users/alice");
    await bob.page.getByRole("button", { name: "Message" }).click();
    await bob.page.waitForURL(/\/rooms\/[0-9a-f-]{36}$/);
    await expect.poll(() => bob.page.locator("#room-title").textContent()).toBe("Alice Cooper");
    const link = roomLink(bob.page, "Alice Cooper");
    await expect.poll(() => link.locator("img.avatar").getAttribute("src")).toBe(avatarUrl);
    await expect.poll(() => bob.page.locator(".room-link .room-name", { hasText: "bob" }).count()).toBe(0);
    // Bob opened it, but in a conversation nobody is shown as its owner.
    const members = bob.page.locator(".member-list");
    await members.locator(".member-name", { hasText: "Alice Cooper" }).waitFor();
    expect(await members.textContent()).not.toMatch(/owner/);

    // Alice's list names it after Bob, and follows his rename live.
    await roomLink(alice.page, "Bob Builder").waitFor();
    await (await apiAs(server.url, "bob"))("PATCH", "/me", { displayName: "Robert" });
    await roomLink(alice.page, "Robert").waitFor({ timeout: 2000 });
    await bob.page.screenshot({ path: screenshotPath("live-profiles-dm-desktop") });

    const small = await bob.context.newPage();
    await small.setViewportSize(phone);
    await small.goto("/");
    await roomLink(small, "Alice Cooper").waitFor();
    await small.screenshot({ path: screenshotPath("live-profiles-dm-list-phone") });
    await roomLink(small, "Alice Cooper").click();
    await expect.poll(() => small.locator("#room-title").textContent()).toBe("Alice Cooper");
    await small.screenshot({ path: screenshotPath("live-profiles-dm-phone") });
    await small.close();
  });

  it("pictures a group conversation by two of its others, named by them", async () => {
    const carol = await fetch(`${server.url}/api/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "carol", password: "correct horse battery", displayName: "Carol" }),
    });
    expect(carol.status).toBe(201);
    await (await apiAs(server.url, "bob"))("POST", "/dms", { users: ["alice", "carol"] });
    const link = roomLink(bob.page, "Alice Cooper, Carol");
    await link.waitFor();
    expect(await link.locator(".avatar-stack .avatar").count()).toBe(2);
    await bob.page.locator(".sidebar").screenshot({ path: screenshotPath("live-profiles-group-dm-desktop") });
  });
});
