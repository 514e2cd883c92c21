import calculateSlot from 'cluster-key-slot';

const slots = 16_384;

// A hash tag for item `index` of `count` that lands in the index-th count-th of the slot
// space: a cluster's masters own contiguous slot ranges, so `count` tags spread over them as
// evenly as the slots do. The first tag that hashes there is taken, so every process derives
// the same one from the same name.
export function spreadTag(name: (attempt: number) => string, index: number, count: number): string {
  const from = Math.floor((index * slots) / count);
  const to = Math.floor(((index + 1) * slots) / count);
  for (let attempt = 0; ; attempt++) {
    const tag = name(attempt);
    const slot = calculateSlot(tag);
    if (slot >= from && slot < to) return tag;
  }
}

// FNV-1a of a string, modulo `count`: a cheap, stable choice among `count` places, the same in
// every process (an order's queue, a buyer's home shard).
export function hashModulo(text: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}
