import type { Browser } from "playwright-core";
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
  await register(alice.page, "alice", "Alice Liddell");
  await register(bob.page, "bob", "Bob Builder");
  roomId = await createRoom(alice.page, "Planning", "public");
  await bob.page.goto(`/rooms/${roomId}`);
  await bob.page.getByRole("button", { name: "Join room" }).click();
  await composer(bob.page).waitFor();
});

screenshotFailures(() => ({ alice: alice?.page, bob: bob?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

describe("threads in the browser", () => {
  it("replies in a thread: the root counts them live, the panel shows them in order", async () => {
    await composer(alice.page).fill("Where shall we have lunch?");
    await composer(alice.page).press("Enter");
    const root = message(bob.page, "Where shall we have lunch?");
    await root.waitFor();
    await root.hover();
    await root.getByRole("button", { name: "Reply in thread" }).click();
    const panel = bob.page.getByRole("complementary", { name: "Thread" });
    const box = panel.getByLabel("Reply in thread");
    await box.waitFor();
    for (let i = 1; i <= 5; i++) {
      await box.fill(`idea ${i}`);
      await box.press("Enter");
      await panel
        .locator("li.message:not(.pending-message)")
        .filter({ hasText: `idea ${i}` })
        .waitFor();
    }

    // Alice sees the summary under her message, live, and none of the replies on the main timeline.
    const summary = message(alice.page, "Where shall we have lunch?").getByRole("button", { name: /5 replies/ });
    await summary.waitFor();
    expect(await summary.textContent()).toMatch(/5 replies · last (just now|\d+ min ago)/);
    expect(await message(alice.page, "idea 1").count()).toBe(0);
    await summary.click();
    const hers = alice.page.getByRole("complementary", { name: "Thread" });
    await hers.locator("li.message").filter({ hasText: "idea 5" }).waitFor();
    const texts = await hers.locator("li.message:not(.thread-root) .content").allTextContents();
    expect(texts.map((t) => t.trim())).toEqual(["idea 1", "idea 2", "idea 3", "idea 4", "idea 5"]);
    await alice.page.screenshot({ path: screenshotPath("thread-panel-desktop") });

    // She wrote the root, so each reply notified her.
    await alice.page.goto("/notifications");
    const list = alice.page.getByRole("list", { name: "Notifications" });
    await list.getByText("Bob Builder replied in a thread in Planning").first().waitFor();
    expect(await list.locator("li.notification").filter({ hasText: "replied in a thread" }).count()).toBe(5);
  });

  it("also sends a thread reply to the room when asked, and opens full screen on a phone", async () => {
    await alice.page.goto(`/rooms/${roomId}`);
    await message(alice.page, "Where shall we have lunch?")
      .getByRole("button", { name: /5 replies/ })
      .click();
    const panel = alice.page.getByRole("complementary", { name: "Thread" });
    await panel.getByLabel("Also send to room").check();
    await panel.getByLabel("Reply in thread").fill("Pizza it is, everyone");
    await panel.getByLabel("Reply in thread").press("Enter");
    // On the main timeline for Bob, and in the thread for both.
    await message(bob.page, "Pizza it is, everyone").waitFor();
    await bob.page
      .getByRole("complementary", { name: "Thread" })
      .locator("li.message")
      .filter({ hasText: "Pizza it is" })
      .waitFor();
    await message(bob.page, "Where shall we have lunch?")
      .getByRole("button", { name: /6 replies/ })
      .waitFor();

    await alice.page.setViewportSize(phone);
    const box = await panel.boundingBox();
    expect(box?.width).toBe(phone.width);
    await alice.page.screenshot({ path: screenshotPath("thread-panel-phone") });
    await panel.getByRole("button", { name: "Close thread" }).click();
    await composer(alice.page).waitFor();
  });
});
