/**
 * Generators of hostile input for the fuzz suite: JSON texts (with numbers JavaScript cannot
 * hold, NUL, lone surrogates, duplicate and prototype-polluting keys, deep nesting), byte
 * strings, media types, path segments and query strings.
 */
import fc from "fast-check";

/** Keys that have meant trouble for JavaScript code that walks or merges objects. */
export const dangerousKeys = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "toJSON",
  "hasOwnProperty",
  "then",
  "length",
  "type",
  "id",
  "@context",
  "",
] as const;

/** Strings that have meant trouble: NUL, lone surrogates, bidi overrides, format characters. */
export const nastyStrings = [
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff",
  "x\udc00y",
  "\ud83d",
  "\u202eexe.jpg",
  "\u2066\u2069",
  "\ufeff",
  "\u200d\u200d\u200d",
  "\r\n",
  "..",
  "../../etc/passwd",
  "%00",
  "%",
  "\\",
  "null",
  "undefined",
  "NaN",
  "1e309",
  "💩",
  "e\u0301",
  "<script>alert(1)</script>",
  "' or 1=1 --",
  "$" + "{7*7}",
  "{{7*7}}",
] as const;

/** Number tokens as JSON text: the ones JSON.stringify cannot write (1e309, -0) among them. */
export const numberTokens = [
  "0",
  "-0",
  "1",
  "-1",
  "1.5",
  "1e309",
  "-1e309",
  "1e-400",
  "9007199254740993",
  "-9007199254740993",
  "123456789012345678901234567890",
  "2147483648",
  "-2147483649",
  "4294967296",
  "1E2",
  "0.1e1",
  "5e-324",
  "1.7976931348623157e308",
] as const;

/** One UTF-16 code unit, surrogates and controls included. */
const codeUnit = fc
  .oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1f }) },
    { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }) },
    { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xffff }) },
  )
  .map((unit) => String.fromCharCode(unit));

/** A character a header value may hold: visible Latin-1 and the space (no DEL, no controls). */
const latin1 = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff }))
  .map((c) => String.fromCharCode(c));

/** Any JavaScript string: lone surrogates, NUL and controls included. */
export const anyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: codeUnit, maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom(...nastyStrings) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  {
    weight: 1,
    // Long strings, around the limits fields have (64, 200, 300, 1000, 4000, 8000 characters).
    arbitrary: fc
      .tuple(
        fc.constantFrom(64, 65, 100, 101, 200, 201, 256, 257, 300, 301, 1000, 1001, 4000, 4001, 8001, 70_000),
        fc.constantFrom("a", "é", "💩", "\u0000", "\ud800", "\u202e"),
      )
      .map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length))),
  },
);

/** A string short enough for a URL or a header. */
export const shortString = anyString.filter((s) => s.length <= 300);

/** A key of a JSON object: a dangerous one, or any string. */
export const anyKey = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...dangerousKeys) },
  { weight: 2, arbitrary: anyString },
);

/** Brackets nested `depth` deep around a value, as JSON text. */
export function nested(depth: number, kind: "array" | "object", inner = "1"): string {
  return kind === "array"
    ? `${"[".repeat(depth)}${inner}${"]".repeat(depth)}`
    : `${'{"a":'.repeat(depth)}${inner}${"}".repeat(depth)}`;
}

/** JSON text nested deep: past what recursive code survives (3,000 is known to hurt). */
export const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 12_000 }), fc.constantFrom("array" as const, "object" as const))
  .map(([depth, kind]) => nested(depth, kind));

/** A JSON string token (JSON.stringify escapes lone surrogates and controls). */
export const stringToken = anyString.map((s) => JSON.stringify(s));

/** A JSON number token. */
export const numberToken = fc.oneof(
  fc.constantFrom(...numberTokens),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
);

