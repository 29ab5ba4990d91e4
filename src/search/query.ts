/**
 * The search box's little language: words, "quoted phrases", `word*` prefixes and the filters
 * `from:`, `in:`, `has:`, `mentions:`, `before:` and `after:` (a filter's value may be quoted:
 * `in:"general chat"`). Parsing never throws: what cannot be understood is reported in
 * `errors`, one entry per offending term, so the API can refuse it with the details.
 */

/** What a message may carry, for `has:`. */
export const hasValues = ["file", "image", "link"] as const;
export type HasValue = (typeof hasValues)[number];

/** The filters the language knows; any other `name:value` is searched as text. */
export const filterNames = ["from", "in", "has", "mentions", "before", "after"] as const;
type FilterName = (typeof filterNames)[number];

/** Terms (words, phrases and filter values together) one query may hold. */
export const maxTerms = 32;

/** One thing to find in the text. */
export interface SearchTerm {
  readonly text: string;
  /** `"…"`: the words in this order, next to each other. */
  readonly phrase: boolean;
  /** `word*`: any word that starts with `text`. */
  readonly prefix: boolean;
}

/** A parsed query. Lists of a filter's values match any of them; different filters all apply. */
export interface SearchQuery {
  readonly terms: readonly SearchTerm[];
  /** Authors' handles (`bob`, `@bob`, `bob@host`). */
  readonly from: readonly string[];
  /** Rooms: a name, a handle or an id. */
  readonly in: readonly string[];
  readonly has: readonly HasValue[];
  /** Handles of people mentioned. */
  readonly mentions: readonly string[];
  /** Sent before the start of this UTC day (or instant). */
  readonly before: Date | null;
  /** Sent after the end of this UTC day (or after this instant). */
  readonly after: Date | null;
}

/** A term the parser could not accept, and why. */
export interface QueryError {
  readonly term: string;
  readonly message: string;
}

interface Token {
  /** The filter name, when the token is `name:value`. */
  readonly name: FilterName | null;
  readonly value: string;
  readonly quoted: boolean;
  /** The token as written, for error messages. */
  readonly raw: string;
}

const isSpace = (c: string) => /\s/u.test(c);

/** Splits a query into tokens: whitespace separates, double quotes group (an open quote runs to the end). */
function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    while (i < input.length && isSpace(input[i] as string)) i++;
    if (i >= input.length) break;
    const start = i;
    let name: FilterName | null = null;
    const head = /^([A-Za-z]+):(?=\S)/.exec(input.slice(i, i + 12));
    const known = head ? (head[1] as string).toLowerCase() : "";
    if (head && (filterNames as readonly string[]).includes(known)) {
      name = known as FilterName;
      i += head[0].length;
    }
    let value: string;
    let quoted = false;
    if (input[i] === '"') {
      const close = input.indexOf('"', i + 1);
      const end = close < 0 ? input.length : close;
      value = input.slice(i + 1, end);
      quoted = true;
      i = close < 0 ? input.length : close + 1;
    } else {
      const from = i;
      while (i < input.length && !isSpace(input[i] as string) && input[i] !== '"') i++;
      value = input.slice(from, i);
    }
    tokens.push({ name, value, quoted, raw: input.slice(start, i) });
  }
  return tokens;
}

/** `2026-03-01` or a full ISO date-time; null when it names no real instant. */
function parseDate(value: string): { date: Date; day: boolean } | null {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (day) {
    const date = new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3])));
    // Date.UTC rolls 2026-02-31 over into March: such a day does not exist.
    return date.getUTCDate() === Number(day[3]) && date.getUTCMonth() === Number(day[2]) - 1
      ? { date, day: true }
      : null;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : { date, day: false };
}

const dayMs = 24 * 60 * 60 * 1000;

/** Parses the search box's text; see the module comment for the language. */
export function parseQuery(input: string): { query: SearchQuery; errors: QueryError[] } {
  const terms: SearchTerm[] = [];
  const lists = { from: [] as string[], in: [] as string[], has: [] as HasValue[], mentions: [] as string[] };
  let before: Date | null = null;
  let after: Date | null = null;
  const errors: QueryError[] = [];
  const tokens = tokenize(input);
  if (tokens.length > maxTerms) errors.push({ term: "", message: `expected at most ${maxTerms} terms` });
  for (const token of tokens.slice(0, maxTerms)) {
    const value = token.quoted ? token.value.trim().replace(/\s+/gu, " ") : token.value;
    if (token.name == null) {
      if (value === "") continue;
      const stem = token.quoted ? value : value.replace(/\*+$/, "");
      const prefix = stem !== value && stem !== "";
      terms.push({ text: prefix ? stem : value, phrase: token.quoted, prefix });
      continue;
    }
    if (value === "") {
      errors.push({ term: token.raw, message: `expected a value after ${token.name}:` });
      continue;
    }
    switch (token.name) {
      case "has":
        if ((hasValues as readonly string[]).includes(value.toLowerCase())) {
          const has = value.toLowerCase() as HasValue;
          if (!lists.has.includes(has)) lists.has.push(has);
        } else errors.push({ term: token.raw, message: `expected has:${hasValues.join("|")}` });
        break;
      case "before":
      case "after": {
        const parsed = parseDate(value);
        if (parsed == null) {
          errors.push({ term: token.raw, message: "expected a date (YYYY-MM-DD) or an ISO date-time" });
        } else if (token.name === "before") before = parsed.date;
        else after = parsed.day ? new Date(parsed.date.getTime() + dayMs) : parsed.date;
        break;
      }
      default: {
        const list = lists[token.name];
        if (!list.includes(value)) list.push(value);
      }
    }
  }
  return { query: { terms, ...lists, before, after }, errors };
}

/** Whether a query asks for anything at all (text or a filter). */
export function isEmptyQuery(query: SearchQuery): boolean {
  return (
    query.terms.length === 0 &&
    query.from.length === 0 &&
    query.in.length === 0 &&
    query.has.length === 0 &&
    query.mentions.length === 0 &&
    query.before == null &&
    query.after == null
  );
}

const quoteIfNeeded = (value: string) => (/[\s"]/u.test(value) || value === "" ? `"${value}"` : value);

/**
 * Writes a query back as text that parses to the same query (dates as ISO instants). Values
 * holding a double quote cannot be written: the language has no escape for it, and the
 * parser never produces them inside quotes.
 */
export function formatQuery(query: SearchQuery): string {
  const parts: string[] = [];
  for (const name of ["from", "in", "mentions"] as const) {
    for (const value of query[name]) parts.push(`${name}:${quoteIfNeeded(value)}`);
  }
  for (const value of query.has) parts.push(`has:${value}`);
  if (query.before) parts.push(`before:${query.before.toISOString()}`);
  if (query.after) parts.push(`after:${query.after.toISOString()}`);
  for (const term of query.terms) {
    parts.push(term.phrase ? `"${term.text}"` : term.prefix ? `${term.text}*` : term.text);
  }
  return parts.join(" ");
}
