/**
 * Seeded, named random streams (SCIENCE.md: "a seeded, named PRNG that gives the same numbers on every
 * machine"). xoroshiro128+ from pure-rand, with its 128-bit state derived from (seed, hash(stream)), so
 * streams with different names are independent and none depends on draw order elsewhere. Never Math.random.
 */
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';

export interface Rng {
  /** Uniform on [0, 1), 53 random bits. */
  next(): number;
  /** Standard normal (Box-Muller, both values of each pair used). */
  normal(): number;
}

/** murmur3's 32-bit finaliser: a bijective avalanche, so nearby seeds give unrelated states. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** FNV-1a over UTF-16 code units, with a caller-chosen basis to get two independent 32-bit hashes. */
function fnv1a(s: string, basis: number): number {
  let h = basis | 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/**
 * Create a generator for (seed, stream). `seed` must be a safe integer (negative allowed); its low and
 * high 32-bit words both enter the state.
 */
export function createRng(seed: number, stream: string): Rng {
  if (!Number.isSafeInteger(seed)) throw new Error(`createRng: seed must be a safe integer, got ${seed}`);
  const lo = seed | 0; // low 32 bits (two's complement for negatives)
  const hi = Math.floor(seed / 0x1_0000_0000) | 0;
  const h1 = fnv1a(stream, 0x811c9dc5);
  const h2 = fnv1a(stream, 0x2545f491);
  const state: number[] = [
    fmix32(lo ^ h1),
    fmix32(hi ^ h2 ^ 0x9e3779b9),
    fmix32(lo ^ h2 ^ 0x7f4a7c15),
    fmix32(hi ^ h1 ^ 0x6a09e667),
  ];
  // xoroshiro must not start from the all-zero state.
  if (!state.some((v) => v !== 0)) state[0] = 1;
  const gen = xoroshiro128plusFromState(state);
  // The first outputs of a freshly mixed state are fine, but skip a few to decorrelate tiny seeds further.
  for (let i = 0; i < 8; i++) gen.next();

  let spare = 0;
  let hasSpare = false;
  return {
    next: () => uniformFloat64(gen),
    normal: () => {
      if (hasSpare) {
        hasSpare = false;
        return spare;
      }
      const u1 = 1 - uniformFloat64(gen); // (0, 1]: log is finite
      const u2 = uniformFloat64(gen);
      const r = Math.sqrt(-2 * Math.log(u1));
      const a = 2 * Math.PI * u2;
      spare = r * Math.sin(a);
      hasSpare = true;
      return r * Math.cos(a);
    },
  };
}
