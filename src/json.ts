/**
 * Walking parsed JSON from outside (request bodies, activities) without recursion: a document
 * nested a hundred thousand levels deep fits in a one-megabyte body, and a recursive walker
 * would exhaust the stack on it. Every walker over untrusted JSON goes through here.
 * @module
 */
import { storableText } from "./text.ts";

/** One value in a JSON document, with where it is. */
export interface JsonNode {
  readonly value: unknown;
  /** The property name or array index under which the value sits; null for the root. */
  readonly key: string | number | null;
  /** Levels below the root (the root is 0). */
  readonly depth: number;
  readonly parent: JsonNode | null;
}

/**
 * Yields every value of a parsed JSON document, parents before their children, in document
 * order, iteratively.
 * @param skip Properties whose values are not descended into (their node is still yielded).
 */
export function* jsonNodes(root: unknown, skip?: (key: string) => boolean): Generator<JsonNode> {
  const stack: JsonNode[] = [{ value: root, key: null, depth: 0, parent: null }];
  while (stack.length > 0) {
    const node = stack.pop() as JsonNode;
    yield node;
    const { value } = node;
    if (value === null || typeof value !== "object") continue;
    if (typeof node.key === "string" && skip?.(node.key)) continue;
    const depth = node.depth + 1;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], key: i, depth, parent: node });
    } else {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string;
        stack.push({ value: (value as Record<string, unknown>)[key], key, depth, parent: node });
      }
    }
  }
}

/** The property names and indexes from the root down to a node. */
export function pathOf(node: JsonNode): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: JsonNode | null = node; at?.key != null; at = at.parent) path.push(at.key);
  return path.reverse();
}

/** Whether objects and arrays nest more than `limit` levels deep (stops at the first too deep). */
export function nestedDeeperThan(root: unknown, limit: number): boolean {
  for (const node of jsonNodes(root)) {
    if (node.depth > limit) return true;
  }
  return false;
}

/**
 * Whether a string is text PostgreSQL can store (in `text` and `jsonb` alike): no NUL
 * character, no unpaired UTF-16 surrogate (JSON allows `"\\ud800"`).
 */
export function isStorableText(text: string): boolean {
  return !text.includes("\u0000") && text.isWellFormed();
}

/**
 * A copy of a JSON value that PostgreSQL can store: every string and key that is not
 * {@link isStorableText} has its NUL characters removed and unpaired surrogates replaced.
 * The value itself is returned when nothing needs fixing (the usual case).
 */
export function storableJson<T>(value: T): T {
  let clean = true;
  for (const node of jsonNodes(value)) {
    const bad = (text: unknown) => typeof text === "string" && !isStorableText(text);
    if (bad(node.value) || bad(node.key)) {
      clean = false;
      break;
    }
  }
  if (clean) return value;
  return JSON.parse(JSON.stringify(value), (_key, inner: unknown) => {
    if (typeof inner === "string") return storableText(inner);
    if (inner == null || typeof inner !== "object" || Array.isArray(inner)) return inner;
    return Object.fromEntries(Object.entries(inner).map(([k, v]) => [storableText(k), v]));
  }) as T;
}
