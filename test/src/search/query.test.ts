import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { filterNames, formatQuery, isEmptyQuery, maxTerms, parseQuery } from "../../../src/search/query.ts";
import { parseHeadline } from "../../../src/search/snippets.ts";

const runs = { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: Number(process.env.FUZZ_SEED ?? Date.now()) };

describe("parseQuery", () => {
  it("reads words, phrases, prefixes and every filter", () => {
    const { query, errors } = parseQuery(
      'from:bob From:@carol@other.host in:"general chat" has:image has:LINK mentions:alice ' +
        'before:2026-03-02 after:2026-03-01 cat "black dog" hors* unknown:thing',
    );
    expect(errors).toEqual([]);
    expect(query).toEqual({
      terms: [
        { text: "cat", phrase: false, prefix: false },
        { text: "black dog", phrase: true, prefix: false },
        { text: "hors", phrase: false, prefix: true },
        { text: "unknown:thing", phrase: false, prefix: false },
      ],
      from: ["bob", "@carol@other.host"],
      in: ["general chat"],
      has: ["image", "link"],
      mentions: ["alice"],
      before: new Date("2026-03-02T00:00:00Z"),
      // after: a day is exclusive, so it means from the start of the next one.
      after: new Date("2026-03-02T00:00:00Z"),
    });
  });

  it("takes date-times as instants", () => {
    expect(parseQuery("after:2026-03-01T10:30:00Z").query.after).toEqual(new Date("2026-03-01T10:30:00Z"));
  });

  it("reports each term it refuses", () => {
    const { errors } = parseQuery('has:video before:2026-02-30 after:yesterday from:"" cat');
    expect(errors.map((e) => e.term)).toEqual(["has:video", "before:2026-02-30", "after:yesterday", 'from:""']);
  });

  it("reads an unclosed quote to the end, and a lone star or bare filter name as words", () => {
    expect(parseQuery('cat "black dog').query.terms.at(-1)).toEqual({ text: "black dog", phrase: true, prefix: false });
    expect(parseQuery("* ** from:").query.terms.map((t) => t.text)).toEqual(["*", "**", "from:"]);
  });

  it("refuses more than the most terms", () => {
    expect(parseQuery("a ".repeat(maxTerms)).errors).toEqual([]);
    expect(parseQuery("a ".repeat(maxTerms + 1)).errors).toHaveLength(1);
  });

  it("knows an empty query", () => {
    expect(isEmptyQuery(parseQuery('  "" ').query)).toBe(true);
    expect(isEmptyQuery(parseQuery("has:file").query)).toBe(false);
  });

  const piece = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom(...filterNames.map((f) => `${f}:`), '"', "*", " ", "has:file", "before:2026-01-01", "\u00a0"),
    fc.stringMatching(/^[a-z]{1,6}\*?$/),
  );
  const text = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(""));

  it("never throws, and its words hold no whitespace and phrases no quotes (property)", () => {
    fc.assert(
      fc.property(text, (input) => {
        const { query } = parseQuery(input);
        for (const term of query.terms) {
          expect(term.text).not.toBe("");
          if (!term.phrase) expect(term.text).not.toMatch(/[\s"]/u);
          else expect(term.text).not.toMatch(/"/);
        }
      }),
      runs,
    );
  });

  it("reads back what it writes (property)", () => {
    fc.assert(
      fc.property(text, (input) => {
        const { query, errors } = parseQuery(input);
        fc.pre(errors.length === 0);
        expect(parseQuery(formatQuery(query))).toEqual({ query, errors: [] });
      }),
      runs,
    );
  });
});

describe("parseHeadline", () => {
  it("turns marks into ranges over the text without them", () => {
    expect(parseHeadline("a \uE000cat\uE001 and a \uE000dog\uE001.")).toEqual({
      text: "a cat and a dog.",
      highlights: [
        [2, 5],
        [12, 15],
      ],
    });
  });

  it("ignores stray and empty marks (property: ranges lie inside the text, in order)", () => {
    const marked = fc
      .array(fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom("\uE000", "\uE001")), { maxLength: 20 })
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(marked, (headline) => {
        const { text, highlights } = parseHeadline(headline);
        expect(text).not.toMatch(/[\uE000\uE001]/u);
        let end = 0;
        for (const [s, e] of highlights) {
          expect(s).toBeGreaterThanOrEqual(end);
          expect(e).toBeGreaterThan(s);
          expect(e).toBeLessThanOrEqual(text.length);
          end = e;
        }
      }),
      runs,
    );
  });
});
