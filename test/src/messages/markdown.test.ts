import { describe, expect, it } from "vitest";
import { type RenderOptions, renderMessage, snippet, snippetOf } from "../../../src/messages/markdown.ts";
import { plainText } from "../../../src/messages/plain-text.ts";

const origin = "https://chat.example";
const rel = "nofollow noopener noreferrer ugc";
const link = (href: string, text: string) => `<a href="${href}" rel="${rel}" target="_blank">${text}</a>`;
const mention = (href: string, handle: string) => `<a class="mention" href="${href}" rel="${rel}">@${handle}</a>`;

/** The users our resolver knows, by `username` (local) or `username@host`. */
const directory: Record<string, { url: string; handle: string }> = {
  alice: { url: "https://chat.example/@alice", handle: "alice" },
  bob: { url: "https://chat.example/@bob", handle: "bob" },
  alice_smith: { url: "https://chat.example/@alice_smith", handle: "alice_smith" },
  "carol@remote.example": { url: "https://remote.example/users/carol", handle: "carol@remote.example" },
  "dave@127.0.0.1:3002": { url: "http://127.0.0.1:3002/users/dave", handle: "dave@127.0.0.1:3002" },
};

/** A resolver over {@link directory} that records its calls. */
function resolver(entries = directory) {
  const calls: [string, string | undefined][] = [];
  const resolveMention: RenderOptions["resolveMention"] = (username, host) => {
    calls.push([username, host]);
    return entries[host == null ? username : `${username}@${host}`];
  };
  return { calls, options: { origin, resolveMention } };
}

const render = (source: string) => renderMessage(source, resolver().options).html;

describe("renderMessage: the supported subset", () => {
  it.each([
    ["hello", "<p>hello</p>"],
    ["", ""],
    [" \n\n \n", ""],
    ["**bold** and __strong__", "<p><strong>bold</strong> and <strong>strong</strong></p>"],
    ["*italic* and _also_", "<p><em>italic</em> and <em>also</em></p>"],
    ["***both***", "<p><em><strong>both</strong></em></p>"],
    ["~~gone~~", "<p><s>gone</s></p>"],
    ["`a < b && c`", "<p><code>a &lt; b &amp;&amp; c</code></p>"],
    ["`` `tick` ``", "<p><code>`tick`</code></p>"],
    ["one\ntwo", "<p>one<br />\ntwo</p>"],
    ["one\r\ntwo", "<p>one<br />\ntwo</p>"],
    ["one\n\ntwo", "<p>one</p>\n<p>two</p>"],
    ["a\\*b\\*", "<p>a*b*</p>"],
    ["héllo 👋 мир", "<p>héllo 👋 мир</p>"],
    ['"quotes" -- and... (c)', '<p>"quotes" -- and... (c)</p>'],
    ["```ts\nconst a = 1 < 2;\n```", '<pre><code class="language-ts">const a = 1 &lt; 2;\n</code></pre>'],
    ["```\nplain\n\nblock\n```", "<pre><code>plain\n\nblock\n</code></pre>"],
    ["~~~python\nx\n~~~", '<pre><code class="language-python">x\n</code></pre>'],
    ["    indented\n    code", "<pre><code>indented\ncode\n</code></pre>"],
    ["- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"],
    ["* one\n  * nested", "<ul>\n<li>one\n<ul>\n<li>nested</li>\n</ul>\n</li>\n</ul>"],
    ["1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"],
    ["7. seven", '<ol start="7">\n<li>seven</li>\n</ol>'],
    ["> quoted\n> more", "<blockquote>\n<p>quoted<br />\nmore</p>\n</blockquote>"],
    ["> outer\n>> inner", "<blockquote>\n<p>outer</p>\n<blockquote>\n<p>inner</p>\n</blockquote>\n</blockquote>"],
  ])("renders %j", (source, html) => {
    expect(render(source)).toBe(html);
  });

  it.each([
    ["ts", ' class="language-ts"'],
    ["C#", ' class="language-C#"'],
    ["objective-c++", ' class="language-objective-c++"'],
    ["js title=x.js", ' class="language-js"'],
    ["a".repeat(20), ` class="language-${"a".repeat(20)}"`],
    ["a".repeat(21), ""],
    ["py.3", ""],
    ['js"onclick=alert(1)', ""],
    ["<b>", ""],
    ["&lt;b&gt;", ""],
    ["x_y", ""],
    ["language-x y", ' class="language-language-x"'],
  ])("gives the fence info %j the class attribute %j", (info, attribute) => {
    expect(render(`\`\`\`${info}\ncode\n\`\`\``)).toBe(`<pre><code${attribute}>code\n</code></pre>`);
  });
});