/** An object from entries of JSON texts (keys may repeat: the last one wins in JSON.parse). */
export function objectText(entries: readonly (readonly [string, string])[]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`;
}

/** Any JSON text, as a client could send it (not only what JSON.stringify writes). */
export const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 3, arbitrary: numberToken },
    { weight: 3, arbitrary: stringToken },
    { weight: 1, arbitrary: fc.constantFrom("true", "false", "null") },
    { weight: 1, arbitrary: deepJson },
    { weight: 2, arbitrary: fc.array(tie("value"), { maxLength: 5 }).map((items) => `[${items.join(",")}]`) },
    {
      weight: 3,
      arbitrary: fc.array(fc.tuple(anyKey, tie("value")), { maxLength: 6 }).map(objectText),
    },
  ),
})).value;

/** Values shaped like fast-check's own JSON values (what JSON.stringify writes). */
export const jsonValueText = fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value));

/** A JSON object text, with keys from `keys` (an endpoint's fields) or anywhere, and hostile values. */
export function objectWithKeys(keys: readonly string[], values: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const key =
    keys.length > 0
      ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: anyKey })
      : anyKey;
  return fc.array(fc.tuple(key, values), { maxLength: 6 }).map(objectText);
}

/** Byte strings: random ones, and ones close to JSON (a BOM, UTF-16, truncated, invalid UTF-8). */
export const anyBytes: fc.Arbitrary<Uint8Array> = fc
  .oneof(
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    {
      weight: 2,
      arbitrary: jsonText.chain((text) =>
        fc.oneof(
          fc.constant(Buffer.from(`\ufeff${text}`, "utf8")),
          fc.constant(Buffer.from(text, "utf16le")),
          fc
            .integer({ min: 0, max: Math.max(0, text.length - 1) })
            .map((cut) => Buffer.from(text.slice(0, cut), "utf8")),
          fc.constant(Buffer.concat([Buffer.from(text, "utf8"), Buffer.from([0xc0, 0x80, 0xff, 0xed, 0xa0, 0x80])])),
        ),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        Buffer.from('{"a":"\xed\xa0\x80"}', "latin1"),
        Buffer.from('{"a":"\xc0\x80"}', "latin1"),
        Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
        Buffer.alloc(0),
        Buffer.from(" "),
        Buffer.from("{}".repeat(10)),
      ),
    },
  )
  .map((bytes) => new Uint8Array(bytes));

/** Content-Type header values: JSON ones, other ones, broken ones. */
export const jsonContentTypes = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/merge-patch+json",
  "application/activity+json",
  "application/json;charset=utf-16",
] as const;
export const otherContentTypes = [
  "text/plain",
  "text/json",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "multipart/form-data",
  "application/octet-stream",
  "application/jsonx",
  "json",
  "application/",
  ";",
  "",
] as const;
export const anyContentType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...jsonContentTypes) },
  { weight: 2, arbitrary: fc.constantFrom(...otherContentTypes) },
  // Whatever a header may carry: visible Latin-1 and spaces.
  { weight: 1, arbitrary: fc.string({ unit: latin1, maxLength: 60 }) },
);

/** A header value a client can send (no controls: Node refuses to write those). */
export const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 }),
  fc.string({ unit: latin1, maxLength: 80 }),
  fc.constantFrom(...numberTokens, "", " ", "-1", "1.5", "0x10", "1e3", "99999999999999999999"),
);

/** Percent-encodes every byte of the UTF-8 (WTF-8 for lone surrogates) form of a string but unreserved ones. */
export function encodeSegment(value: string): string {
  let out = "";
  for (const byte of wtf8(value)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_~-]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** UTF-8, except that a lone surrogate is written as its three bytes (as WTF-8 does). */
export function wtf8(value: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    const next = value.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      bytes.push(...Buffer.from(value.slice(i, i + 2), "utf8"));
      i++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      bytes.push(0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f));
    } else {
      bytes.push(...Buffer.from(value[i] as string, "utf8"));
    }
  }
  return bytes;
}

/**
 * What Hono makes of a percent-encoded path parameter or query value: decoded, or where the
 * whole does not decode, each run of escapes that does (hono/utils/url `tryDecode`).
 */
export function decodeLikeHono(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded.replace(/(?:%[0-9A-Fa-f]{2})+/g, (match) => {
      try {
        return decodeURIComponent(match);
      } catch {
        return match;
      }
    });
  }
}

/**
 * A path segment as sent on the wire: an encoded string (never `.` or `..`, which are dot
 * segments and would address another route), or raw escapes (broken ones included).
 */
export const pathSegment: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 4, arbitrary: anyString.map(encodeSegment) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 12 })
        .map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, "0")}`).join("")),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "%",
        "%2",
        "%zz",
        "%00",
        "%2F",
        "%2e%2e%2F",
        "%C0%AF",
        "%ED%A0%80",
        "a%",
        "%25",
        "%u0041",
      ),
    },
    { weight: 1, arbitrary: fc.uuid().map(String) },
  )
  // A request line past Node's 16 KiB header limit never reaches the app (Node answers 431).
  .filter((segment) => segment.length <= 4000 && !/^(?:\.|%2e){1,2}$/i.test(segment));

/** A query string (without the `?`): pairs of hostile names and values, repeated names, stray separators. */
export function queryString(names: readonly string[]): fc.Arbitrary<string> {
  const name =
    names.length > 0 ? fc.oneof(fc.constantFrom(...names), fc.constantFrom(...dangerousKeys), anyString) : anyString;
  const value = fc.oneof(
    fc.constantFrom(...numberTokens, "", "true", "false", "null", "-1", "0x1f", " 1", "1 ", "Infinity", "NaN", "1,2"),
    anyString,
  );
  const pair = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(name, value).map(([n, v]) => `${encodeSegment(n)}=${encodeSegment(v)}`) },
    { weight: 1, arbitrary: name.map(encodeSegment) },
    { weight: 1, arbitrary: fc.constantFrom("=", "&", "%", "a=%", "a=%ZZ", "%ED%A0%80=1", "a=1=2", "a[]=1", "a[b]=1") },
  );
  return fc
    .array(pair, { maxLength: 6 })
    .map((pairs) => pairs.join("&"))
    .filter((query) => query.length <= 8000);
}
