import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { png } from "../api/support.ts";
import {
  composer,
  createRoom,
  launchBrowser,
  message,
  newUserPage,
  register,
  screenshotFailures,
  TestServer,
} from "./support.ts";

const server = new TestServer();
let browser: Browser;
let olive: Awaited<ReturnType<typeof newUserPage>>;
let max: Awaited<ReturnType<typeof newUserPage>>;

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  olive = await newUserPage(browser, server.url);
  max = await newUserPage(browser, server.url);
  await register(olive.page, "olive", "Olive Owner");
  await register(max.page, "max", "Max Member");
});

screenshotFailures(() => ({ olive: olive?.page, max: max?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

/** The API as a script would use it, to prepare what the browsers then look at. */
async function apiAs(username: string) {
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse battery", refreshTokenIn: "body" }),
  });
  expect(login.status).toBe(200);
  const { accessToken } = (await login.json()) as { accessToken: string };
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status, `${method} ${path}: ${res.status}`).toBeLessThan(300);
    return res.status === 204 ? null : ((await res.json()) as Record<string, unknown>);
  };
}

async function openMemberMenu(page: Page, name: string) {
  const member = page.locator(".member-panel .member").filter({ hasText: name });
  await member.waitFor();
  await member.locator("summary").click();
  return member;
}

