import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAdmin } from "../helpers/admin.ts";
import { launchBrowser, newUserPage, screenshotFailures, screenshotPath, TestServer } from "./support.ts";

// Sign-up by approval in the browser (issue 19, item 3): the form says an admin approves each
// account, the sign-up says it waits, and signing in says so until the admin approves it.

const server = new TestServer();
let browser: Browser;
let visitor: Awaited<ReturnType<typeof newUserPage>>;

beforeAll(async () => {
  // Set the way an operator does, before the server starts.
  runAdmin({ DATA_DIR: server.dataDir }, ["registrations", "approval"]);
  await server.start();
  browser = await launchBrowser();
  visitor = await newUserPage(browser, server.url);
});

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

screenshotFailures(() => ({ visitor: visitor?.page }));

describe("sign-up by approval", () => {
  it("says the account waits, and signing in says so until an admin approves it", async () => {
    const { page } = visitor;
    await page.goto("/register");
    await page.getByText("An admin of this server approves each new account").waitFor();
    await page.getByLabel("Username").fill("hopeful");
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("status").filter({ hasText: "your account waits for an admin" }).waitFor();
    await page.screenshot({ path: screenshotPath("registrations-awaiting") });

    await page.goto("/login");
    await page.getByLabel("Username").fill("hopeful");
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect
      .poll(() => page.locator("#auth-error").textContent())
      .toBe("Your sign-up waits for an admin of this server to approve it.");
    expect(visitor.seen.errors).toEqual([]);
  });
});
