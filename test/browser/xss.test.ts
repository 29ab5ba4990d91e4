import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composer, createRoom, launchBrowser, message, newUserPage, register, TestServer } from "./support.ts";

const server = new TestServer();
let browser: Browser;

beforeAll(async () => {
  await server.start();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server.dispose();
});

/** Markup that would run script, or inject an element, if any of it were parsed as HTML. */
const payloads = {
  name: `<img src=x onerror="window.__xss='name'">`,
  room: `<script>window.__xss='room'</script>Room`,
  topic: `<img src=x onerror=alert('topic')><b id=injected>bold</b>`,
  bio: `<svg onload=alert('bio')></svg>`,
  messages: [
    `<img src=x onerror=alert('message')>`,
    `<script>alert('script')</script>`,
    `[click me](javascript:alert('link'))`,
    `<a href="javascript:alert('a')" id=injected>x</a>`,
    `**<iframe src="javascript:alert('frame')"></iframe>**`,
    "`<img src=x onerror=alert('code')>`",
  ],
};

/** Everything on the page that would show an injection. */
async function injected(page: Page) {
  return page.evaluate(() => ({
    xss: (window as { __xss?: unknown }).__xss ?? null,
    imgs: document.querySelectorAll('img[src="x"], img[onerror]').length,
    scripts: [...document.scripts].filter((s) => !s.src).length,
    handlers: [...document.querySelectorAll("*")].filter((el) =>
      [...el.attributes].some((a) => a.name.startsWith("on")),
    ).length,
    javascriptLinks: document.querySelectorAll('a[href^="javascript:" i], iframe, svg[onload]').length,
    injected: document.querySelectorAll("#injected").length,
  }));
}

const clean = { xss: null, imgs: 0, scripts: 0, handlers: 0, javascriptLinks: 0, injected: 0 };

describe("user-controlled text stays text", () => {
  it("in names, topics, bios and messages, for the author and for others", async () => {
    const mallory = await newUserPage(browser, server.url);
    const victim = await newUserPage(browser, server.url);
    await register(mallory.page, "mallory", payloads.name);
    await register(victim.page, "victim", "Victim");

    // The bio, through the settings page.
    await mallory.page.goto("/settings");
    await mallory.page.getByLabel("Bio").fill(payloads.bio);
    await mallory.page.getByRole("button", { name: "Save profile" }).click();
    await mallory.page.getByText("Profile saved.").waitFor();

    const roomId = await createRoom(mallory.page, payloads.room, "public", payloads.topic);
    for (const text of payloads.messages) {
      await composer(mallory.page).fill(text);
      await composer(mallory.page).press("Enter");
    }
    await message(mallory.page, "alert('code')").waitFor();

    // The victim joins from the directory and reads everything.
    await victim.page.goto("/directory");
    await victim.page.getByRole("button", { name: /^Join / }).click();
    await victim.page.waitForURL(`**/rooms/${roomId}`);
    await message(victim.page, "alert('code')").waitFor();

    for (const page of [mallory.page, victim.page]) {
      expect(await page.locator("h1#room-title").textContent()).toBe(payloads.room);
      expect(await page.locator(".room-head .topic").textContent()).toBe(payloads.topic);
      expect(await page.locator(".member-panel").textContent()).toContain(payloads.name);
      expect(await message(page, "onerror=alert('message')").locator(".content").textContent()).toContain(
        payloads.messages[0],
      );
      expect(await message(page, "<script>").count()).toBe(1);
      // The Markdown link with a javascript: URL is not a link.
      expect(await message(page, "click me").locator("a").count()).toBe(0);
      expect(await injected(page)).toEqual(clean);
    }

    // The profile page shows the name and bio as text.
    await victim.page.goto("/users/mallory");
    await victim.page.getByText(payloads.bio).waitFor();
    expect(await victim.page.locator(".profile h2").textContent()).toBe(payloads.name);
    expect(await injected(victim.page)).toEqual(clean);

    // Moving the mouse over everything (reaction chips, actions) triggers nothing either.
    await victim.page.goto(`/rooms/${roomId}`);
    await message(victim.page, "alert('code')").waitFor();
    for (const item of await victim.page.locator(".messages li.message").all()) await item.hover();
    expect(await injected(victim.page)).toEqual(clean);

    for (const user of [mallory, victim]) {
      expect(user.seen.dialogs).toEqual([]);
      expect(user.seen.errors).toEqual([]);
    }
  });

  it("serves the page with a policy that forbids inline script", async () => {
    const response = await fetch(`${server.url}/rooms/x`, { headers: { accept: "text/html" } });
    const policy = response.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain("unsafe-inline");
    expect(policy).not.toContain("unsafe-eval");
    // And the page really is under it: an inline script added to it does not run.
    const { page, context } = await newUserPage(browser, server.url);
    await page.goto("/");
    const ran = await page.evaluate(async () => {
      const script = document.createElement("script");
      script.textContent = "window.__inline = true";
      document.body.append(script);
      await new Promise((r) => setTimeout(r, 50));
      return (window as { __inline?: boolean }).__inline ?? false;
    });
    expect(ran).toBe(false);
    await context.close();
  });
});