describe("renderMessage: what is not supported stays text", () => {
  it.each([
    // Headings are literal text, as typed.
    ["# Heading", "<p># Heading</p>"],
    ["### Small", "<p>### Small</p>"],
    ["Title\n===", "<p>Title<br />\n===</p>"],
    ["Title\n---", "<p>Title<br />\n---</p>"],
    // Images become a link after a literal "!".
    ["![alt](https://example.com/a.png)", `<p>!${link("https://example.com/a.png", "alt")}</p>`],
    ["![alt](javascript:alert(1))", "<p>![alt](javascript:alert(1))</p>"],
    // Tables, rules and link reference definitions are text.
    ["| a | b |\n|---|---|\n| 1 | 2 |", "<p>| a | b |<br />\n|---|---|<br />\n| 1 | 2 |</p>"],
    ["---", "<p>---</p>"],
    ["***", "<p>***</p>"],
    [
      "[ref]: https://example.com\n\n[ref]",
      `<p>[ref]: ${link("https://example.com", "https://example.com")}</p>\n<p>[ref]</p>`,
    ],
    // Raw HTML is escaped, entities decode to text only.
    ["<b>bold</b>", "<p>&lt;b&gt;bold&lt;/b&gt;</p>"],
    ["<img src=1 onerror=alert(1)>", "<p>&lt;img src=1 onerror=alert(1)&gt;</p>"],
    ["<div>\nblock\n</div>", "<p>&lt;div&gt;<br />\nblock<br />\n&lt;/div&gt;</p>"],
    ["<!-- comment -->", "<p>&lt;!-- comment --&gt;</p>"],
    ["&lt;b&gt; &amp; &copy; &#60;i&#62;", "<p>&lt;b&gt; &amp; © &lt;i&gt;</p>"],
  ])("renders %j as %j", (source, html) => {
    expect(render(source)).toBe(html);
  });
});

describe("renderMessage: links", () => {
  it.each([
    ["[text](https://example.com/a?b=1&c=2)", `<p>${link("https://example.com/a?b=1&amp;c=2", "text")}</p>`],
    ["[text](http://example.com)", `<p>${link("http://example.com", "text")}</p>`],
    ["[write](mailto:bob@example.com)", `<p>${link("mailto:bob@example.com", "write")}</p>`],
    ["[**bold** link](https://example.com)", `<p>${link("https://example.com", "<strong>bold</strong> link")}</p>`],
    ['[titled](https://example.com "a title")', `<p>${link("https://example.com", "titled")}</p>`],
    ["[sp](https://example.com/a b)", `<p>[sp](${link("https://example.com/a", "https://example.com/a")} b)</p>`],
    ["[sp](<https://example.com/a b>)", `<p>${link("https://example.com/a%20b", "sp")}</p>`],
    ["<https://example.com/x>", `<p>${link("https://example.com/x", "https://example.com/x")}</p>`],
    ["see https://example.com/x.", `<p>see ${link("https://example.com/x", "https://example.com/x")}.</p>`],
    ["(https://example.com/x)", `<p>(${link("https://example.com/x", "https://example.com/x")})</p>`],
    ["https://bücher.example/", `<p>${link("https://xn--bcher-kva.example/", "https://bücher.example/")}</p>`],
    ["mail bob@example.com", `<p>mail ${link("mailto:bob@example.com", "bob@example.com")}</p>`],
    ["mailto:bob@example.com", `<p>${link("mailto:bob@example.com", "mailto:bob@example.com")}</p>`],
    // Without a scheme, names stay text: they are file names more often than sites.
    ["www.example.com main.py notes.md", "<p>www.example.com main.py notes.md</p>"],
  ])("renders %j", (source, html) => {
    expect(render(source)).toBe(html);
  });

  it.each([
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](data:text/html,hi)",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "[x](ftp://example.com/)",
    "[x](//example.com/)",
    "[x](/relative/path)",
    "[x](relative)",
    "[x](#fragment)",
    "[x](https:)",
    "[x](https:/)",
    "[x](tel:+123)",
  ])("leaves %j as text", (source) => {
    const html = render(source);
    expect(html).not.toContain("<a");
    expect(html).toBe(`<p>${source}</p>`);
  });

  it.each([
    "javascript:alert(1)",
    "ftp://example.com/",
    "//example.com/x",
    "data:text/html,x",
    "<javascript:alert(1)>",
  ])("does not auto-link %j", (source) => {
    expect(render(source)).not.toContain("<a");
  });
});

