import { describe, expect, it } from "vitest";
import { renderMessage, sanitizeRemoteHtml, snippet } from "../../../src/messages/markdown.ts";
import { toneIndicators } from "../../../src/messages/tone-indicators.ts";

const options = { origin: "https://chat.example", resolveMention: () => undefined };
const render = (source: string) => renderMessage(source, options).html;
const tone = (text: string, meaning: string) => `<abbr class="tone" title="${meaning}">${text}</abbr>`;

describe("tone indicators", () => {
  it("marks an indicator at the end of the message, a clause or a line", () => {
    expect(render("nice shoes /j")).toBe(`<p>nice shoes ${tone("/j", "joking")}</p>`);
    expect(render("/srs")).toBe(`<p>${tone("/srs", "serious")}</p>`);
    expect(render("sure /s, go ahead")).toBe(`<p>sure ${tone("/s", "sarcastic")}, go ahead</p>`);
    expect(render("are you ok /genq?")).toBe(`<p>are you ok ${tone("/genq", "genuine question")}?</p>`);
    expect(render("first /hj\nsecond /lh")).toBe(
      `<p>first ${tone("/hj", "half-joking")}<br />\nsecond ${tone("/lh", "light-hearted")}</p>`,
    );
    expect(render("hm (/gen)")).toBe(`<p>hm (${tone("/gen", "genuine")})</p>`);
  });

  it("marks several indicators in a row, whatever their case", () => {
    expect(render("you're the worst /t /pos.")).toBe(
      `<p>you're the worst ${tone("/t", "teasing")} ${tone("/pos", "positive")}.</p>`,
    );
    expect(render("LOL /J")).toBe(`<p>LOL ${tone("/J", "joking")}</p>`);
  });

  it("marks an indicator at the end of formatting, a spoiler or a list item", () => {
    expect(render("**so brave /s**")).toBe(`<p><strong>so brave ${tone("/s", "sarcastic")}</strong></p>`);
    expect(render("||i did it /j||")).toBe(`<p><span class="spoiler">i did it ${tone("/j", "joking")}</span></p>`);
    expect(render("- one /nm")).toBe(`<ul>\n<li>one ${tone("/nm", "not mad")}</li>\n</ul>`);
  });

  it("leaves an indicator that does not end a clause, or is part of a word or path, as text", () => {
    for (const source of [
      "lol /j really",
      "and/or",
      "this/j",
      "lol /jk",
      "x /s/ y",
      "/j/s",
      "**x**/j",
      "lol /j **really**",
      "lol /unknown",
      "see /usr/bin/m",
    ]) {
      expect(render(source)).not.toContain("<abbr");
    }
  });

  it("never marks inside code, addresses or link text, nor an escaped slash", () => {
    for (const source of [
      "`lol /j`",
      "```\nlol /j\n```",
      "    lol /j",
      "https://example.com/j",
      "<https://example.com/s>",
      "[lol /j](https://example.com)",
      "lol \\/j",
    ]) {
      expect(render(source)).not.toContain("<abbr");
    }
    expect(render("see https://example.com/x /j")).toContain(tone("/j", "joking"));
  });

  it("knows the common set, each with a meaning", () => {
    for (const name of [
      "/j",
      "/hj",
      "/s",
      "/sarc",
      "/srs",
      "/nsrs",
      "/lh",
      "/g",
      "/gen",
      "/genq",
      "/p",
      "/r",
      "/nbh",
    ]) {
      expect(toneIndicators.get(name)).toMatch(/^[a-z -]+$/);
    }
    expect(toneIndicators.size).toBeGreaterThanOrEqual(40);
  });

  it("keeps the indicator's text in snippets", () => {
    expect(snippet("nice shoes /j")).toBe("nice shoes /j");
  });
});

describe("sanitizeRemoteHtml and tone indicators", () => {
  it("keeps a known indicator with our meaning, not the remote one", () => {
    expect(sanitizeRemoteHtml('<p>x <abbr class="tone" title="threat" onclick="y()">/j</abbr></p>')).toBe(
      `<p>x ${tone("/j", "joking")}</p>`,
    );
  });

  it("unwraps any other abbr, keeping its text", () => {
    expect(
      sanitizeRemoteHtml(
        '<abbr title="HyperText">HTML</abbr> <abbr class="tone" title="x">/nope</abbr> <abbr class="tone evil">/j</abbr> <abbr class="tone" title="a"><abbr>/j</abbr></abbr>',
      ),
    ).toBe("HTML /nope /j /j");
  });
});

describe("a long run of tone indicators", () => {
  it("marks at most six in a row, the last six before the clause's end", () => {
    const html = renderMessage(`${"/j ".repeat(1333)}.`, options).html;
    expect(html.match(/<abbr /g)).toHaveLength(6);
    expect(renderMessage("ok /j /s /t /pos /neg /lh.", options).html.match(/<abbr /g)).toHaveLength(6);
  });
});
