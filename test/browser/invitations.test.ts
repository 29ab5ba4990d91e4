import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

describe("invitation cards in two browsers", () => {
  it("sends an invitation from the composer; the invitee accepts and both cards show it live", async () => {
    await register(olive.page, "olive", "Olive Oyl");
    await register(max.page, "max", "Max Power");
    const roomId = await createRoom(olive.page, "Game room", "public");
    await max.page.goto(`/rooms/${roomId}`);
    await max.page.getByRole("button", { name: "Join room" }).click();
    await composer(max.page).waitFor();

    await olive.page.getByRole("button", { name: "Invite to…" }).click();
    const dialog = olive.page.getByRole("dialog", { name: "Invite to…" });
    await dialog.getByLabel("Title").fill("Chess");
    await dialog.getByLabel("Link (optional)").fill("https://lichess.org/abc");
    await dialog.getByRole("checkbox", { name: "Max Power" }).check();
    await dialog.getByRole("button", { name: "Send invitation" }).click();
    await dialog.waitFor({ state: "detached" });

    const theirs = max.page.getByRole("region", { name: "Invitation: Chess" });
    await theirs.waitFor();
    expect(await theirs.getByRole("link", { name: /lichess\.org\/abc/ }).getAttribute("href")).toBe(
      "https://lichess.org/abc",
    );
    // The sender gets no buttons on her own card.
    const ours = olive.page.getByRole("region", { name: "Invitation: Chess" });
    await ours.waitFor();
    expect(await ours.getByRole("button", { name: "Accept" }).count()).toBe(0);
    await message(max.page, "invites").waitFor();

    await theirs.getByRole("button", { name: "Accept" }).click();
    await theirs.getByText("Accepted: Max Power").waitFor();
    expect(await theirs.getByRole("button", { name: "Accept" }).getAttribute("aria-pressed")).toBe("true");
    // Olive's card follows the stream.
    await ours.getByText("Accepted: Max Power").waitFor();
    await olive.page.screenshot({ path: screenshotPath("invitation-accepted") });

    // A change of mind shows on both.
    await theirs.getByRole("button", { name: "Decline" }).click();
    await ours.getByText("Declined: Max Power").waitFor();
    expect(await ours.getByText("Accepted:").count()).toBe(0);
  });
});
