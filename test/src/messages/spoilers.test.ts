import { describe, expect, it } from "vitest";
import { renderMessage, sanitizeRemoteHtml, snippet } from "../../../src/messages/markdown.ts";

const options = { origin: "https://chat.example", resolveMention: () => undefined };
const render = (source: string) => renderMessage(source, options).html;

describe("spoilers", () => {
  it("renders ||text|| as a span of class spoiler, with Markdown inside", () => {
    expect(render("||secret||")).toBe('<p><span class="spoiler">secret</span></p>');
    expect(render("the killer is ||**the butler**|| indeed")).toBe(
      '<p>the killer is <span class="spoiler"><strong>the butler</strong></span> indeed</p>',
    );
    expect(render("||one|| and ||two||")).toBe(
      '<p><span class="spoiler">one</span> and <span class="spoiler">two</span></p>',
    );
    expect(render("||a\nb||")).toBe('<p><span class="spoiler">a<br />\nb</span></p>');
  });

  it("works next to words and inside other formatting", () => {
    expect(render("x||y||z")).toBe('<p>x<span class="spoiler">y</span>z</p>');
    expect(render("**a ||b||**")).toBe('<p><strong>a <span class="spoiler">b</span></strong></p>');
    expect(render("[||a||](https://ok.example)")).toBe(
      '<p><a href="https://ok.example" rel="nofollow noopener noreferrer ugc" target="_blank"><span class="spoiler">a</span></a></p>',
    );
  });

  it("leaves unclosed, empty and cross-paragraph markers as text", () => {
    expect(render("||open")).toBe("<p>||open</p>");
    expect(render("a || b")).toBe("<p>a || b</p>");
    expect(render("||||")).toBe("<p>||||</p>");
    expect(render("||a\n\nb||")).toBe("<p>||a</p>\n<p>b||</p>");
    expect(render("| a | b |\n|---|---|")).toBe("<p>| a | b |<br />\n|---|---|</p>");
  });

  it("pairs markers from the left when they nest or overlap", () => {
    expect(render("|| a || b ||")).toBe('<p><span class="spoiler"> a </span> b ||</p>');
    expect(render("||||a||||")).toBe('<p>|<span class="spoiler">|a</span>||</p>');
  });

  it("keeps code spans and blocks literal", () => {
    expect(render("`||a||`")).toBe("<p><code>||a||</code></p>");
    expect(render("```\n||a||\n```")).toBe("<pre><code>||a||\n</code></pre>");
  });

  it("escapes HTML inside a spoiler", () => {
    expect(render("||<img src=x onerror=alert(1)>||")).toBe(
      '<p><span class="spoiler">&lt;img src=x onerror=alert(1)&gt;</span></p>',
    );
    expect(render('||<span class="spoiler" onclick="x">a</span>||')).toBe(
      '<p><span class="spoiler">&lt;span class="spoiler" onclick="x"&gt;a&lt;/span&gt;</span></p>',
    );
  });

  // Backtracking over unmatched markers would not finish within the test's timeout, which is
  // the guard here: tests never assert timings (a busy machine once took 1.7 s for these).
  it("renders long hostile input, balanced", { timeout: 30_000 }, () => {
    for (const source of ["||".repeat(2000), "||a".repeat(1333), "||a||".repeat(800), `${"||**".repeat(1000)}x`]) {
      const html = render(source);
      expect(html.split("<span").length).toBe(html.split("</span>").length);
    }
  });

  it("hides the spoiler's text in snippets", () => {
    expect(snippet("the killer is ||the butler||, sadly")).toBe("the killer is [spoiler], sadly");
    expect(snippet("||a ||b|| c||")).toBe("[spoiler]b[spoiler]");
  });
});

describe("sanitizeRemoteHtml and spans", () => {
  it("keeps a spoiler from another server and unwraps any other span, keeping its text", () => {
    expect(
      sanitizeRemoteHtml(
        '<p><span class="h-card"><a href="https://m.example/@a" class="u-url mention">@<span>a</span></a></span> ' +
          '<span class="invisible">https://</span><span class="spoiler" style="color:red" onclick="x()">s<span>t</span></span></p>',
      ),
    ).toBe(
      '<p><a href="https://m.example/@a" rel="nofollow noopener noreferrer ugc" target="_blank">@a</a> https://<span class="spoiler">st</span></p>',
    );
  });

  it("drops extra classes: only exactly `spoiler` is kept", () => {
    expect(sanitizeRemoteHtml('<span class="spoiler evil">x</span>')).toBe("x");
  });
});
