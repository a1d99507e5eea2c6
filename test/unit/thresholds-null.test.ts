/**
 * The headline ratio under the null and under a real effect, by simulation. Seed s of every cell shares a latent
 * difficulty (the same data and initial network), so seeds are paired; each (cell, seed) fits from a critical
 * width on. Under the null every dynamical cell is statistically identical to the static one: the honest headline
 * (cross-fitting over 8 candidate cells) must cover 1 at about its nominal rate, where the best-of-cells estimate
 * on the same seeds claims an improvement most of the time.
 */
import { describe, expect, it } from 'vitest';

import { findThresholds, type ThresholdInput } from '../../core/thresholds.js';
import { findingsOf } from '../../core/thresholds/findings.js';
import { createRng } from '../../core/prng.js';

const WIDTHS = [2, 3, 4, 6, 8, 12, 16, 24, 32, 48];
const P = (w: number): number => 6 * w + 3;
const CEILING = 298 / 300;

interface Design {
  seeds: number;
  /** Dynamical cells (amplitudes just above 1 or real ones) and the log critical width of each. */
  dynamical: { amplitude: number; logWidth: number }[];
  staticLogWidth: number;
}

/** One simulated sweep: critical log width = mu + 0.4 * u_seed (shared) + 0.4 * e_(cell, seed). */
function simulate(d: Design, experiment: number): ThresholdInput[] {
  const rng = createRng(experiment, 'null-simulation');
  const u = Array.from({ length: d.seeds }, () => rng.normal());
  const out: ThresholdInput[] = [];
  const cell = (loss: 'ce' | 'dce', amplitude: number | null, mu: number) => {
    for (let s = 0; s < d.seeds; s++) {
      const critical = mu + 0.4 * u[s] + 0.4 * rng.normal();
      for (const w of WIDTHS) {
        const acc = Math.log(w) >= critical ? CEILING : CEILING - 0.05;
        out.push({
          loss,
          width: w,
          params: P(w),
          seed: s,
          lr: 1,
          period: loss === 'dce' ? 500 : null,
          amplitude,
          diverged: false,
          final: { trainAcc: acc, valAcc: acc - 0.1, trainLoss: 1 - acc, trainLossStatic: 1 - acc, valLoss: 1 - acc },
        });
      }
    }
  };
  cell('ce', null, d.staticLogWidth);
  for (const c of d.dynamical) cell('dce', c.amplitude, c.logWidth);
  return out;
}

const achievable = { trainAcc: CEILING, valAcc: CEILING };
const nearNull: Design = {
  seeds: 10,
  dynamical: Array.from({ length: 8 }, (_, i) => ({ amplitude: 1 + 0.001 * (i + 1), logWidth: Math.log(8) })),
  staticLogWidth: Math.log(8),
};

describe('headline ratio under the null (8 dynamical cells identical to the static loss, 10 seeds)', () => {
  it('its 95% interval covers 1 at about the nominal rate, and rarely claims an improvement', () => {
    const E = 200;
    let covered = 0;
    let claimedSmaller = 0;
    let naiveBelow = 0;
    for (let e = 0; e < E; e++) {
      const rep = findThresholds(simulate(nearNull, e), {}, { bootstrap: 200, seed: e, achievable });
      const dce = rep.losses.find((l) => l.loss === 'dce')!;
      const ce = rep.losses.find((l) => l.loss === 'ce')!;
      expect(dce.selection.method).toBe('cross-fit');
      const ci = dce.ratioToStatic!.ci!;
      if ((ci.lower ?? 0) <= 1 && 1 <= (ci.upper ?? Infinity)) covered++;
      if (dce.ratioToStatic!.verdict === 'smaller') claimedSmaller++;
      // the old headline: the best of the 8 cells on the same seeds
      const best = Math.min(...dce.cells.map((c) => c.threshold.params ?? Infinity));
      if (best < (ce.threshold.params ?? Infinity)) naiveBelow++;
    }
    const coverage = covered / E;
    console.info(`null: coverage of 1 ${coverage}, 'smaller' claimed ${claimedSmaller / E}, best-of-8 below the static ${naiveBelow / E} (${E} experiments)`);
    // nominal 0.95 (binomial sd over 200 experiments ~ 0.015). The percentile bootstrap of a median over the 5
    // held-out seeds of a fold is close to their range, so the interval is conservative (docs/thresholds.md).
    expect(coverage).toBeGreaterThanOrEqual(0.93);
    expect(claimedSmaller / E).toBeLessThanOrEqual(0.05);
    // the selection effect this guards against: best-of-8 "beats" the identical static loss most of the time
    expect(naiveBelow / E).toBeGreaterThan(0.5);
  });
});

describe('headline ratio under a real effect', () => {
  it('detects a dynamical loss whose cells fit at a third of the width, and says so in one sentence', () => {
    const effect: Design = {
      ...nearNull,
      dynamical: nearNull.dynamical.map((_, i) => ({ amplitude: 5 + i, logWidth: Math.log(8 / 3) })),
    };
    const E = 40;
    let detected = 0;
    let sentence = '';
    for (let e = 0; e < E; e++) {
      const rep = findThresholds(simulate(effect, 1000 + e), {}, { bootstrap: 200, seed: e, achievable });
      const dce = rep.losses.find((l) => l.loss === 'dce')!;
      if (dce.ratioToStatic!.verdict === 'smaller') {
        detected++;
        sentence = findingsOf(rep)[0];
      }
    }
    // held-out halves of 5 seeds give wide intervals: the power is what it is, and it is measured here
    console.info(`real effect (ratio ~0.4, 8 cells, 10 seeds): detected in ${detected}/${E} experiments`);
    expect(detected / E).toBeGreaterThan(0.6);
    expect(sentence).toMatch(/^dce fit the training set at P [=≤] [\d.]+ \(95% interval [\d.]+–[\d.]+\), ce at P = [\d.]+: dce needed [\d.]+ of the parameters/);
    expect(sentence).toMatch(/cross-fitted over seeds; 10 paired seeds/);
  });

  it('a near-null design is reported as no supported difference', () => {
    const rep = findThresholds(simulate(nearNull, 7), {}, { bootstrap: 300, seed: 1, achievable });
    const [sentence] = findingsOf(rep);
    if (rep.losses[1].ratioToStatic!.verdict === 'no-difference') expect(sentence).toMatch(/the data does not support a difference/);
    expect(sentence).not.toMatch(/needed [\d.]+ of the parameters/);
  });
});
