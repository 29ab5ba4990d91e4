/**
 * Profile fields (issue 18, item 6): edited in the settings, shown on the user card and the
 * profile page, a link marked verified once its page links back with `rel="me"`.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PageServer, startPageServer } from "../helpers/pages.ts";
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

let pages: PageServer;
// The page server is on loopback: the bounded fetcher may reach it here, as in the API tests.
const server = new TestServer({ FEDERATION_ALLOW_PRIVATE_ADDRESS: "true" });
let browser: Browser;
let alice: Awaited<ReturnType<typeof newUserPage>>;
let bob: Awaited<ReturnType<typeof newUserPage>>;
let roomId = "";

beforeAll(async () => {
  pages = await startPageServer();
  await server.start();
  browser = await launchBrowser();
  alice = await newUserPage(browser, server.url);
  bob = await newUserPage(browser, server.url);
  await register(alice.page, "alice", "Alice Liddell");
  await register(bob.page, "bob", "Bob Builder");
  roomId = await createRoom(alice.page, "Lounge", "public");
  const asBob = await apiAs(server.url, "bob");
  await asBob("POST", `/rooms/${roomId}/join`);
  await asBob("PUT", `/rooms/${roomId}/messages/t1`, { content: "see my links" });
});

screenshotFailures(() => ({ alice: alice?.page, bob: bob?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
  await pages?.close();
});

describe("profile fields", () => {
  it("are edited in the settings, and a link that links back is verified", async () => {
    const page = bob.page;
    const home = `${pages.origin}/me?to=${encodeURIComponent(`${server.url}/users/bob`)}`;
    await page.goto("/settings");
    // The settings say what to link back to.
    await page.getByText(`<a rel="me" href="${server.url}/users/bob">`).waitFor();
    await page.getByRole("button", { name: "Add field" }).click();
    await page.getByLabel("Label 1").fill("Pronouns");
    await page.getByLabel("Value 1").fill("he/him");
    await page.getByRole("button", { name: "Add field" }).click();
    await page.getByLabel("Label 2").fill("Home");
    await page.getByLabel("Value 2").fill(home);
    await page.getByRole("button", { name: "Add field" }).click();
    await page.getByLabel("Label 3").fill("Empty row, left out");
    await page.getByRole("button", { name: "Remove field 3" }).click();
    await page.locator(".profile-fields-editor").screenshot({ path: screenshotPath("profile-fields-settings") });
    await page.getByRole("button", { name: "Save profile" }).click();
    await page.getByText("Profile saved.").waitFor();
    const asAlice = await apiAs(server.url, "alice");
    // Verified in the background, after the answer.
    await expect
      .poll(async () => {
        const user = (await asAlice("GET", "/users/bob")) as { fields: { name: string; verifiedAt: string | null }[] };
        return user.fields.map((f) => [f.name, f.verifiedAt != null]);
      })
      .toEqual([
        ["Pronouns", false],
        ["Home", true],
      ]);
  });

  it("shows them on the card, the link with a verified mark, and on the profile page", async () => {
    const page = alice.page;
    await page.goto(`/rooms/${roomId}`);
    await message(page, "see my links").locator("a.author").click();
    const card = page.getByRole("dialog", { name: "Bob Builder", exact: true });
    const fields = card.locator(".profile-fields");
    await fields.waitFor();
    expect(await fields.locator("dt").allTextContents()).toEqual(["Pronouns", "Home"]);
    const link = fields.getByRole("link", { name: /\/me\?to=/ });
    expect(await link.getAttribute("rel")).toContain("me");
    expect(await link.getAttribute("target")).toBe("_blank");
    // The mark is on the verified link's row only, with an accessible name.
    expect(await fields.getByRole("img", { name: "Verified" }).count()).toBe(1);
    await fields.locator(".profile-field.verified", { hasText: "Home" }).waitFor();
    await page.screenshot({ path: screenshotPath("profile-fields-card") });
    await card.getByRole("button", { name: "View full profile" }).click();
    await page.waitForURL(/\/users\/bob/);
    await page.locator(".profile .profile-fields").getByRole("img", { name: "Verified" }).waitFor();
    expect(await page.locator(".profile .profile-fields dd").first().textContent()).toBe("he/him");
  });
});
