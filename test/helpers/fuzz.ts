/**
 * Seeded randomness for the fuzz tests: every generator starts from a seed written in the test,
 * so a failure is reproduced by running the same test again.
 */

/** mulberry32: a tiny seeded PRNG giving numbers in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `n` random bytes drawn from `rnd`. */
export function randomBytes(rnd: () => number, n: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b.writeUInt8(Math.floor(rnd() * 256), i)
  return b
}
