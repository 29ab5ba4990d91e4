import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apiAs,
  createRoom,
  launchBrowser,
  message,
  newUserPage,
  register,
  screenshotFailures,
  screenshotPath,
  TestServer,
} from "./support.ts";

// Reports (issue 19, item 1) in real browsers: a member reports a message from its actions,
// the room's owner sees it arrive in the queue, deletes the message and resolves the report,
// and the reporter is told.

const server = new TestServer();
let browser: Browser;
let olive: Awaited<ReturnType<typeof newUserPage>>;
let max: Awaited<ReturnType<typeof newUserPage>>;

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
  olive = await newUserPage(browser, server.url);
  max = await newUserPage(browser, server.url);
});

screenshotFailures(() => ({ olive: olive?.page, max: max?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

describe("reports in two browsers", () => {
  it("goes from a message's Report to the owner's queue, and back to the reporter as resolved", async () => {
    await register(olive.page, "olive", "Olive Oyl");
    await register(max.page, "max", "Max Power");
    const roomId = await createRoom(olive.page, "Market", "public");
    await max.page.goto(`/rooms/${roomId}`);
    await max.page.getByRole("button", { name: "Join room" }).click();
    // The offender writes through the API: a third browser adds nothing to what is tested.
    await fetch(`${server.url}/api/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "eve", password: "correct horse battery" }),
    });
    const eve = await apiAs(server.url, "eve");
    await eve("POST", `/rooms/${roomId}/join`);
    await eve("PUT", `/rooms/${roomId}/messages/spam-1`, { content: "Cheap pills, click here" });

    // Max reports it from the message's actions; his own messages have no Report.
    const spam = message(max.page, "Cheap pills, click here");
    await spam.hover();
    await spam.getByRole("button", { name: "Report" }).click();
    const dialog = max.page.getByRole("dialog", { name: /Report a message by/ });
    await dialog.getByLabel("Spam or scam").check();
    await dialog.getByLabel("Anything the moderators should know").fill("Third time today");
    await max.page.screenshot({ path: screenshotPath("report-dialog") });
    await dialog.getByRole("button", { name: "Send report" }).click();
    await dialog.waitFor({ state: "detached" });
    await max.page.getByText(/Report sent/).waitFor();

    // The owner's sidebar counts it live; the queue shows the message and the comment.
    const link = olive.page.getByRole("link", { name: "Reports (1 new)" });
    await link.click();
    const report = olive.page.getByRole("listitem", { name: /Report about eve/ });
    await report.getByText("Cheap pills, click here").waitFor();
    await report.getByText("Third time today").waitFor();
    await report.getByText(/Reported by Max Power/).waitFor();
    await olive.page.screenshot({ path: screenshotPath("reports-queue") });
    await report.getByRole("button", { name: "Delete messages" }).click();
    await report.getByText("Messages deleted").waitFor();
    await report.getByRole("button", { name: "Resolve" }).click();
    await report.waitFor({ state: "detached" });
    await olive.page.getByRole("tab", { name: "Resolved" }).click();
    await olive.page
      .getByRole("listitem", { name: /Report about eve/ })
      .getByText("Resolved", { exact: false })
      .waitFor();

    // Max: the message is gone from his timeline, and the bell tells him how it ended.
    await spam.waitFor({ state: "detached" });
    await max.page.getByRole("link", { name: "Notifications, 1 unread" }).click();
    const told = max.page.locator(".notification").filter({ hasText: "Your report was resolved" });
    await told.waitFor();
    expect(await told.textContent()).toContain("The messages were deleted.");
    await max.page.screenshot({ path: screenshotPath("report-resolved") });
  });
});
