/**
 * Integer hashing for seeds. A data-set item must be a pure function of (seed, index), so each
 * item gets its own generator seeded by a hash of both instead of a draw from a shared stream.
 */

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A 32-bit hash of a sequence of integers (order matters). */
export function hashInts(...values: number[]): number {
  let h = 0x2545f491;
  for (const v of values) {
    // Fold in the low and high words so indices above 2^32 still hash differently.
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296) >>> 0;
    h = mix32(h ^ mix32(lo + 0x9e3779b9));
    if (hi !== 0) h = mix32(h ^ mix32(hi + 0x7f4a7c15));
  }
  return h;
}

/** Distinct streams for the different uses of one seed. */
export const STREAM = {
  shapesItem: 1,
  shapesLabels: 2,
  movingItem: 3,
  split: 4,
  loaderEpoch: 5,
} as const;
