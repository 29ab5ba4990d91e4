import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshotFailures, screenshotPath, TestServer, watch } from "./support.ts";

// Issue 17, item 4: two instances on one host (127.0.0.1, two ports) share the browser's cookie
// jar, since cookies ignore the port. Each names its refresh cookie by its port, so signing in
// on one does not sign the other out, and a reload of either keeps its session.

const one = new TestServer();
const two = new TestServer();
let browser: Browser;
let context: BrowserContext;
let first: Page;
let second: Page;

beforeAll(async () => {
  await Promise.all([one.start(), two.start()]);
  browser = await launchBrowser();
  context = await browser.newContext();
  [first, second] = await Promise.all([context.newPage(), context.newPage()]);
  for (const page of [first, second]) watch(page);
}, 120_000);

screenshotFailures(() => ({ first, second }));

afterAll(async () => {
  await browser?.close();
  await Promise.all([one.dispose(), two.dispose()]);
});

async function signUp(page: Page, url: string, username: string) {
  await page.goto(`${url}/register`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("navigation", { name: "Rooms" }).waitFor({ timeout: 15_000 });
}

/** Who the page says is signed in (the sidebar's settings link), after a reload. */
async function signedInAfterReload(page: Page): Promise<string> {
  await page.reload();
  const me = page.getByRole("link", { name: /^Settings for / });
  await me.waitFor({ timeout: 15_000 });
  return (await me.getAttribute("aria-label")) ?? "";
}

describe("two instances on 127.0.0.1 in one browser context", () => {
  it("keep both sessions through reloads", async () => {
    expect(new URL(one.url).hostname).toBe(new URL(two.url).hostname);
    await signUp(first, one.url, "ann");
    await signUp(second, two.url, "ben");

    // One refresh cookie each, named by port, on the same host.
    const names = (await context.cookies()).map((c) => c.name).filter((n) => n.startsWith("fedchat_refresh"));
    expect(names.sort()).toEqual([`fedchat_refresh_${one.port}`, `fedchat_refresh_${two.port}`].sort());

    expect(await signedInAfterReload(first)).toBe("Settings for ann");
    expect(await signedInAfterReload(second)).toBe("Settings for ben");
    // Again the other way round: the second reload did not spend the first's session.
    expect(await signedInAfterReload(second)).toBe("Settings for ben");
    expect(await signedInAfterReload(first)).toBe("Settings for ann");
    await first.screenshot({ path: screenshotPath("two-instances-first") });
    await second.screenshot({ path: screenshotPath("two-instances-second") });
  });

  it("sign out of one and stay signed in on the other", async () => {
    await first.getByRole("button", { name: "Sign out" }).click();
    await first.getByRole("button", { name: "Create an account" }).waitFor();
    expect(await signedInAfterReload(second)).toBe("Settings for ben");
    await first.reload();
    await first.getByRole("button", { name: "Create an account" }).waitFor();
  });
});
