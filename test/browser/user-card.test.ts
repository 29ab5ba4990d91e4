import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

const server = new TestServer();
let browser: Browser;
let alice: Awaited<ReturnType<typeof newUserPage>>;
let bob: Awaited<ReturnType<typeof newUserPage>>;
let lounge = "";

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  alice = await newUserPage(browser, server.url);
  bob = await newUserPage(browser, server.url);
  await register(alice.page, "alice", "Alice Liddell");
  await register(bob.page, "bob", "Bob Builder");
  await (await apiAs(server.url, "bob"))("PATCH", "/me", { bio: "Builds things.\nFixes them too." });
  lounge = await createRoom(alice.page, "Lounge", "public");
  await bob.page.goto(`/rooms/${lounge}`);
  await bob.page.getByRole("button", { name: "Join room" }).click();
  await composer(bob.page).fill("hello @alice, can we fix it?");
  await composer(bob.page).press("Enter");
  await message(bob.page, "can we fix it").waitFor();
});

/** Signs in on a fresh page through the form. */
async function signIn(page: Awaited<ReturnType<typeof newUserPage>>["page"], username: string) {
  await page.goto("/");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("Password").waitFor({ state: "detached" });
}

screenshotFailures(() => ({ alice: alice?.page, bob: bob?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

describe("the user card", () => {
  it("opens from a name in the timeline with the person's profile, and closes with Escape back to the name", async () => {
    const page = alice.page;
    await page.goto(`/rooms/${lounge}`);
    // The room's earlier joins load after its messages: wait for the timeline to settle.
    await page.locator(".membership-line", { hasText: "Bob Builder joined" }).waitFor();
    const name = message(page, "can we fix it").locator("a.author");
    await name.click();
    const card = page.getByRole("dialog", { name: "Bob Builder", exact: true });
    await card.waitFor();
    // A card, not the page: the address did not change.
    expect(new URL(page.url()).pathname).toBe(`/rooms/${lounge}`);
    expect(await card.textContent()).toContain("@bob");
    await card.getByText("Fixes them too.").waitFor();
    for (const action of ["Message", "Add contact", "Block", "View full profile"]) {
      await card.getByRole("button", { name: action, exact: true }).waitFor();
    }
    // Focus is inside the card; the popover sits by the name.
    expect(await card.evaluate((el) => el.contains(document.activeElement))).toBe(true);
    const [nameBox, cardBox] = [await name.boundingBox(), await card.boundingBox()];
    expect(Math.abs((cardBox?.y ?? 0) - ((nameBox?.y ?? 0) + (nameBox?.height ?? 0)))).toBeLessThan(20);
    await page.screenshot({ path: screenshotPath("user-card-desktop") });
    await page.keyboard.press("Escape");
    await card.waitFor({ state: "detached" });
    expect(await name.evaluate((el) => el === document.activeElement)).toBe(true);
  });

  it("opens from the keyboard, from an avatar, from the member list and from a mention", async () => {
    const page = alice.page;
    const name = message(page, "can we fix it").locator("a.author");
    await name.focus();
    await page.keyboard.press("Enter");
    const card = page.getByRole("dialog", { name: "Bob Builder", exact: true });
    await card.waitFor();
    await card.getByRole("button", { name: "Close" }).click();
    await card.waitFor({ state: "detached" });

    await message(page, "can we fix it").locator(".author-avatar .avatar").click();
    await card.waitFor();
    await page.keyboard.press("Escape");
    await card.waitFor({ state: "detached" });

    await page.locator(".member-panel a.member-name", { hasText: "Bob Builder" }).click();
    await card.waitFor();
    await page.keyboard.press("Escape");
    await card.waitFor({ state: "detached" });

    // A mention of oneself: one's own card, with the way to edit it instead of the actions.
    await message(page, "can we fix it").locator("a.mention").click();
    const mine = page.getByRole("dialog", { name: "Alice Liddell" });
    await mine.getByRole("button", { name: "Edit profile" }).waitFor();
    expect(await mine.getByRole("button", { name: "Block" }).count()).toBe(0);
    await page.keyboard.press("Escape");
    await mine.waitFor({ state: "detached" });
  });

  it("sends a contact request and opens the whole profile", async () => {
    const page = alice.page;
    await message(page, "can we fix it").locator("a.author").click();
    const card = page.getByRole("dialog", { name: "Bob Builder", exact: true });
    await card.getByRole("button", { name: "Add contact" }).click();
    await card.getByText("Contact request sent").waitFor();
    await card.getByRole("button", { name: "View full profile" }).click();
    await page.waitForURL(/\/users\/bob(%40|$)/);
    await page.locator(".profile h2", { hasText: "Bob Builder" }).waitFor();
  });

  it("lists the rooms one shares with the person, and opens one", async () => {
    const page = alice.page;
    const garden = (
      await (
        await apiAs(server.url, "alice")
      )("POST", "/rooms", { name: "Garden", visibility: "public" })
    ).id as string;
    await (await apiAs(server.url, "bob"))("POST", `/rooms/${garden}/join`);
    await page.goto(`/rooms/${lounge}`);
    await message(page, "can we fix it").locator("a.author").click();
    const card = page.getByRole("dialog", { name: "Bob Builder", exact: true });
    const shared = card.getByRole("region", { name: "2 shared rooms" });
    await shared.waitFor();
    // By name, each with its picture.
    expect(await shared.locator("button bdi").allTextContents()).toEqual(["Garden", "Lounge"]);
    expect(await shared.locator("button .avatar").count()).toBe(2);
    await shared.getByRole("button", { name: "Garden" }).click();
    await card.waitFor({ state: "detached" });
    await page.waitForURL(`**/rooms/${garden}`);
  });

  it("asks before blocking, naming who and what blocking does; Cancel blocks nobody", async () => {
    const page = alice.page;
    await page.goto(`/rooms/${lounge}`);
    await message(page, "can we fix it").locator("a.author").click();
    const card = page.getByRole("dialog", { name: "Bob Builder", exact: true });
    await card.getByRole("button", { name: "Block", exact: true }).click();
    const confirm = page.getByRole("dialog", { name: "Block Bob Builder?" });
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain("direct messages");
    // The safe choice has the focus.
    expect(await confirm.getByRole("button", { name: "Cancel" }).evaluate((el) => el === document.activeElement)).toBe(
      true,
    );
    await page.screenshot({ path: screenshotPath("user-card-block-confirm") });
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "detached" });
    const api = await apiAs(server.url, "alice");
    expect(((await api("GET", "/blocks")) as { blocks: unknown[] }).blocks).toHaveLength(0);

    await card.getByRole("button", { name: "Block", exact: true }).click();
    await confirm.getByRole("button", { name: "Block" }).click();
    await card.waitFor({ state: "detached" });
    await page.getByText("Message from a blocked user").first().waitFor();
    expect(((await api("GET", "/blocks")) as { blocks: unknown[] }).blocks).toHaveLength(1);

    // The profile page asks too.
    await api("DELETE", "/blocks/bob");
    await page.goto("/users/bob");
    await page.getByRole("button", { name: "Block", exact: true }).click();
    await page.getByRole("dialog", { name: "Block Bob Builder?" }).getByRole("button", { name: "Cancel" }).click();
    expect(((await api("GET", "/blocks")) as { blocks: unknown[] }).blocks).toHaveLength(0);
  });

  it("is a bottom sheet on a phone", async () => {
    const small = await newUserPage(browser, server.url, phone);
    try {
      await signIn(small.page, "alice");
      await small.page.goto(`/rooms/${lounge}`);
      await message(small.page, "can we fix it").locator("a.author").click();
      const card = small.page.getByRole("dialog", { name: "Bob Builder", exact: true });
      await card.getByText("Fixes them too.").waitFor();
      const box = await card.boundingBox();
      expect(box?.width).toBe(phone.width);
      expect(Math.round((box?.y ?? 0) + (box?.height ?? 0))).toBe(phone.height);
      await small.page.screenshot({ path: screenshotPath("user-card-phone") });
      await small.page.keyboard.press("Escape");
      await card.waitFor({ state: "detached" });
    } finally {
      await small.context.close();
    }
  });
});

describe("membership lines and relative times", () => {
  it("shows joins, leaves and renames between the messages as they happen", async () => {
    const page = alice.page;
    await page.goto(`/rooms/${lounge}`);
    await message(page, "can we fix it").waitFor();
    const carolPage = await newUserPage(browser, server.url);
    try {
      await register(carolPage.page, "carol", "Carol Danvers");
      const carol = await apiAs(server.url, "carol");
      await carol("POST", `/rooms/${lounge}/join`);
      const lines = page.locator(".membership-line");
      await lines.filter({ hasText: "Carol Danvers joined" }).waitFor();
      await carol("POST", `/rooms/${lounge}/leave`);
      await lines.filter({ hasText: "Carol Danvers left" }).waitFor();
      await (await apiAs(server.url, "alice"))("PATCH", `/rooms/${lounge}`, { name: "Workshop" });
      await lines.filter({ hasText: "The room was renamed to Workshop" }).waitFor();
      const recent =
        /^(Carol Danvers joined|Carol Danvers left|The room was renamed to Workshop) · (just now|\d+ min ago)$/;
      expect((await lines.allTextContents()).slice(-3)).toEqual([
        expect.stringMatching(recent),
        expect.stringMatching(recent),
        expect.stringMatching(recent),
      ]);
      // Earlier changes (the room's first members) are loaded from the server, before the message.
      const texts = async () =>
        page
          .locator(".messages > li")
          .evaluateAll((items) => items.map((li) => `${li.className.split(" ")[0]}: ${li.textContent}`));
      const before = await texts();
      const at = (list: string[], text: string) => list.findIndex((item) => item.includes(text));
      expect(at(before, "Bob Builder joined")).toBeGreaterThan(-1);
      expect(at(before, "Bob Builder joined")).toBeLessThan(at(before, "can we fix it"));
      expect(at(before, "can we fix it")).toBeLessThan(at(before, "Carol Danvers joined"));
      // They are part of the room's history: a reload shows them in the same places.
      await page.reload();
      await lines.filter({ hasText: "The room was renamed to Workshop" }).waitFor();
      await message(page, "can we fix it").waitFor();
      // Messages and lines only: read receipts and the new-messages line come and go.
      const kinds = (list: string[]) =>
        list.map((item) => item.split(":")[0]).filter((kind) => kind === "message" || kind === "membership-line");
      const after = await texts();
      expect(kinds(after)).toEqual(kinds(before));
      expect(at(after, "Carol Danvers left")).toBeGreaterThan(at(after, "can we fix it"));
      await page.screenshot({ path: screenshotPath("membership-lines-desktop") });
      // The name in a line opens the card too.
      await lines.filter({ hasText: "Carol Danvers joined" }).getByRole("link").click();
      await page.getByRole("dialog", { name: "Carol Danvers" }).waitFor();
      await page.keyboard.press("Escape");
    } finally {
      await carolPage.context.close();
    }
  });

  it("says how long ago with the full date on hover, and keeps it current with one coarse clock", async () => {
    const context = await browser.newContext({ viewport: phone, baseURL: server.url });
    const page = await context.newPage();
    try {
      await context.clock.install({ time: new Date() });
      // Not bob, whose message just before would share its header with this one.
      await signIn(page, "alice");
      await page.goto(`/rooms/${lounge}`);
      await composer(page).fill("timing this");
      await composer(page).press("Enter");
      const time = message(page, "timing this").locator(".message-head time");
      await time.filter({ hasText: "just now" }).waitFor();
      const datetime = await time.getAttribute("datetime");
      expect(Number.isNaN(Date.parse(datetime ?? ""))).toBe(false);
      expect(await time.getAttribute("title")).toContain(String(new Date(datetime ?? "").getFullYear()));
      // The message's element stays the same: only its time changes.
      await message(page, "timing this").evaluate((li) => {
        (li as HTMLElement & { marked?: boolean }).marked = true;
      });
      await page.clock.fastForward(5 * 60_000 + 1000);
      await time.filter({ hasText: "5 min ago" }).waitFor();
      expect(
        await message(page, "timing this").evaluate((li) => (li as HTMLElement & { marked?: boolean }).marked),
      ).toBe(true);
      await page.screenshot({ path: screenshotPath("relative-times-phone") });
    } finally {
      await context.close();
    }
  });
});
