/**
 * Golden values: the reproducibility contract. Every number below is what the product draws today for a fixed
 * seed, on every machine and engine (SCIENCE.md: "a seeded, named PRNG that gives the same numbers on every
 * machine and backend"). A failure here means stored results may no longer be reproducible from their
 * configuration: do not paste the new outputs in; find what changed (pure-rand, a stream name, the draw order, a
 * formula) and, if the change is meant, bump the version that enters the trial id (DATA_GENERATOR_VERSION for
 * the data, INIT_VERSIONS for an initialisation scheme; a PRNG change feeds both, so bump both) together with the
 * goldens, so old records are never served as current.
 */
import { describe, expect, it } from 'vitest';
import { DATA_GENERATOR_VERSION, defaultDatasetSpec, makeSpirals } from '../../core/data.js';
import { INIT_VERSIONS, initParams, paramOffsets } from '../../core/model.js';
import { createRng } from '../../core/prng.js';

const first = (a: ArrayLike<number>, from: number, n: number) => Array.from(a).slice(from, from + n);

describe('golden: PRNG (pure-rand xoroshiro128+, pinned exactly in package.json)', () => {
  it('first uniforms (as integers u * 2^53) and normals of a stream', () => {
    const u = createRng(0, 'golden');
    expect(Array.from({ length: 4 }, () => u.next() * 2 ** 53)).toEqual([
      1892701479985041, 5267627634554798, 3753598937006771, 5439896437267371,
    ]);
    const z = createRng(0, 'golden');
    expect(Array.from({ length: 4 }, () => z.normal())).toEqual([
      -0.5915967359876778, -0.3489876316522006, -0.8246581562471377, -0.6309992409821037,
    ]);
  });
});

describe('golden: spirals dataset, default spec', () => {
  // Changing the golden values requires bumping DATA_GENERATOR_VERSION (core/data.ts), which changes every trial id.
  it('is generator version 1', () => {
    expect(DATA_GENERATOR_VERSION).toBe('1');
  });

  const spec = defaultDatasetSpec();
  const train = makeSpirals(spec, 'train');
  const validation = makeSpirals(spec, 'validation');

  // Points 1-3 of arm 0, (x, y) interleaved; point 0 (the origin, whose zeros may be signed) is checked below.
  it('first points of arm 0', () => {
    expect(first(train.x, 2, 6)).toEqual([
      0.009331439119799584, 0.00386712412707196, 0.019468851173894693, 0.005393093195149861, 0.02655217982510661,
      0.014603266486699963,
    ]);
    expect(first(validation.x, 2, 6)).toEqual([
      0.009839088754648236, 0.0022853309473384225, 0.019869867637420904, 0.003648284571439811,
      0.030081484231888434, 0.0036575882700244345,
    ]);
  });

  it('achievable structure: point 0 of every arm is at the origin, with the arm label', () => {
    for (const set of [train, validation]) {
      expect(set.n).toBe(300);
      for (let j = 0; j < 3; j++) {
        const mu = j * 100;
        // abs: r cos(a) with r = 0 may be -0.
        expect([Math.abs(set.x[2 * mu]), Math.abs(set.x[2 * mu + 1])]).toEqual([0, 0]);
        expect(set.y[mu]).toBe(j);
      }
      // No other point is at the origin: exactly C points with C different labels there.
      let atOrigin = 0;
      for (let mu = 0; mu < set.n; mu++) if (set.x[2 * mu] === 0 && set.x[2 * mu + 1] === 0) atOrigin++;
      expect(atOrigin).toBe(3);
    }
  });
});

describe('golden: initial weights, width 4, C = 3, d = 2, seed 0', () => {
  const w = 4;
  const o = paramOffsets(w, 3);

  // Changing these golden values requires bumping INIT_VERSIONS for the scheme (core/model.ts).
  it('glorot-normal (the authors\' init) is version 2; standard is version 1', () => {
    expect(INIT_VERSIONS).toEqual({ 'glorot-normal': '2', standard: '1' });
  });

  it('glorot-normal: W1, b1, W2, b2', () => {
    const th = initParams(w, 3, 'glorot-normal', 0);
    expect(first(th, o.W1, 8)).toEqual([
      -0.28383945189214804, 0.06713889858480879, 0.7844822143910767, 0.879638339551458, -0.10131034265597215,
      -0.020986713087744153, 0.19309070923278093, 0.2214234963849776,
    ]);
    expect(first(th, o.b1, 4)).toEqual([0.002979034928779765, -0.01151730334917486, -0.006930005023554714, -0.01880329963258381]);
    // The 12th W2 draw of this stream is 2.28 standard deviations out and is rejected: W2[3][2] is the next one.
    expect(first(th, o.W2, 12)).toEqual([
      -0.4505810395038813, -0.14851068769837367, -0.7413741463039645, 0.14031434134664908, 0.14957495990843964,
      -1.0161378227358786, 0.24476862125481502, 0.6036921523137264, -0.08285503985282783, 1.1042182993622072,
      -0.7803938603178625, -0.8282614747210838,
    ]);
    expect(first(th, o.b2, 3)).toEqual([0.008679072993023812, -0.004947359878494918, 0.003462815357721053]);
  });

  it('standard: first W1 and W2 values (biases are zero)', () => {
    const th = initParams(w, 3, 'standard', 0);
    expect(first(th, o.W1, 4)).toEqual([-0.30578507164664703, 0.07232987795450523, 0.8451360391727549, 0.9476493520889621]);
    expect(first(th, o.W2, 4)).toEqual([0.14895174643898826, -0.575865167458743, -0.3465002511777357, -0.9401649816291905]);
  });
});
