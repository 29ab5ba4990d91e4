import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { png } from "../api/support.ts";

/** A loopback web server with pages for link previews, counting requests and connections. */
export interface PageServer {
  readonly origin: string;
  /** Requests by path and query. */
  readonly hits: Map<string, number>;
  /** TCP connections accepted. */
  readonly connections: number;
  close(): Promise<void>;
}

const html = (head: string, body = "") =>
  `<!doctype html><html><head>${head}</head><body>${body}<p>Hello</p></body></html>`;

/**
 * Serves: `/og` (Open Graph with an image), `/twitter` (Twitter card tags only), `/title`
 * (`<title>` and meta description, in ISO-8859-1), `/huge` (tags first, then 3 MiB), `/slow`
 * (never answers), `/file` (not HTML), `/image.png`; for profile links, `/me?to=<url>` (an
 * `<a rel="me">` to `url`), `/me-link?to=<url>` (a `<link rel="me">` in the head, relative to a
 * `<base>`) and `/not-me?to=<url>` (a plain link to `url`).
 */
export async function startPageServer(): Promise<PageServer> {
  const hits = new Map<string, number>();
  const state = { connections: 0 };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    hits.set(path + url.search, (hits.get(path + url.search) ?? 0) + 1);
    switch (path) {
      case "/og":
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(
          html(
            `<title>Ignored title</title>
             <meta property="og:title" content="  The &amp; Open   Graph title ">
             <meta property="og:description" content="What the page says">
             <meta property="og:site_name" content="Example Site">
             <meta property="og:image" content="/image.png">`,
          ),
        );
        return;
      case "/twitter":
        res.writeHead(200, { "content-type": "text/html" });
        res.end(
          html(`<meta name="twitter:title" content="Tweet title">
                <meta name="twitter:description" content="${"long ".repeat(200)}">`),
        );
        return;
      case "/title":
        res.writeHead(200, { "content-type": "text/html; charset=iso-8859-1" });
        res.end(Buffer.from(html(`<title>Caf\u00e9 page</title><meta name="description" content="Plain">`), "latin1"));
        return;
      case "/huge": {
        res.writeHead(200, { "content-type": "text/html" });
        res.write(`<html><head><title>Huge page</title></head><body>`);
        const filler = `<p>${"x".repeat(1020)}</p>`;
        let sent = 0;
        const more = () => {
          while (sent < 3 * 1024 && res.write(filler)) sent++;
          if (sent >= 3 * 1024) res.end("</body></html>");
          else res.once("drain", more);
        };
        res.on("error", () => {});
        more();
        return;
      }
      case "/slow":
        res.writeHead(200, { "content-type": "text/html" });
        res.write("<html><head>");
        // Never finishes: the fetcher's deadline ends it.
        return;
      case "/file":
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(Buffer.alloc(1000));
        return;
      case "/me":
      case "/not-me": {
        const to = (url.searchParams.get("to") ?? "").replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
        res.writeHead(200, { "content-type": "text/html" });
        res.end(html("<title>Me</title>", `<a href="${to}"${path === "/me" ? ' rel="nofollow ME"' : ""}>me</a>`));
        return;
      }
      case "/me-link": {
        const to = new URL(url.searchParams.get("to") ?? "");
        res.writeHead(200, { "content-type": "text/html" });
        res.end(html(`<base href="${to.origin}/"><link rel="me" href="${to.pathname.slice(1)}#x">`));
        return;
      }
      case "/image.png":
        res.writeHead(200, { "content-type": "image/png" });
        res.end(png(64, 32));
        return;
      default:
        res.writeHead(404).end();
    }
  });
  server.on("connection", () => {
    state.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    hits,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