describe("renderMessage: mentions", () => {
  it("links a local mention and reports it", () => {
    const { calls, options } = resolver();
    const result = renderMessage("hi @alice!", options);
    expect(result.html).toBe(`<p>hi ${mention("https://chat.example/@alice", "alice")}!</p>`);
    expect(result.mentions).toEqual([
      { username: "alice", host: undefined, url: "https://chat.example/@alice", handle: "alice" },
    ]);
    expect(calls).toEqual([["alice", undefined]]);
  });

  it("links a remote mention, lowercasing the username and the host", () => {
    const { calls, options } = resolver();
    const result = renderMessage("@Carol@Remote.Example, hello", options);
    expect(result.html).toBe(`<p>${mention("https://remote.example/users/carol", "carol@remote.example")}, hello</p>`);
    expect(result.mentions).toEqual([
      {
        username: "carol",
        host: "remote.example",
        url: "https://remote.example/users/carol",
        handle: "carol@remote.example",
      },
    ]);
    expect(calls).toEqual([["carol", "remote.example"]]);
  });

  it("treats a mention of this server's own host as local", () => {
    const { calls, options } = resolver();
    const result = renderMessage("@alice@chat.example", options);
    expect(calls).toEqual([["alice", undefined]]);
    expect(result.html).toBe(`<p>${mention("https://chat.example/@alice", "alice")}</p>`);
  });

  it("reads hosts with ports, and compares the own host with its port", () => {
    const { calls, options } = resolver();
    const result = renderMessage("@alice@127.0.0.1:3001 @dave@127.0.0.1:3002", {
      ...options,
      origin: "http://127.0.0.1:3001",
    });
    expect(calls).toEqual([
      ["alice", undefined],
      ["dave", "127.0.0.1:3002"],
    ]);
    expect(result.mentions.map((m) => m.handle)).toEqual(["alice", "dave@127.0.0.1:3002"]);
  });

  it("leaves unknown names as plain text, not as mail links", () => {
    const { calls, options } = resolver();
    const result = renderMessage("@nobody @nobody@remote.example @room @everyone", options);
    expect(result.html).toBe("<p>@nobody @nobody@remote.example @room @everyone</p>");
    expect(result.mentions).toEqual([]);
    expect(calls).toEqual([
      ["nobody", undefined],
      ["nobody", "remote.example"],
      ["room", undefined],
      ["everyone", undefined],
    ]);
  });

  it.each([
    ["@alice.", `<p>${mention("https://chat.example/@alice", "alice")}.</p>`],
    ["@alice's", `<p>${mention("https://chat.example/@alice", "alice")}'s</p>`],
    ["(@alice)", `<p>(${mention("https://chat.example/@alice", "alice")})</p>`],
    ["**@alice**", `<p><strong>${mention("https://chat.example/@alice", "alice")}</strong></p>`],
    ["- @alice", `<ul>\n<li>${mention("https://chat.example/@alice", "alice")}</li>\n</ul>`],
    ["@alice_smith", `<p>${mention("https://chat.example/@alice_smith", "alice_smith")}</p>`],
    ["x @carol@remote.example.", `<p>x ${mention("https://remote.example/users/carol", "carol@remote.example")}.</p>`],
  ])("finds the mention in %j", (source, html) => {
    expect(render(source)).toBe(html);
  });

  it.each([
    ["in a code span", "`@alice`"],
    ["in a fenced block", "```\n@alice\n```"],
    ["in an indented block", "    @alice"],
    ["in link text", "[@alice](https://example.com)"],
    ["in a link's address", "[x](https://example.com/@alice)"],
    ["in an auto-linked address", "https://example.com/@alice"],
    ["in an angle-bracket link", "<https://example.com/@alice>"],
    ["in a mail address", "alice@example.com"],
    ["after a word character", "x@alice"],
    ["after a dot", "example.@alice"],
    ["after a letter outside the BMP", "𝐱@alice"],
    ["escaped", "\\@alice"],
    ["too short", "@al"],
    ["too long", `@${"a".repeat(33)}`],
    ["followed by a hyphen (a room handle)", "@alice-room"],
    ["followed by letters outside the username alphabet", "@aliceé"],
    ["with an empty host", "@alice@"],
    ["with a host that is not a DNS name", "@alice@-bad-"],
    ["followed by another @", "@alice@remote.example@more"],
  ])("does not treat a name %s as a mention", (_, source) => {
    const { calls, options } = resolver();
    const result = renderMessage(source, options);
    expect(result.html).not.toContain('class="mention"');
    expect(result.mentions).toEqual([]);
    expect(calls.filter(([username]) => username.startsWith("alice"))).toEqual([]);
  });

  it("accepts 32 characters, the longest username", () => {
    const { calls, options } = resolver();
    renderMessage(`@${"a".repeat(32)}`, options);
    expect(calls).toEqual([["a".repeat(32), undefined]]);
  });

  it("lists each mention once, by handle, in order of first appearance, and asks once", () => {
    const { calls, options } = resolver();
    const result = renderMessage("@carol@remote.example @bob @ALICE @alice @alice@chat.example @bob", options);
    expect(result.mentions.map((m) => m.handle)).toEqual(["carol@remote.example", "bob", "alice"]);
    expect(calls).toEqual([
      ["carol", "remote.example"],
      ["bob", undefined],
      ["alice", undefined],
    ]);
    expect(result.html.match(/class="mention"/g)).toHaveLength(6);
  });

  it("de-duplicates two names that resolve to the same handle", () => {
    const alias = { url: "https://chat.example/@alice", handle: "alice" };
    const { options } = resolver({ ...directory, alicia: alias });
    const result = renderMessage("@alicia and @alice", options);
    expect(result.mentions).toEqual([{ username: "alicia", host: undefined, ...alias }]);
  });

  it("does not link a mention whose resolved address is not http(s)", () => {
    const { options } = resolver({ alice: { url: "javascript:alert(1)", handle: "alice" } });
    const result = renderMessage("@alice", options);
    expect(result.html).toBe("<p>@alice</p>");
    expect(result.mentions).toEqual([]);
  });

  it("escapes what the resolver returns", () => {
    const { options } = resolver({ alice: { url: 'https://chat.example/@alice"x', handle: "<b>alice</b>" } });
    const result = renderMessage("@alice", options);
    expect(result.html).toBe(
      `<p><a class="mention" href="https://chat.example/@alice&quot;x" rel="${rel}">@&lt;b&gt;alice&lt;/b&gt;</a></p>`,
    );
  });

  it("is deterministic", () => {
    const source = "@alice *hi* https://example.com @carol@remote.example\n\n```js\nx\n```";
    const first = renderMessage(source, resolver().options);
    const second = renderMessage(source, resolver().options);
    expect(second).toEqual(first);
  });
});

