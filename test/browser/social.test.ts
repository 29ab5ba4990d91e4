import type { Browser, WebSocketRoute } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { png } from "../api/support.ts";
import {
  composer,
  createRoom,
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

const server = new TestServer();
let browser: Browser;
let alice: Awaited<ReturnType<typeof newUserPage>>;
let bob: Awaited<ReturnType<typeof newUserPage>>;
let lounge = "";
let side = "";

/** A one-page PDF: enough for the server to recognise it from its bytes. */
const pdf = Buffer.from(
  "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
    "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
);

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  alice = await newUserPage(browser, server.url);
  bob = await newUserPage(browser, server.url);
  await register(alice.page, "alice", "Alice Liddell");
  await register(bob.page, "bob", "Bob Builder");
  side = await createRoom(alice.page, "Side", "public");
  lounge = await createRoom(alice.page, "Lounge", "public");
  for (const id of [side, lounge]) {
    await bob.page.goto(`/rooms/${id}`);
    await bob.page.getByRole("button", { name: "Join room" }).click();
    await composer(bob.page).waitFor();
  }
});

screenshotFailures(() => ({ alice: alice?.page, bob: bob?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

/** The sidebar link of a room, by its name. */
function roomLink(page: typeof alice.page, name: string) {
  return page.locator(".room-link").filter({ has: page.locator(".room-name", { hasText: name }) });
}

describe("attachments, notifications, contacts and blocks", () => {
  it("uploads an image and a PDF, shows them to the other member, and downloads", async () => {
    await alice.page.goto(`/rooms/${lounge}`);
    await alice.page.locator(".composer input[type=file]").setInputFiles([
      { name: "sunset.png", mimeType: "image/png", buffer: Buffer.from(png(64, 48)) },
      { name: "report.pdf", mimeType: "application/pdf", buffer: pdf },
    ]);
    const chips = alice.page.getByRole("list", { name: "Files to send" });
    await chips.locator(".upload-chip.done").nth(1).waitFor();
    expect(await chips.textContent()).toContain("report.pdf");
    await composer(alice.page).fill("holiday files");
    await composer(alice.page).press("Enter");
    await message(alice.page, "holiday files").waitFor();
    await chips.waitFor({ state: "detached" });

    await bob.page.goto(`/rooms/${lounge}`);
    const received = message(bob.page, "holiday files");
    await received.waitFor();
    const image = received.getByRole("img", { name: "sunset.png" });
    await image.waitFor();
    await bob.page.waitForFunction(
      () => (document.querySelector<HTMLImageElement>(".attachment-image img")?.naturalWidth ?? 0) > 0,
    );
    const file = received.getByRole("link", { name: /report\.pdf/ });
    expect(await file.textContent()).toMatch(/report\.pdf.*(bytes|KB)/);
    const [download] = await Promise.all([bob.page.waitForEvent("download"), file.click()]);
    expect(download.suggestedFilename()).toBe("report.pdf");
    const path = await download.path();
    expect(path).toBeTruthy();

    // The image opens full size in a dialog.
    await received.getByRole("button", { name: "Open image sunset.png" }).click();
    const dialog = bob.page.getByRole("dialog", { name: "sunset.png" });
    await dialog.locator("img.attachment-full").waitFor();
    await bob.page.waitForFunction(
      () => (document.querySelector<HTMLImageElement>("img.attachment-full")?.naturalWidth ?? 0) === 64,
    );
    await bob.page.screenshot({ path: screenshotPath("attachments-desktop") });
    await bob.page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
  });

  it("refuses a file whose contents lie about its type, with a removable chip", async () => {
    await alice.page
      .locator(".composer input[type=file]")
      .setInputFiles([
        { name: "photo.jpg", mimeType: "image/jpeg", buffer: Buffer.from("<html><script>alert(1)</script></html>") },
      ]);
    const failed = alice.page.locator(".upload-chip.failed");
    await failed.getByText("The file's contents do not match its name.").waitFor();
    await failed.getByRole("button", { name: "Remove photo.jpg" }).click();
    await failed.waitFor({ state: "detached" });
  });

  it("takes pasted and dropped images, sends them without text, and renews a failing link", async () => {
    // Bob's first preview request fails, as an expired link would: the client asks for fresh URLs.
    let failed = 0;
    await bob.page.route(/\/media\/attachments\/[^/]+\/preview/, (route) =>
      failed++ === 0 ? route.fulfill({ status: 403, body: "expired" }) : route.continue(),
    );
    const renewed = bob.page.waitForRequest(/\/api\/v1\/attachments\/[0-9a-f-]{36}$/);
    const bytes = [...png(40, 30, { seed: 7 })];
    await composer(alice.page).focus();
    await alice.page.evaluate((data) => {
      const paste = new DataTransfer();
      paste.items.add(new File([new Uint8Array(data)], "pasted.png", { type: "image/png" }));
      document
        .querySelector(".composer textarea")
        ?.dispatchEvent(new ClipboardEvent("paste", { clipboardData: paste, bubbles: true, cancelable: true }));
      const drop = new DataTransfer();
      drop.items.add(new File([new Uint8Array(data)], "dropped.png", { type: "image/png" }));
      const room = document.querySelector(".room-main");
      room?.dispatchEvent(new DragEvent("dragover", { dataTransfer: drop, bubbles: true, cancelable: true }));
      room?.dispatchEvent(new DragEvent("drop", { dataTransfer: drop, bubbles: true, cancelable: true }));
    }, bytes);
    const chips = alice.page.getByRole("list", { name: "Files to send" });
    await chips.locator(".upload-chip.done").nth(1).waitFor();
    expect(await chips.textContent()).toMatch(/pasted\.png.*dropped\.png/);
    await alice.page.getByRole("button", { name: "Send", exact: true }).click();
    await chips.waitFor({ state: "detached" });

    const dropped = bob.page.getByRole("img", { name: "dropped.png" });
    await dropped.waitFor();
    await renewed;
    await bob.page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>(".attachment-image img")].every((img) => img.naturalWidth > 0),
    );
    expect(failed).toBeGreaterThan(1);
    await bob.page.unroute(/\/media\/attachments\/[^/]+\/preview/);
  });

  it("shows a mention as a live notification, opens it and marks it read", async () => {
    await alice.page.goto(`/rooms/${side}`);
    await composer(bob.page).fill("@alice look at this");
    await composer(bob.page).press("Enter");
    const bell = alice.page.getByRole("link", { name: "Notifications, 1 unread" });
    await bell.waitFor();
    await bell.click();
    const item = alice.page.getByRole("list", { name: "Notifications" }).locator("li.notification.unread");
    await item.getByText("Bob Builder mentioned you in Lounge").waitFor();
    expect(await item.textContent()).toContain("look at this");
    await item.getByRole("button", { name: /^Unread: Bob Builder mentioned you/ }).click();
    await alice.page.waitForURL(`**/rooms/${lounge}`);
    await message(alice.page, "look at this").waitFor();
    await alice.page.getByRole("link", { name: "Notifications", exact: true }).waitFor();

    // One in the room she is reading arrives read.
    await composer(bob.page).fill("@alice while you read");
    await composer(bob.page).press("Enter");
    await message(alice.page, "while you read").waitFor();
    await alice.page.getByRole("link", { name: "Notifications", exact: true }).click();
    await alice.page.locator("li.notification:not(.unread)").filter({ hasText: "while you read" }).waitFor();

    // One elsewhere waits unread until "Mark all read".
    await alice.page.getByRole("link", { name: /^Side/ }).click();
    await alice.page.locator("h1#room-title").filter({ hasText: "Side" }).waitFor();
    await composer(bob.page).fill("@alice and another");
    await composer(bob.page).press("Enter");
    await alice.page.getByRole("link", { name: "Notifications, 1 unread" }).click();
    await alice.page.getByRole("button", { name: "Mark all read" }).click();
    await alice.page.getByText("All read").waitFor();
    await alice.page.getByRole("link", { name: "Notifications", exact: true }).waitFor();
    expect(await alice.page.locator("li.notification.unread").count()).toBe(0);
  });

  it("mutes a room: no badge and no notification", async () => {
    await alice.page.goto(`/rooms/${lounge}`);
    await alice.page.getByRole("button", { name: "Notification settings" }).click();
    await alice.page.getByRole("checkbox", { name: /Mute this room/ }).check();
    await roomLink(alice.page, "Lounge").and(alice.page.locator(".muted-room")).waitFor();
    await alice.page.keyboard.press("Escape");
    await alice.page.getByRole("button", { name: "Notification settings (muted)" }).waitFor();
    await alice.page.goto("/");
    await roomLink(alice.page, "Lounge").waitFor();

    await bob.page.goto(`/rooms/${lounge}`);
    await composer(bob.page).fill("@alice you will not hear this");
    await composer(bob.page).press("Enter");
    await message(bob.page, "you will not hear this").waitFor();
    await bob.page.goto(`/rooms/${side}`);
    await composer(bob.page).fill("but this one counts");
    await composer(bob.page).press("Enter");

    // Events arrive in order: once Side has its badge, Lounge's message has arrived too.
    await roomLink(alice.page, "Side").locator(".badge").waitFor();
    expect(await roomLink(alice.page, "Lounge").locator(".badge").count()).toBe(0);
    expect(await alice.page.getByRole("link", { name: /Notifications, \d+ unread/ }).count()).toBe(0);
  });

  it("sends a contact request that the other accepts, then opens a conversation", async () => {
    await alice.page.getByRole("link", { name: "Contacts" }).click();
    await alice.page.getByLabel("Add a contact").fill("bob");
    await alice.page.getByRole("button", { name: "Send request" }).click();
    await alice.page.getByRole("list", { name: "Waiting for an answer" }).getByText("Bob Builder").waitFor();

    // Bob hears of it live: in the sidebar and as a notification that leads to the contacts page.
    await bob.page.getByRole("link", { name: "Contacts (1 new)" }).waitFor();
    await bob.page.getByRole("link", { name: "Notifications, 1 unread" }).click();
    await bob.page.getByRole("button", { name: /^Unread: Alice Liddell wants to add you/ }).click();
    await bob.page.waitForURL("**/contacts");
    const request = bob.page.getByRole("list", { name: "Requests for you" }).locator("li");
    await request.getByRole("button", { name: "Accept" }).click();
    await bob.page.getByRole("list", { name: "Contacts" }).getByText("Alice Liddell").waitFor();

    const contact = alice.page.getByRole("list", { name: "Contacts" }).locator("li").filter({ hasText: "Bob Builder" });
    await contact.waitFor();
    await alice.page.getByRole("list", { name: "Waiting for an answer" }).waitFor({ state: "detached" });
    await contact.getByRole("button", { name: "Message" }).click();
    await alice.page.waitForURL(/\/rooms\/[0-9a-f-]{36}$/);
    await composer(alice.page).waitFor();
  });

  it("invites one user by name, who accepts from the notification", async () => {
    const secret = await createRoom(alice.page, "Secret", "private");
    await alice.page.getByRole("link", { name: "Room settings" }).click();
    await alice.page.getByRole("tab", { name: "Invites" }).click();
    await alice.page.getByLabel("Invite a user (optional)").fill("bob");
    await alice.page.getByRole("button", { name: "Create invite link" }).click();
    await alice.page.getByText("bob is invited: they were notified.").waitFor();
    await alice.page.keyboard.press("Escape");

    await bob.page.getByRole("link", { name: "Notifications, 1 unread" }).click();
    await bob.page.getByRole("button", { name: /^Unread: Alice Liddell invited you to Secret/ }).click();
    await bob.page.getByRole("button", { name: "Accept invitation" }).click();
    await bob.page.waitForURL(`**/rooms/${secret}`);
    await composer(bob.page).waitFor();
  });

  it("works at phone width", async () => {
    await alice.page.setViewportSize(phone);
    await alice.page.goto(`/rooms/${lounge}`);
    await alice.page
      .locator(".composer input[type=file]")
      .setInputFiles([{ name: "a-file-with-a-rather-long-name.pdf", mimeType: "application/pdf", buffer: pdf }]);
    await alice.page.locator(".upload-chip.done").waitFor();
    const overflow = await alice.page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await alice.page.screenshot({ path: screenshotPath("attachments-phone") });
    await alice.page.getByRole("button", { name: "Remove a-file-with-a-rather-long-name.pdf" }).click();
    await alice.page.goto("/");
    await alice.page.getByRole("link", { name: /^Notifications/ }).click();
    await alice.page.getByRole("heading", { name: "Notifications" }).waitFor();
    await alice.page.screenshot({ path: screenshotPath("notifications-phone") });
    await alice.page.setViewportSize(desktop);
  });

  it("collapses a blocked user's messages for the blocker, live and in history, with a reveal", async () => {
    await alice.page.goto(`/rooms/${side}`);
    await message(alice.page, "but this one counts").waitFor();
    await alice.page.goto("/users/bob");
    await alice.page.getByRole("button", { name: "Block", exact: true }).click();
    // Blocking asks first.
    await alice.page
      .getByRole("dialog", { name: /^Block .*\?$/ })
      .getByRole("button", { name: "Block" })
      .click();
    await alice.page.getByRole("button", { name: "Unblock" }).waitFor();
    await alice.page.getByRole("link", { name: /^Side/ }).click();
    await alice.page.locator(".hidden-message").first().waitFor();
    // The earlier message from Bob is collapsed too.
    expect(await message(alice.page, "but this one counts").count()).toBe(0);

    await bob.page.goto(`/rooms/${side}`);
    await composer(bob.page).fill("a word from a blocked user");
    await composer(bob.page).press("Enter");
    await message(bob.page, "a word from a blocked user").waitFor();
    await alice.page.locator(".hidden-message").nth(1).waitFor();
    expect(await alice.page.getByText("a word from a blocked user").count()).toBe(0);

    // History marks them hidden as well.
    await alice.page.reload();
    const hidden = alice.page.locator(".hidden-message");
    await hidden.nth(1).waitFor();
    await hidden.last().getByRole("button", { name: "Show" }).click();
    await message(alice.page, "a word from a blocked user").waitFor();
    // Bob sees his own message as usual.
    expect(await bob.page.locator(".hidden-message").count()).toBe(0);
  });

  it("shows a room on another server with its host, and a pending join as not openable", async () => {
    // The room list as it is while a join waits for a remote room's server (no second server here).
    const pattern = /\/api\/v1\/rooms$/;
    await alice.page.route(pattern, async (route) => {
      if (route.request().method() !== "GET") return route.continue();
      const response = await route.fetch();
      const body = (await response.json()) as { rooms: Record<string, unknown>[] };
      body.rooms.push({
        ...body.rooms[0],
        id: "0192c0de-0000-7000-8000-00000000000a",
        name: "Faraway",
        handle: "faraway@remote.example",
        remote: true,
        membership: "pending",
        unread: 0,
        mentions: 0,
      });
      await route.fulfill({ response, json: body });
    });
    await alice.page.goto("/");
    const entry = alice.page.locator(".room-link.pending").filter({ hasText: "Faraway" });
    await entry.waitFor();
    expect(await entry.textContent()).toMatch(/Faraway · remote\.example\s*pending/);
    expect(await alice.page.getByRole("link", { name: /Faraway/ }).count()).toBe(0);
    // The page may be refetching its rooms right now: let that answer finish first (an unroute
    // under it made its fulfill throw, once in CI).
    await alice.page.unrouteAll({ behavior: "wait" });
  });

  it("shows a send to a room on another server as pending until the stream brings it back", async () => {
    // Fakes what a remote room does: the send answers 202 `pending`, and the numbered message
    // comes later on the stream (held back here until the pending state has been seen).
    const held: (string | Buffer)[] = [];
    let holding = true;
    let socket: WebSocketRoute | undefined;
    await bob.page.routeWebSocket(/\/api\/v1\/stream/, (ws) => {
      const upstream = ws.connectToServer();
      socket = ws;
      ws.onMessage((m) => upstream.send(m));
      upstream.onMessage((m) => {
        if (holding && (held.length > 0 || String(m).includes("numbered far away"))) held.push(m);
        else ws.send(m);
      });
    });
    const sends = /\/api\/v1\/rooms\/[^/]+\/messages\/[^/]+$/;
    await bob.page.route(sends, async (route) => {
      if (route.request().method() !== "PUT") return route.continue();
      const response = await route.fetch();
      const sent = (await response.json()) as Record<string, unknown>;
      await route.fulfill({ status: 202, json: { ...sent, seq: 0, pending: true } });
    });
    await bob.page.goto(`/rooms/${side}`);
    await composer(bob.page).waitFor();
    await composer(bob.page).fill("numbered far away");
    await composer(bob.page).press("Enter");
    const waiting = bob.page.locator(".pending-message").filter({ hasText: "numbered far away" });
    await waiting.getByText("Waiting for the room's server to confirm…").waitFor();
    expect(await message(bob.page, "numbered far away").count()).toBe(0);

    holding = false;
    for (const m of held.splice(0)) socket?.send(m);
    await message(bob.page, "numbered far away").waitFor();
    await waiting.waitFor({ state: "detached" });
    await bob.page.unroute(sends);
  });

  it("shows files of a message from another server, and says so when one cannot be fetched", async () => {
    // A remote message's files as the API lists them before anyone opened one (no size); the
    // file server refuses them (`remote_media_refused`), fresh URLs or not.
    await composer(bob.page).fill("files from far away");
    await composer(bob.page).press("Enter");
    await message(bob.page, "files from far away").waitFor();
    const remoteFiles = [
      {
        id: "0192c0de-0000-7000-8000-0000000000f1",
        name: "sunset.png",
        mediaType: "image/png",
        width: 320,
        height: 200,
      },
      { id: "0192c0de-0000-7000-8000-0000000000f2", name: "notes.pdf", mediaType: "application/pdf" },
    ].map((f) => ({
      ...f,
      url: `/media/attachments/${f.id}?expires=4102444800&signature=${"A".repeat(43)}`,
      ...(f.mediaType === "image/png"
        ? { previewUrl: `/media/attachments/${f.id}/preview?expires=4102444800&signature=${"A".repeat(43)}` }
        : {}),
    }));
    const history = /\/api\/v1\/rooms\/[^/]+\/messages(\?.*)?$/;
    await bob.page.route(history, async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { messages: { content: string; attachments: unknown[] }[] };
      for (const m of body.messages) if (m.content === "files from far away") m.attachments = remoteFiles;
      await route.fulfill({ response, json: body });
    });
    const refused = { type: "about:blank", title: "refused", status: 502, code: "remote_media_refused" };
    await bob.page.route(/\/media\/attachments\//, (route) => route.fulfill({ status: 502, json: refused }));
    await bob.page.route(/\/api\/v1\/attachments\/[^/]+$/, (route) =>
      route.fulfill({ json: remoteFiles.find((f) => route.request().url().endsWith(f.id)) }),
    );
    await bob.page.reload();
    const files = bob.page.locator(".message").filter({ hasText: "files from far away" });
    await files.getByText("sunset.png: the image could not be loaded").waitFor();
    const pdf = files.locator(".attachment-file").filter({ hasText: "notes.pdf" });
    expect((await pdf.textContent())?.trim()).toBe("notes.pdf");
    await bob.page.unroute(history);
    await bob.page.unroute(/\/media\/attachments\//);
    await bob.page.unroute(/\/api\/v1\/attachments\/[^/]+$/);
  });

  it("raised no page error, dialog or policy violation on the way", () => {
    for (const who of [alice, bob]) {
      expect(who.seen.errors).toEqual([]);
      expect(who.seen.dialogs).toEqual([]);
    }
  });
});