describe("rooms, history and moderation", () => {
  it("finds a room in the directory and reads its history back to the start", async () => {
    const api = await apiAs("olive");
    const room = (await api("POST", "/rooms", { name: "History club", visibility: "public" })) as { id: string };
    for (let i = 1; i <= 130; i++) {
      await api("PUT", `/rooms/${room.id}/messages/seed-${i}`, { content: `message number ${i}` });
    }
    await max.page.goto("/directory");
    await max.page.getByLabel("Search public rooms").fill("histo");
    await max.page.getByRole("button", { name: "Join History club" }).click();
    await max.page.waitForURL(`**/rooms/${room.id}`);
    await message(max.page, "message number 130").waitFor();
    // Only the newest page is loaded at first.
    const first = max.page.locator(".messages .content").filter({ hasText: /^message number 1$/ });
    expect(await first.count()).toBe(0);
    expect(await max.page.locator(".messages li.message").count()).toBeLessThanOrEqual(100);

    // Scrolling up loads older pages until the start of the room.
    const timeline = max.page.locator(".timeline");
    for (let i = 0; i < 10 && !(await max.page.getByText("This is the start of History club.").isVisible()); i++) {
      await timeline.evaluate((el) => {
        el.scrollTop = 0;
      });
      await max.page.waitForTimeout(300);
    }
    await max.page.getByText("This is the start of History club.").waitFor();
    expect(await max.page.locator(".messages li.message").count()).toBe(130);
    expect((await max.page.locator(".messages li.message .content").first().textContent())?.trim()).toBe(
      "message number 1",
    );
    // Consecutive messages by one author share one header; one day separator.
    expect(await max.page.locator(".messages li.message:not(.continued)").count()).toBeLessThan(10);
    expect(await max.page.locator(".messages .day-separator").count()).toBe(1);

    // Scrolled up, a new message does not pull the view down; the jump button says so.
    const scrolled = await timeline.evaluate((el) => el.scrollTop);
    await api("PUT", `/rooms/${room.id}/messages/late`, { content: "a late message" });
    const jump = max.page.getByRole("button", { name: /Jump to latest/ });
    await jump.waitFor();
    await max.page.locator(".messages li.message").filter({ hasText: "a late message" }).waitFor({ state: "attached" });
    expect(Math.abs((await timeline.evaluate((el) => el.scrollTop)) - scrolled)).toBeLessThan(5);
    await jump.click();
    await max.page.waitForFunction(() => {
      const el = document.querySelector(".timeline");
      return el != null && el.scrollHeight - el.clientHeight - el.scrollTop < 40;
    });
    await jump.waitFor({ state: "detached" });
  });

  it("changes room settings, seen live by members", async () => {
    const roomId = await createRoom(olive.page, "Garden", "public", "Plants and such");
    await max.page.goto(`/rooms/${roomId}`);
    await max.page.getByRole("button", { name: "Join room" }).click();
    await composer(max.page).waitFor();

    await olive.page.getByRole("link", { name: "Room settings" }).click();
    const dialog = olive.page.getByRole("dialog");
    await dialog.getByLabel("Name", { exact: true }).fill("Secret garden");
    await dialog.getByLabel("Topic").fill("Roses only");
    await dialog.getByLabel("Use a colour for this room").check();
    await dialog.getByLabel("Theme colour").fill("#aa3300");
    await dialog.locator("input[name=visibility][value=private]").check();
    await dialog.getByRole("button", { name: "Save" }).click();
    await olive.page.getByText("Room saved.").waitFor();

    await max.page.locator("h1#room-title").filter({ hasText: "Secret garden" }).waitFor();
    await max.page.locator(".room-head .topic").filter({ hasText: "Roses only" }).waitFor();
    await max.page.waitForFunction(
      () => getComputedStyle(document.querySelector(".room-head") as Element).borderTopColor === "rgb(170, 51, 0)",
    );
    await max.page
      .getByRole("link", { name: /Secret garden/ })
      .first()
      .waitFor();

    // The moderation log is kept with the room.
    await dialog.getByRole("tab", { name: "Moderation log" }).click();
    await dialog.locator(".log li").first().waitFor();
    await olive.page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  it("changes a member's role, removes and bans them", async () => {
    const roomId = new URL(olive.page.url()).pathname.split("/")[2] as string;
    let member = await openMemberMenu(olive.page, "Max Member");
    await member.getByLabel("Role").selectOption("moderator");
    await max.page.locator(".member-panel .member").filter({ hasText: "moderator" }).waitFor();
    // A moderator may now invite: the settings show the Invites tab.
    await max.page.getByRole("link", { name: "Room settings" }).click();
    await max.page.getByRole("tab", { name: "Invites" }).waitFor();
    await max.page.keyboard.press("Escape");

    member = await openMemberMenu(olive.page, "Max Member");
    await member.getByRole("button", { name: "Remove from room" }).click();
    const kick = olive.page.getByRole("dialog", { name: /Remove Max Member/ });
    await kick.getByLabel(/Reason/).fill("testing the kick");
    await kick.getByRole("button", { name: "Remove" }).click();
    await max.page.getByText("You were removed from the room.").waitFor();
    await max.page.getByRole("link", { name: /Secret garden/ }).waitFor({ state: "detached" });

    // Banned: Max cannot come back, until unbanned.
    const api = await apiAs("olive");
    const invite = (await api("POST", `/rooms/${roomId}/invites`, { maxUses: 5 })) as { code: string };
    await max.page.goto(`/invite/${invite.code}`);
    await max.page.getByRole("button", { name: "Accept invitation" }).click();
    await max.page.waitForURL(`**/rooms/${roomId}`);
    member = await openMemberMenu(olive.page, "Max Member");
    await member.getByRole("button", { name: "Ban" }).click();
    await olive.page
      .getByRole("dialog", { name: /Ban Max Member/ })
      .getByRole("button", { name: "Ban" })
      .click();
    await max.page.getByText("You were banned from the room.").waitFor();
    await max.page.goto(`/invite/${invite.code}`);
    await max.page.getByRole("button", { name: "Accept invitation" }).click();
    await max.page.getByRole("alert").filter({ hasText: /./ }).first().waitFor();
    expect(new URL(max.page.url()).pathname).toBe(`/invite/${invite.code}`);

    await olive.page.getByRole("link", { name: "Room settings" }).click();
    await olive.page.getByRole("tab", { name: "Bans" }).click();
    const banned = olive.page.getByRole("dialog").locator(".plain-list li").filter({ hasText: "Max Member" });
    await banned.getByRole("button", { name: "Unban" }).click();
    await banned.waitFor({ state: "detached" });
    await olive.page.keyboard.press("Escape");
  });

  it("opens direct messages from a profile, and blocks", async () => {
    await max.page.goto("/users/olive");
    await max.page.locator(".profile h2").filter({ hasText: "Olive Owner" }).waitFor();
    await max.page.getByRole("button", { name: "Message" }).click();
    await max.page.waitForURL(/\/rooms\//);
    await composer(max.page).fill("a private word");
    await composer(max.page).press("Enter");
    // Olive's list gets the conversation in its own section, live.
    const dms = olive.page.getByRole("list", { name: "Direct messages" });
    await dms.getByRole("link").first().waitFor();
    await dms.getByRole("link").first().click();
    await message(olive.page, "a private word").waitFor();

    await olive.page.goto("/settings");
    await olive.page.getByLabel("Block a user").fill("max");
    await olive.page.getByRole("button", { name: "Block", exact: true }).click();
    // Blocking asks first.
    await olive.page.getByRole("dialog", { name: "Block max?" }).getByRole("button", { name: "Block" }).click();
    const blocked = olive.page.locator(".plain-list li").filter({ hasText: "Max Member" });
    await blocked.waitFor();
    // Max cannot start a new conversation with her now; the error comes from the problem's code.
    await max.page.goto("/dm");
    await max.page.getByLabel("With").fill("olive");
    await max.page.getByRole("button", { name: "Start conversation" }).click();
    await max.page.locator(".form-error").filter({ hasText: /./ }).waitFor();
    await blocked.getByRole("button", { name: "Unblock" }).click();
    await blocked.waitFor({ state: "detached" });
  });

  it("edits the profile with an avatar preview", async () => {
    await max.page.goto("/settings");
    await max.page.getByLabel("Display name").fill("Max Renamed");
    await max.page.getByLabel("Bio").fill("Here for the plants.");
    await max.page.getByRole("button", { name: "Save profile" }).click();
    await max.page.getByText("Profile saved.").waitFor();
    await max.page.locator(".sidebar-foot").filter({ hasText: "Max Renamed" }).waitFor();

    await max.page.locator("input[type=file]").setInputFiles({
      name: "me.png",
      mimeType: "image/png",
      buffer: Buffer.from(png(64, 64)),
    });
    const preview = max.page.locator(".avatar-picker img");
    await preview.waitFor();
    expect(await preview.getAttribute("src")).toMatch(/^blob:/);
    await max.page.getByRole("button", { name: "Upload picture" }).click();
    await max.page.getByText("Picture saved.").waitFor();
    await max.page.waitForFunction(
      () => document.querySelector(".sidebar-foot img")?.getAttribute("src")?.includes("/media/avatars/") ?? false,
    );
    // A file that is not a picture is refused before upload.
    await max.page.locator("input[type=file]").setInputFiles({
      name: "notes.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("hello"),
    });
    await max.page.getByText("Choose a PNG, JPEG, WebP or GIF picture.").waitFor();
  });

  it("answers a join by address it cannot resolve with the problem's meaning", async () => {
    await max.page.goto("/join");
    await max.page.getByLabel("Room address or URL").fill("not an address");
    await max.page.getByRole("button", { name: "Join" }).click();
    await max.page.getByText("Enter an address like room@example.org or a room's URL.").waitFor();
    await max.page.getByLabel("Room address or URL").fill("0192c0de-0000-7000-8000-000000000000@nowhere.invalid");
    await max.page.getByRole("button", { name: "Join" }).click();
    await max.page.locator(".form-error").filter({ hasText: /./ }).waitFor();
    expect(await max.page.locator(".form-error").textContent()).not.toBe("");
  });

  it("notifies of a mention while the tab is hidden, once allowed", async () => {
    await olive.context.grantPermissions(["notifications"]);
    await olive.page.goto("/settings");
    await olive.page
      .getByText(/notified of mentions|Notify me of mentions/)
      .first()
      .waitFor();
    const button = olive.page.getByRole("button", { name: "Notify me of mentions" });
    if (await button.isVisible()) await button.click();
    await olive.page.getByText("You are notified of mentions while this tab is in the background.").waitFor();
    // Record notifications, and hide the tab.
    await olive.page.evaluate(() => {
      const shown: string[] = [];
      (window as { shown?: string[] }).shown = shown;
      const Real = window.Notification;
      window.Notification = class extends Real {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options);
          shown.push(`${title}: ${options?.body ?? ""}`);
        }
      } as typeof Notification;
      Object.defineProperty(document, "visibilityState", { get: () => "hidden", configurable: true });
    });
    const api = await apiAs("max");
    const room = (await api("POST", "/rooms", { name: "Ping room", visibility: "public" })) as { id: string };
    await (await apiAs("olive"))("POST", `/rooms/${room.id}/join`);
    await olive.page.getByRole("link", { name: /Ping room/ }).waitFor();
    await api("PUT", `/rooms/${room.id}/messages/ping-1`, { content: "hey @olive, look" });
    await olive.page.waitForFunction(() => ((window as { shown?: string[] }).shown ?? []).length > 0);
    const shown = await olive.page.evaluate(() => (window as { shown?: string[] }).shown);
    // One browser notification per server notification, worded by its type, the names in it
    // isolated (U+2068…U+2069) so that neither can reorder the words around it.
    expect(shown).toEqual(["\u2068Max Renamed\u2069 mentioned you in \u2068Ping room\u2069: hey @olive, look"]);
  });

  it("never shows, in the room on screen, an event of the room just left", async () => {
    const api = await apiAs("max");
    const a = (await api("POST", "/rooms", { name: "Room A", visibility: "public" })) as { id: string };
    const b = (await api("POST", "/rooms", { name: "Room B", visibility: "public" })) as { id: string };
    const oliveApi = await apiAs("olive");
    await oliveApi("POST", `/rooms/${a.id}/join`);
    await oliveApi("POST", `/rooms/${b.id}/join`);
    await olive.page.goto(`/rooms/${a.id}`);
    await composer(olive.page).waitFor();
    await olive.page.getByRole("link", { name: /^Room B/ }).click();
    await olive.page.locator("h1#room-title").filter({ hasText: "Room B" }).waitFor();
    await api("PUT", `/rooms/${a.id}/messages/left-behind`, { content: "said in room A" });
    await api("POST", `/rooms/${a.id}/typing`, { typing: true });
    // Room A counts it as unread; room B's view shows nothing of it.
    await olive.page.getByRole("link", { name: /^Room A, 1 unread/ }).waitFor();
    expect(await message(olive.page, "said in room A").count()).toBe(0);
    // The tab's title counts what is unread.
    expect(await olive.page.title()).toMatch(/^\(\d+\) \u2068Room B\u2069 · fedchat$/);
    expect(await olive.page.locator(".typing").textContent()).toBe("");
    await olive.page.getByRole("link", { name: /^Room A/ }).click();
    await message(olive.page, "said in room A").waitFor();
    await olive.page.getByRole("link", { name: /^Room A, 1 unread/ }).waitFor({ state: "detached" });
  });

  it("works with the keyboard alone", async () => {
    // The composer has the focus when a room opens: Enter sends.
    await olive.page.waitForFunction(() => document.activeElement?.matches(".composer textarea") ?? false);
    await olive.page.keyboard.type("typed without a mouse");
    await olive.page.keyboard.press("Enter");
    await message(olive.page, "typed without a mouse").waitFor();
    // The timeline: End, then ↑ and ↓ move between messages; Tab reaches a message's actions.
    await olive.page.locator(".timeline").focus();
    await olive.page.keyboard.press("End");
    await olive.page.keyboard.press("ArrowUp");
    await olive.page.keyboard.press("ArrowDown");
    await olive.page.waitForFunction(
      () => document.activeElement?.closest("li.message")?.textContent?.includes("typed without a mouse") ?? false,
    );
    // Tab goes through the message (author, then its actions), not elsewhere.
    const focused = () => olive.page.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? null);
    for (let i = 0; i < 4 && (await focused()) !== "Add reaction"; i++) {
      await olive.page.keyboard.press("Tab");
      expect(
        await olive.page.evaluate(() => document.activeElement?.closest("li.message")?.textContent ?? ""),
      ).toContain("typed without a mouse");
    }
    expect(await focused()).toBe("Add reaction");
    await olive.page.keyboard.press("Enter");
    await olive.page.waitForFunction(() => document.activeElement?.getAttribute("aria-label") === "Search emoji");
    await olive.page.keyboard.type("fire");
    await olive.page.keyboard.press("Enter");
    await message(olive.page, "typed without a mouse").locator(".chip.mine").waitFor();
    // Closing a dialog gives the focus back to where it was.
    await olive.page.waitForFunction(() => document.activeElement?.getAttribute("aria-label") === "Add reaction");
    // Reply by keyboard: Tab to Reply, Enter, type, Enter.
    await olive.page.keyboard.press("Tab");
    expect(await olive.page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe("Reply");
    await olive.page.keyboard.press("Enter");
    await olive.page.keyboard.type("a keyboard reply");
    await olive.page.keyboard.press("Enter");
    await message(olive.page, "a keyboard reply").locator(".reply-quote").waitFor();
  });

  it("lets the owner delete others' messages, set the room's picture and revoke invites", async () => {
    // Max owns Room A (made in an earlier step), where Olive is a member.
    await olive.page.getByRole("link", { name: /^Room A/ }).click();
    await composer(olive.page).fill("delete me, owner");
    await composer(olive.page).press("Enter");
    await max.page.goto("/");
    await max.page.getByRole("link", { name: /^Room A/ }).click();
    const target = message(max.page, "delete me, owner");
    await target.hover();
    await target.getByRole("button", { name: "Delete" }).click();
    await max.page.getByRole("dialog", { name: "Delete message?" }).getByRole("button", { name: "Delete" }).click();
    await olive.page.locator(".messages .deleted").first().waitFor();
    expect(await message(olive.page, "delete me, owner").count()).toBe(0);
    // Olive, a member, may delete only her own.
    const mine = message(olive.page, "said in room A");
    await mine.hover();
    expect(await mine.getByRole("button", { name: "Delete" }).count()).toBe(0);

    await max.page.getByRole("link", { name: "Room settings" }).click();
    const dialog = max.page.getByRole("dialog");
    await dialog.locator("input[type=file]").setInputFiles({
      name: "room.png",
      mimeType: "image/png",
      buffer: Buffer.from(png(48, 48, { seed: 7 })),
    });
    await dialog.getByRole("button", { name: "Upload picture" }).click();
    await max.page.getByText("Picture saved.").waitFor();
    await olive.page.waitForFunction(
      () => document.querySelector(".room-head img.avatar")?.getAttribute("src")?.includes("/media/avatars/") ?? false,
    );

    await dialog.getByRole("tab", { name: "Invites" }).click();
    await dialog.getByRole("button", { name: "Create invite link" }).click();
    const link = await dialog.getByLabel("New invite link (shown once)").inputValue();
    const active = dialog.locator(".plain-list li");
    await active.first().waitFor();
    await active.first().getByRole("button", { name: "Revoke" }).click();
    await active.first().waitFor({ state: "detached" });
    await max.page.keyboard.press("Escape");
    // Someone new who follows the revoked link cannot accept it.
    const nora = await newUserPage(browser, server.url);
    await register(nora.page, "nora", "Nora Newcomer");
    await nora.page.goto(new URL(link).pathname);
    await nora.page.getByRole("alert").filter({ hasText: /./ }).first().waitFor();
    expect(await nora.page.getByRole("button", { name: "Accept invitation" }).count()).toBe(0);
    expect(nora.seen).toEqual({ dialogs: [], errors: [] });
    await nora.context.close();
  });

  it("never showed a dialog or an error", () => {
    expect([...olive.seen.dialogs, ...max.seen.dialogs]).toEqual([]);
    expect([...olive.seen.errors, ...max.seen.errors]).toEqual([]);
  });
});
