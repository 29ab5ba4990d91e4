import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Context, Hono } from "hono";
import type { Env } from "./app.ts";

/** Where `vite build` writes the browser client (web/vite.config.ts). */
export const defaultWebRoot = fileURLToPath(new URL("../../web/dist/", import.meta.url));

/** Paths that belong to the server, never to the client's router. */
const serverPaths = /^\/(api|media|\.well-known|nodeinfo|healthz|readyz|problems)(\/|$)/;

/**
 * The client's pages (web/src/main.tsx routes them). Other paths stay 404 problems, for
 * browsers too: an unknown address is not found rather than an empty client.
 */
export const clientPages =
  /^\/(|rooms\/[^/]+|rooms\/[^/]+\/settings|users\/[^/]+|invite\/[^/]+|directory|new|join|dm|settings|settings\/stickers|notifications|contacts|search|login|register)$/;

const mediaTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webmanifest": "application/manifest+json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The page's policy: scripts only from our origin (Vite emits no inline script), styles only
 * from our origin (the client sets colours through the CSSOM, which style-src does not govern),
 * the stream's WebSocket on our own origin, avatars from our origin, and previews of a chosen
 * file as blob: URLs.
 */
export function clientPolicy(origin: string): string {
  const url = new URL(origin);
  const ws = `${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self' ${ws}`,
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join("; ");
}

interface StaticFile {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly type: string;
}

/**
 * Whether the request wants the page: anything that does not ask for JSON (a browser, `curl`,
 * no `Accept`, an image viewer following a link). A program that asks for JSON (the API's,
 * ActivityPub's) gets a problem, never HTML it did not ask for; `/` alone, which has no
 * ActivityPub document, shows the client to any request but an ActivityPub one.
 */
function wantsPage(c: Context<Env>, path: string): boolean {
  const types = (c.req.header("accept") ?? "*/*").split(",").map((part) => part.split(";")[0]?.trim().toLowerCase());
  if (types.includes("text/html")) return true;
  if (path === "/")
    return !types.some((type) => type === "application/activity+json" || type === "application/ld+json");
  return !types.some((type) => type?.endsWith("json"));
}

/**
 * Serves the browser client built into `root`: files under `/assets/` (hashed names, cached for
 * a year), other files of the build by name, and `index.html` to browsers for every page the
 * client routes ({@link clientPages}: `/rooms/…`, `/users/…`, `/invite/…`, …), including the
 * actor URLs whose ActivityPub representation Fedify serves to servers. Server paths (`/api/`,
 * `/media/`, `/.well-known/`, …) never get the page. When the client has not been built, pages get a short plain-text
 * explanation instead.
 */
export function webRoutes(app: Hono<Env>, root: string = defaultWebRoot): void {
  const base = normalize(root.endsWith(sep) ? root : root + sep);
  const cache = new Map<string, StaticFile>();

  async function load(file: string): Promise<StaticFile | undefined> {
    const path = normalize(join(base, file));
    if (!path.startsWith(base)) return undefined;
    const hit = cache.get(path);
    if (hit) return hit;
    try {
      if (!(await stat(path)).isFile()) return undefined;
      const entry = {
        body: new Uint8Array(await readFile(path)),
        type: mediaTypes[extname(path)] ?? "application/octet-stream",
      };
      // Hashed assets never change; index.html is re-read so a rebuild shows without a restart.
      if (file.startsWith("assets/")) cache.set(path, entry);
      return entry;
    } catch {
      return undefined;
    }
  }

  function send(c: Context<Env>, file: StaticFile, cacheControl: string, page: boolean) {
    const headers: Record<string, string> = {
      "Content-Type": file.type,
      "Cache-Control": cacheControl,
      "X-Content-Type-Options": "nosniff",
    };
    if (page) {
      headers["Content-Security-Policy"] = clientPolicy(c.var.origin);
      headers.Vary = "Accept";
    }
    return c.req.method === "HEAD" ? c.body(null, 200, headers) : c.body(file.body, 200, headers);
  }

  // Middleware, not a GET route: a route for "*" would make every other method's 404 a 405.
  app.use(async (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") return next();
    let path: string;
    try {
      path = decodeURIComponent(c.req.path);
    } catch {
      return next();
    }
    if (serverPaths.test(path) || path.includes("\0")) return next();
    if (path.startsWith("/assets/")) {
      const file = await load(path.slice(1));
      return file ? send(c, file, "public, max-age=31536000, immutable", false) : next();
    }
    const name = path.slice(1);
    if (/^[\w.-]+\.(svg|png|ico|webmanifest|txt)$/.test(name)) {
      const file = await load(name);
      if (file) return send(c, file, "public, max-age=3600", false);
    }
    if (!wantsPage(c, path) || !clientPages.test(path)) return next();
    const index = await load("index.html");
    if (index) return send(c, index, "no-cache", true);
    return c.text(
      "The web client has not been built: run `npm run build:web` (npm start does it when web/dist is missing).",
      503,
      { "Cache-Control": "no-store" },
    );
  });
}
