import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BotReceiver, startBotReceiver } from "../helpers/bot-receiver.ts";
import {
  apiAs,
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

const server = new TestServer({ BOT_HOOKS_ALLOW_LOOPBACK: "true" });
let browser: Browser;
let alice: Awaited<ReturnType<typeof newUserPage>>;
let receiver: BotReceiver;

beforeAll(async () => {
  receiver = await startBotReceiver();
  await server.start();
  browser = await launchBrowser();
  alice = await newUserPage(browser, server.url);
  await register(alice.page, "alice", "Alice Liddell");
});

screenshotFailures(() => ({ alice: alice?.page }));

afterAll(async () => {
  await browser?.close();
  await server.dispose();
  await receiver?.close();
});

/** Alice's bot, in the room, with two commands and its hook at the receiver. */
async function setUpBot(roomId: string): Promise<void> {
  const asAlice = await apiAs(server.url, "alice");
  const bot = (await asAlice("POST", "/bots", { username: "weather_bot", displayName: "Weather" })) as { id: string };
  const { secret } = (await asAlice("POST", "/tokens", { name: "bot", botId: bot.id, scopes: ["write"] })) as {
    secret: string;
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status, `${method} ${path}`).toBeLessThan(300);
    return (await res.json()) as Record<string, unknown>;
  };
  await call("POST", `/rooms/${roomId}/join`);
  await call("PUT", "/commands", {
    commands: [
      { name: "roll", description: "Roll dice", arguments: [{ name: "dice", required: true }] },
      { name: "weather", description: "The weather in a city", arguments: [{ name: "city", required: true }] },
    ],
  });
  receiver.secret = (await call("PUT", "/bot-hook", { url: receiver.url })).secret as string;
}

describe("slash commands in the composer", () => {
  it("offers the room's commands after /, navigable by keyboard, and shows the answers", async () => {
    const page = alice.page;
    const roomId = await createRoom(page, "Forecast", "public");
    await setUpBot(roomId);
    receiver.answer = (call) =>
      call.json.command === "weather"
        ? {
            status: 200,
            body: JSON.stringify({
              content: `Only you: sunny in ${(call.json.args as { city: string }).city}`,
              ephemeral: true,
            }),
          }
        : { status: 200, body: JSON.stringify({ content: "You rolled 7" }) };
    await page.reload();

    const box = composer(page);
    await box.click();
    await box.pressSequentially("/");
    const list = page.getByRole("listbox", { name: "Commands" });
    await list.waitFor();
    const options = list.getByRole("option");
    await expect(options.count()).resolves.toBe(2);
    expect(await options.nth(0).textContent()).toContain("/roll <dice>");
    expect(await options.nth(1).textContent()).toContain("The weather in a city");
    expect(await options.nth(0).getAttribute("aria-selected")).toBe("true");
    await list.screenshot({ path: screenshotPath("commands-completion") });

    // ↓ moves to the second; Enter takes it; the box says which option is active.
    await box.press("ArrowDown");
    expect(await options.nth(1).getAttribute("aria-selected")).toBe("true");
    expect(await box.getAttribute("aria-activedescendant")).toBe("command-list-1");
    await box.press("Enter");
    await expect(box.inputValue()).resolves.toBe("/weather ");
    await expect(list.count()).resolves.toBe(0);
    await box.pressSequentially("Oslo");
    await box.press("Enter");

    const answer = page.getByRole("list", { name: "Answers only you can see" });
    await answer.getByText("Only you: sunny in Oslo").waitFor();
    expect(await answer.textContent()).toContain("only you can see this");
    await expect(box.inputValue()).resolves.toBe("");
    const [call] = await receiver.waitFor(1);
    expect(call?.verified).toEqual({ ok: true });

    // Typing narrows the list; a posted answer appears as the bot's message.
    await box.pressSequentially("/ro");
    await expect(options.count()).resolves.toBe(1);
    await box.press("Tab");
    await box.pressSequentially("2d6");
    await box.press("Enter");
    await message(page, "You rolled 7").waitFor();
    await page.screenshot({ path: screenshotPath("commands-answers") });
    // The commands themselves were never posted.
    expect(await page.locator(".message", { hasText: "/weather Oslo" }).count()).toBe(0);
    expect(await page.locator(".message", { hasText: "/roll 2d6" }).count()).toBe(0);

    // Dismissed, the ephemeral answer is gone.
    await answer.getByRole("button", { name: "Dismiss" }).click();
    await expect(page.getByRole("list", { name: "Answers only you can see" }).count()).resolves.toBe(0);
  });
});
