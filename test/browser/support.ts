import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterEach, expect } from "vitest";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { freePort, type ServerProcess, startServer, stopServer } from "../helpers/server.ts";

/** Debian's chromium (CI installs it); never a downloaded browser. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Screenshots and other files a run leaves for people to look at (gitignored). */
export const artifactsDir = fileURLToPath(new URL("../../test-artifacts/browser/", import.meta.url));

export const desktop = { width: 1280, height: 800 };
export const phone = { width: 360, height: 740 };

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** A server started the way `npm start` starts it, on its own embedded database. */
export class TestServer {
  server!: ServerProcess;
  readonly dataDir = preparedDataDir("fedchat-browser-");
  port = 0;

  /** More configuration (a test that needs loopback pages allows private addresses). */
  readonly env: Record<string, string>;

  constructor(env: Record<string, string> = {}) {
    this.env = env;
  }

  get url(): string {
    return this.server.url;
  }

  async start(): Promise<void> {
    this.port ||= await freePort();
    this.server = await startServer(
      {
        DATA_DIR: this.dataDir,
        // Several sign-ups from one address within minutes: the per-address limit is for people.
        RATE_LIMIT_FACTOR: "20",
        QUEUE_WORKERS: "1",
        PORT: String(this.port),
        ...this.env,
      },
      // TEST_SERVER_START_MS: a fresh embedded database on a loaded machine can take longer.
      Number(process.env.TEST_SERVER_START_MS) || 90_000,
    );
  }

  async stop(): Promise<void> {
    if (this.server) await stopServer(this.server);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Records what must never happen on a page: dialogs (alert/confirm/prompt) and page errors. */
export function watch(page: Page): { dialogs: string[]; errors: string[] } {
  const seen = { dialogs: [] as string[], errors: [] as string[] };
  page.on("dialog", (dialog) => {
    seen.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("pageerror", (error) => seen.errors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error" && /Content.Security.Policy/i.test(message.text())) seen.errors.push(message.text());
  });
  return seen;
}

export async function newUserPage(
  browser: Browser,
  url: string,
  viewport = desktop,
): Promise<{ context: BrowserContext; page: Page; seen: ReturnType<typeof watch> }> {
  const context = await browser.newContext({ viewport, baseURL: url });
  const page = await context.newPage();
  const seen = watch(page);
  return { context, page, seen };
}

/** Signs up through the sign-up form and waits for the room list. */
export async function register(page: Page, username: string, displayName: string, password = "correct horse battery") {
  await page.goto("/register");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Display name (optional)").fill(displayName);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("navigation", { name: "Rooms" }).waitFor({ timeout: 15_000 });
}

/** Creates a room through the form; returns its id (from the URL it lands on). */
export async function createRoom(
  page: Page,
  name: string,
  visibility: "public" | "private",
  topic = "",
): Promise<string> {
  await page.getByRole("link", { name: "Create a room" }).first().click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  if (topic) await page.getByLabel("Topic (optional)").fill(topic);
  await page.locator(`input[name=visibility][value=${visibility}]`).check();
  await page.getByRole("button", { name: "Create room" }).click();
  await page.waitForURL(/\/rooms\/[0-9a-f-]{36}$/);
  return new URL(page.url()).pathname.split("/").pop() as string;
}

/** The composer of the open room. */
export function composer(page: Page) {
  return page.locator(".composer textarea");
}

/** The message in the timeline whose text contains `text` (acknowledged by the server, not pending). */
export function message(page: Page, text: string) {
  return page.locator(".messages li.message:not(.pending-message)").filter({ hasText: text });
}

export function screenshotPath(name: string): string {
  return join(artifactsDir, `${name}.png`);
}

/** After a failed test, keeps a screenshot of what each page showed, to see why. */
export function screenshotFailures(pages: () => Record<string, Page | undefined>): void {
  afterEach(async (context) => {
    if (context.task.result?.state !== "fail") return;
    const name = context.task.name.replace(/\W+/g, "-");
    for (const [who, page] of Object.entries(pages())) {
      await page?.screenshot({ path: screenshotPath(`failed-${name}-${who}`) }).catch(() => {});
    }
  });
}

/** The API as a script would use it, signed in as `username` (JSON bodies, or a FormData as it is). */
export async function apiAs(url: string, username: string) {
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse battery", refreshTokenIn: "body" }),
  });
  expect(login.status).toBe(200);
  const { accessToken } = (await login.json()) as { accessToken: string };
  return async (method: string, path: string, body?: unknown) => {
    const form = body instanceof FormData;
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${accessToken}`, ...(form ? {} : { "content-type": "application/json" }) },
      body: form ? body : body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status, `${method} ${path}: ${res.status}`).toBeLessThan(300);
    return res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>);
  };
}
