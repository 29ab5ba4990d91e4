/**
 * Parsed keys of other servers' actors, kept in memory for a few minutes: a busy room relays
 * many activities of few authors and signers, and each check would fetch (from the cache) and
 * parse a key document again. Fedify fetches and parses them (and so checks what they claim);
 * the caches only keep its answer. A key that could not be fetched is remembered for 30 s.
 * @module
 */
import type { KeyCache } from "@fedify/fedify";
import type { CryptographicKey, Multikey } from "@fedify/vocab";

/** A {@link KeyCache} in memory, of at most `limit` keys. */
export function memoryKeyCache(
  limit = 10_000,
): KeyCache & { peek(keyId: string): CryptographicKey | Multikey | null | undefined } {
  const entries = new Map<string, { key: CryptographicKey | Multikey | null; until: number }>();
  const peek = (keyId: string) => {
    const entry = entries.get(keyId);
    if (entry == null || entry.until < Date.now()) return undefined;
    return entry.key;
  };
  return {
    peek,
    async get(keyId: URL) {
      return peek(keyId.href);
    },
    async set(keyId: URL, key: CryptographicKey | Multikey | null) {
      if (entries.size >= limit) entries.clear();
      entries.set(keyId.href, { key, until: Date.now() + (key ? 5 * 60_000 : 30_000) });
    },
  };
}

/** Keys that relayed activities' integrity proofs were checked with. */
export const proofKeys = memoryKeyCache();

/** Keys that inbox deliveries' HTTP signatures were checked with. */
export const signatureKeys = memoryKeyCache();
