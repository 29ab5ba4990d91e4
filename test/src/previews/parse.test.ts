import { describe, expect, it } from "vitest";
import { normaliseUrl, previewableLinks } from "../../../src/previews/links.ts";
import { isHtml, metaLimits, readPageMeta } from "../../../src/previews/parse.ts";

const page = (head: string) => new TextEncoder().encode(`<html><head>${head}</head><body></body></html>`);

describe("readPageMeta", () => {
  it("prefers Open Graph, then Twitter card tags, then plain HTML", () => {
    const meta = readPageMeta(
      page(`<title>Plain</title><meta name="description" content="plain description">
        <meta name="twitter:title" content="Twitter"><meta property="og:title" content="Open Graph">
        <meta name="twitter:image" content="//cdn.example/t.png">`),
      "text/html",
      "https://site.example/a/b",
    );
    expect(meta).toEqual({
      title: "Open Graph",
      description: "plain description",
      siteName: null,
      imageUrl: "https://cdn.example/t.png",
    });
  });

  it("resolves a relative image against <base>, and refuses an image that is not http(s)", () => {
    const base = readPageMeta(
      page(`<base href="https://static.example/x/"><meta property="og:image" content="img.png">`),
      undefined,
      "https://site.example/",
    );
    expect(base.imageUrl).toBe("https://static.example/x/img.png");
    const script = readPageMeta(
      page(`<meta property="og:image" content="javascript:alert(1)">`),
      undefined,
      "https://s.example/",
    );
    expect(script.imageUrl).toBeNull();
  });

  it("cleans text: entities decoded, invisible characters and controls gone, long text cut", () => {
    const meta = readPageMeta(
      page(
        `<title>\u202Eevil\u200B &lt;b&gt;  title\n</title><meta property="og:description" content="${"a".repeat(1000)}">`,
      ),
      "text/html",
      "https://s.example/",
    );
    expect(meta.title).toBe("evil <b> title");
    expect([...(meta.description ?? "")]).toHaveLength(metaLimits.description);
    expect(meta.description?.endsWith("…")).toBe(true);
  });

  it("decodes the declared charset, a <meta charset>, or UTF-8", () => {
    const latin = Buffer.from("<title>Caf\u00e9</title>", "latin1");
    expect(readPageMeta(latin, "text/html; charset=ISO-8859-1", "https://s.example/").title).toBe("Café");
    const meta = Buffer.from('<meta charset="windows-1252"><title>\u00e9t\u00e9</title>', "latin1");
    expect(readPageMeta(meta, "text/html", "https://s.example/").title).toBe("été");
    const unknown = new TextEncoder().encode("<title>été</title>");
    expect(readPageMeta(unknown, "text/html; charset=x-nonsense", "https://s.example/").title).toBe("été");
  });

  it("reads a page cut in the middle of a tag, and ignores an SVG's title", () => {
    const meta = readPageMeta(
      new TextEncoder().encode('<svg><title>icon</title></svg><title>Real</title><meta property="og:desc'),
      "text/html",
      "https://s.example/",
    );
    expect(meta.title).toBe("Real");
  });

  it("stops reading at <body>: what a page's body says is not its card", () => {
    const meta = readPageMeta(
      new TextEncoder().encode(
        `<title>Head</title><body>${"<p>x</p>".repeat(5000)}<meta property="og:title" content="Late">`,
      ),
      "text/html",
      "https://s.example/",
    );
    expect(meta.title).toBe("Head");
  });

  it("takes HTML and XHTML only", () => {
    expect(isHtml("text/html; charset=utf-8")).toBe(true);
    expect(isHtml("application/xhtml+xml")).toBe(true);
    expect(isHtml("application/json")).toBe(false);
    expect(isHtml(undefined)).toBe(false);
  });
});

describe("previewableLinks", () => {
  it("takes the first three distinct http(s) links, not mentions or this server", () => {
    const html = [
      '<a class="mention" href="https://chat.example/users/bob">@bob</a>',
      '<a href="https://chat.example/rooms/x">room</a>',
      '<a href="mailto:a@b.example">mail</a>',
      '<a href="https://one.example/#top">1</a>',
      '<a href="https://ONE.example:443/">1 again</a>',
      '<a href="http://two.example/p?q=1">2</a>',
      '<a href="https://u:p@three.example/">credentials</a>',
      '<a href="https://three.example/">3</a>',
      '<a href="https://four.example/">4</a>',
    ].join(" ");
    expect(previewableLinks(html, "https://chat.example")).toEqual([
      "https://one.example/",
      "http://two.example/p?q=1",
      "https://three.example/",
    ]);
    expect(normaliseUrl(`https://x.example/${"a".repeat(3000)}`)).toBeUndefined();
  });
});