// ---------------------------------------------------------------------------------------------
// Safety over a corpus of XSS payloads.

/** The allowed tags and, for each, the allowed attributes and what their values must look like. */
const allowlist: Record<string, Record<string, RegExp>> = {
  p: {},
  br: {},
  strong: {},
  em: {},
  s: {},
  pre: {},
  ul: {},
  li: {},
  blockquote: {},
  ol: { start: /^\d+$/ },
  code: { class: /^language-[a-z0-9+#-]{1,20}$/i },
  span: { class: /^spoiler$/ },
  a: {
    // Inside double quotes only `"` could end the value; backticks and spaces are refused too.
    href: /^(?:https?:\/\/|mailto:)[^\s"<>`]+$/i,
    rel: /^nofollow noopener noreferrer ugc$/,
    target: /^_blank$/,
    class: /^mention$/,
  },
};
const tagPattern = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z-]+="[^"<>]*")*)\s*(\/?)>/g;
const attributePattern = /([a-zA-Z-]+)="([^"]*)"/g;

/** Throws unless every tag in `html` is allowlisted with allowlisted attributes and values. */
function assertSafe(html: string): void {
  const problems: string[] = [];
  for (const [, closing, rawName = "", attributes = ""] of html.matchAll(tagPattern)) {
    const name = rawName.toLowerCase();
    const allowed = allowlist[name];
    if (allowed == null) {
      problems.push(`tag <${rawName}>`);
      continue;
    }
    if (closing) {
      if (attributes.trim() !== "") problems.push(`attributes on </${name}>`);
      continue;
    }
    const names = new Set<string>();
    for (const [, attribute = "", value = ""] of attributes.matchAll(attributePattern)) {
      const pattern = allowed[attribute.toLowerCase()];
      if (pattern == null) problems.push(`attribute ${attribute} on <${name}>`);
      else if (!pattern.test(value)) problems.push(`${attribute}=${JSON.stringify(value)} on <${name}>`);
      if (names.has(attribute)) problems.push(`repeated ${attribute}`);
      names.add(attribute);
    }
    if (name === "a" && (!names.has("href") || !names.has("rel"))) problems.push("<a> without href or rel");
    if (name === "a" && names.has("class") === names.has("target"))
      problems.push("<a> needs exactly one of class=mention and target");
  }
  // Outside the tags matched above there may be no markup at all.
  const rest = html.replace(tagPattern, "");
  if (/[<>]/.test(rest)) problems.push(`stray markup in ${JSON.stringify(rest.slice(0, 200))}`);
  // The explicit checks the corpus is about, in case the tokenizer above were too lenient.
  if (/<script/i.test(html)) problems.push("<script");
  if (/<(?:img|iframe|style|svg|form|input|object|embed|math|base|meta|link)\b/i.test(html)) {
    problems.push("forbidden element");
  }
  for (const [tag] of html.matchAll(/<[^>]*>/g)) {
    if (/\son\w+\s*=/i.test(tag)) problems.push(`event handler in ${tag}`);
    if (/(?:href|src)\s*=\s*["']?\s*(?:javascript|data|vbscript):/i.test(tag)) problems.push(`bad URL in ${tag}`);
  }
  if (problems.length > 0) throw new Error(`unsafe HTML (${problems.join("; ")}):\n${html}`);
}

const payloads = [
  "<script>alert(1)</script>",
  "<SCRIPT SRC=https://evil.example/xss.js></SCRIPT>",
  "<scr<script>ipt>alert(1)</scr</script>ipt>",
  "<<script>alert(1);//<</script>",
  "<svg onload=alert(1)>",
  '"><svg/onload=alert(1)>',
  "<svg><script>alert(1)</script></svg>",
  "<img src=x onerror=alert(1)>",
  '"><img src=x onerror=alert(1)>',
  "'><script>alert(1)</script>",
  '<IMG """><SCRIPT>alert(1)</SCRIPT>">',
  "<IMG SRC=`javascript:alert(1)`>",
  "<iframe src=javascript:alert(1)></iframe>",
  '<a href="javascript:alert(1)">x</a>',
  "<a href='javas&#99;ript:alert(1)'>x</a>",
  '<a href="&#1;javascript:alert(1)">x</a>',
  "<style>*{background:url(javascript:alert(1))}</style>",
  "<form action=javascript:alert(1)><input type=submit></form>",
  "<input onfocus=alert(1) autofocus>",
  "<body onload=alert(1)>",
  "<details open ontoggle=alert(1)>",
  "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
  "<!--<img src=x onerror=alert(1)>-->",
  "<![CDATA[<script>alert(1)</script>]]>",
  "<object data=javascript:alert(1)>",
  "<embed src=javascript:alert(1)>",
  "<meta http-equiv=refresh content=0;url=javascript:alert(1)>",
  "<base href=javascript:alert(1)//>",
  '<div style="background:url(javascript:alert(1))">x</div>',
  "<isindex type=image src=1 onerror=alert(1)>",
  "&lt;script&gt;alert(1)&lt;/script&gt;",
  "&#60;script&#62;alert(1)&#60;/script&#62;",
  "&#x3C;img src=x onerror=alert(1)&#x3E;",
  "\\<script>alert(1)\\</script>",
  "[x](javascript:alert(1))",
  "[x](JaVaScRiPt:alert(1))",
  "[x]( javascript:alert(1))",
  "[x](<javascript:alert(1)>)",
  "[x](jav&#x09;ascript:alert(1))",
  "[x](jav&#x0A;ascript:alert(1))",
  "[x](jav&#x0D;ascript:alert(1))",
  "[x](jav\tascript:alert(1))",
  "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
  "[x](&#x6A;avascript:alert(1))",
  "[x](javascript&colon;alert(1))",
  "[x](java\\script:alert(1))",
  "[x](%6Aavascript:alert(1))",
  "[x](\u0000javascript:alert(1))",
  "[x](\u200Bjavascript:alert(1))",
  "[x](\uFEFFjavascript:alert(1))",
  "[x](javascript://%0aalert(1))",
  "[x](javascript://example.com/%0aalert(1))",
  "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "[x](DATA:text/html,<script>alert(1)</script>)",
  "[x](vbscript:msgbox(1))",
  "[x](file:///etc/passwd)",
  "[x](//evil.example)",
  "[x](\\\\evil.example)",
  '[x](https://ok.example "onmouseover=alert(1)")',
  '[x](https://ok.example" onmouseover="alert(1))',
  '[x](https://ok.example/"><script>alert(1)</script>)',
  "[<img src=x onerror=alert(1)>](https://ok.example)",
  "[[x](javascript:alert(1))](https://ok.example)",
  "[x]([y](javascript:alert(1)))",
  "[x](https://ok.example)(javascript:alert(1))",
  "[x](https://ok.example)<img src=x onerror=alert(1)>",
  "*[x](javascript:alert(1))*",
  "[x][r]\n\n[r]: javascript:alert(1)",
  "[r]: javascript:alert(1)\n\n[r]",
  "![x](javascript:alert(1))",
  '![x](https://ok.example/a.png"onerror="alert(1))',
  "![<script>](https://ok.example/a.png)",
  "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
  "<javascript:alert(1)>",
  '<https://ok.example/"onmouseover="alert(1)>',
  "<https://ok.example/`onmouseover=alert(1)`>",
  "<data:text/html,<script>alert(1)</script>>",
  "javascript:alert(1)",
  "https://ok.example/<script>alert(1)</script>",
  'https://ok.example/"onmouseover=alert(1)',
  "https://ok.example/'onmouseover=alert(1)",
  "mailto:a@b.example?body=<script>alert(1)</script>",
  '```"><script>alert(1)</script>\ncode\n```',
  "```js onload=alert(1)\ncode\n```",
  "`<script>alert(1)</script>`",
  "    <script>alert(1)</script>",
  "> <script>alert(1)</script>",
  "- <img src=x onerror=alert(1)>",
  "**<svg onload=alert(1)>**",
  "＜script＞alert(1)＜/script＞",
  "<scrİpt>alert(1)</scrİpt>",
  "\u202E>tpircs/<)1(trela>tpircs<",
  "<scr\u0000ipt>alert(1)</script>",
  "@<script>alert(1)</script>",
  "@alice<script>alert(1)</script>",
  '@alice@evil.example"><script>alert(1)</script>',
  '@alice" onmouseover="alert(1)',
  "# <script>alert(1)</script>",
  "| <img src=x> |\n|---|\n| x |",
];

/** Each payload is also tried inside the constructs an attacker could use to change context. */
const contexts: [string, (payload: string) => string][] = [
  ["alone", (p) => p],
  ["in bold", (p) => `**${p}**`],
  ["in a spoiler", (p) => `||${p}||`],
  ["as link text", (p) => `[${p}](https://ok.example)`],
  ["as a link address", (p) => `[x](${p})`],
  ["as an autolink", (p) => `<${p}>`],
  ["in a quote", (p) => `> ${p}`],
  ["in a list", (p) => `- ${p}`],
  ["in a code span", (p) => `\`${p}\``],
  ["after a mention", (p) => `@alice ${p}`],
  ["over two lines", (p) => `${p}\n${p}`],
];

describe("renderMessage: safety", () => {
  it("has a checker that rejects unsafe HTML", () => {
    for (const bad of [
      "<p><img src=x></p>",
      '<p onclick="alert(1)">x</p>',
      `<a href="javascript:alert(1)" rel="${rel}" target="_blank">x</a>`,
      `<a href="data:text/html,x" rel="${rel}" target="_blank">x</a>`,
      `<a href="https://ok.example" rel="${rel}">x</a>`,
      '<a href="https://ok.example" target="_blank">x</a>',
      `<a class="mention" href="https://ok.example" rel="${rel}" target="_blank">x</a>`,
      '<code class="hljs">x</code>',
      "<p>a < b</p>",
      "<p><script>alert(1)</script></p>",
      "<svg/onload=alert(1)>",
      "<h1>x</h1>",
    ]) {
      expect(() => assertSafe(bad), bad).toThrow(/unsafe HTML/);
    }
    expect(() => assertSafe(`<p>${link("https://ok.example/?a=1&amp;b=2", "x")} &lt;b&gt;</p>`)).not.toThrow();
  });

  describe.each(contexts)("with each payload %s", (_, wrap) => {
    it.each(payloads)("%j renders safely", (payload) => {
      const source = wrap(payload);
      const { html } = renderMessage(source, resolver().options);
      assertSafe(html);
    });
  });

  it("keeps the payloads' text visible rather than dropping it", () => {
    expect(render("<script>alert(1)</script>")).toBe("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
    expect(render('"><img src=x onerror=alert(1)>')).toBe('<p>"&gt;&lt;img src=x onerror=alert(1)&gt;</p>');
    expect(render("[x](jav&#x09;ascript:alert(1))")).toBe("<p>[x](jav\tascript:alert(1))</p>");
    expect(render("[[x](javascript:alert(1))](https://ok.example)")).toBe(
      `<p>${link("https://ok.example", "[x](javascript:alert(1))")}</p>`,
    );
  });
});

describe("renderMessage: pathological input of 4000 characters", () => {
  const cases: [string, string][] = [
    ["asterisks", "*".repeat(4000)],
    ["underscores", "_".repeat(4000)],
    ["tildes", "~".repeat(4000)],
    ["opening brackets", "[".repeat(4000)],
    ["closing brackets", "]".repeat(4000)],
    ["unfinished links", "[a](".repeat(1000)],
    ["empty links", "[](".repeat(1333)],
    ["image openers", "![".repeat(2000)],
    ["backticks", "`".repeat(4000)],
    ["alternating backticks", "`a".repeat(2000)],
    ["alternating emphasis", "*a".repeat(2000)],
    ["angle brackets", "<".repeat(4000)],
    ["angle-bracket links", "[a](<".repeat(800)],
    ["entity starts", "&#".repeat(2000)],
    ["backslashes", "\\".repeat(4000)],
    ["at signs", "@".repeat(4000)],
    ["mention-like runs", "@abc".repeat(1000)],
    ["many mentions", "@alice ".repeat(571)],
    ["newlines", "\n".repeat(4000)],
    ["fence markers", "```\n".repeat(1000)],
    ["list markers", "- ".repeat(2000)],
    ["numbered markers", "1. ".repeat(1333)],
    ["mixed punctuation", "*_[`<>@~".repeat(500)],
  ];

  it.each(cases)("renders %s safely", (_, source) => {
    const { html } = renderMessage(source, resolver().options);
    assertSafe(html);
  });

  it("stops nesting quotes at 20 levels and keeps what follows", () => {
    const html = render(`${">".repeat(3999)}x\n\nafter`);
    assertSafe(html);
    expect(html.match(/<blockquote>/g)).toHaveLength(20);
    expect(html.endsWith("<p>after</p>")).toBe(true);
  });

  it("links each repeated mention", () => {
    const result = renderMessage("@alice ".repeat(571), resolver().options);
    expect(result.html.match(/class="mention"/g)).toHaveLength(571);
    expect(result.mentions).toHaveLength(1);
  });
});

describe("plainText", () => {
  it.each([
    ["<p>one<br>two</p><p>three &amp; &lt;four&gt;</p>", "one two three & <four>"],
    ["<p>one<br />\ntwo</p>\n<p>three</p>", "one two three"],
    ["<em>in</em>line <strong>bo</strong>ld", "inline bold"],
    ["<p>a<script>alert(1)</script>b<style>p{}</style>c</p>", "abc"],
    ["<p>  lots   of \n\n space\t</p>", "lots of space"],
    ["x&nbsp;&nbsp;y &#x1F600; &eacute;", "x y 😀 é"],
    ["<ul><li>a</li><li>b</li></ul><blockquote><p>q</p></blockquote>", "a b q"],
    ['<a href="https://e.example">link</a> text', "link text"],
    ["plain text", "plain text"],
    ["", ""],
    ["<p>unclosed <b>tags", "unclosed tags"],
    ["&lt;script&gt;", "<script>"],
  ])("turns %j into %j", (html, text) => {
    expect(plainText(html)).toBe(text);
  });

  it("reads what renderMessage writes", () => {
    const { html } = renderMessage("**hi** `x<y`\n- a\n- b\n\n> q & a", resolver().options);
    expect(plainText(html)).toBe("hi x<y a b q & a");
  });
});

describe("snippet", () => {
  it.each([
    ["short", "**Hello** world", 140, "Hello world"],
    ["markdown stripped", "> quoted\n\n**bold** [link](https://e.example) `code`", 140, "quoted bold link code"],
    ["mentions as written", "@alice hi", 140, "@alice hi"],
    ["exactly max", "abcde", 5, "abcde"],
    ["cut back to a word boundary", "alpha beta gamma delta", 12, "alpha beta…"],
    ["cut where a word ends", "alpha beta gamma", 11, "alpha beta…"],
    ["one long word cut hard", "x".repeat(200), 10, `${"x".repeat(9)}…`],
    ["a short first word then a long one", `a ${"y".repeat(50)}`, 10, `a ${"y".repeat(7)}…`],
    ["never splits an emoji sequence", "👨‍👩‍👧".repeat(10), 12, "👨‍👩‍👧👨‍👩‍👧…"],
    ["counts code points", "😀😀😀😀😀", 4, "😀😀😀…"],
    ["max of one", "hello", 1, "…"],
    ["empty", "", 140, ""],
  ])("%s", (_, source, max, expected) => {
    expect(snippet(source, max)).toBe(expected);
  });

  it("cuts at 140 code points by default, ending on a whole word", () => {
    const result = snippet("word ".repeat(100));
    expect([...result].length).toBeLessThanOrEqual(140);
    expect(result).toMatch(/ word…$/);
    expect([...result].length).toBeGreaterThan(130);
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses max %s", (max) => {
    expect(() => snippet("hello", max)).toThrow(RangeError);
  });

  it.each([
    ["plain", "**Hello** world ||secret|| lol /j"],
    ["an unknown mention", "@nobody_here hi @ghost@remote.example"],
    ["a linked local mention", "hi @ALICE, and `@alice` in code"],
    ["a linked remote mention", "cc @carol@remote.example: see https://e.example"],
    ["long", "word ".repeat(100)],
  ])("is the same taken from the send's rendering: %s", (_, source) => {
    const rendered = renderMessage(source, resolver().options);
    expect(snippetOf(source, rendered)).toBe(snippet(source));
  });
});
