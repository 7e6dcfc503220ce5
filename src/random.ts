/**
 * The project's one seeded PRNG (mulberry32, 32-bit state): small, fast and the same on every platform, so every
 * random choice (weights, random orders, GA decisions, random search) is reproducible from its seed. Returns
 * uniform doubles in [0, 1) with 32 bits of randomness.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
