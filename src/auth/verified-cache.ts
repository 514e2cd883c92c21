import { LRUCache } from 'lru-cache';

// What V8 spends on an entry besides its strings' characters: the cache's slot and arrays, the
// value's object and the strings' headers. Measured with bench/verified-cache.ts on Node 20
// (Node 24 spends less): a JWT with its claims 220 bytes, a ticket with its numbers 380 (the
// buyer's id is the key, and the numbers an array). Rounded up, so a budget is not overrun.
export const overheadBytes = { jwt: 240, ticket: 400 } as const;

// Tokens (or buyers) that passed the checks an HMAC or a signature costs, bounded by the bytes
// they hold rather than by a count: a waiting room's crowd polls every few seconds with the
// same tokens, and a cache smaller than the crowd misses on nearly every poll (each buyer comes
// back after all the others: bench/README.md, "The poll's cliff, mended"). The least recently used
// entry goes first, so a token nobody sends any more makes room without the live ones leaving.
// `textOf`: the characters an entry holds (one byte each: tokens and ids are mostly ASCII).
export function verifiedCache<V extends object>(
  maxBytes: number,
  kind: keyof typeof overheadBytes,
  textOf: (key: string, value: V) => number,
): LRUCache<string, V> {
  const overhead = overheadBytes[kind];
  return new LRUCache<string, V>({
    maxSize: Math.max(1, Math.floor(maxBytes)),
    sizeCalculation: (value, key) => overhead + textOf(key, value),
  });
}
