/**
 * Shared test helpers for the science core: trial configs, and a naive loss written straight from
 * SCIENCE.md with nested loops (independent of the kernel's fused code) for finite-difference oracles.
 */
import type { KernelData } from '../../core/kernel.js';
import type { LossName, Pack, TrialConfig } from '../../core/types.js';
import { defaultDatasetSpec } from '../../core/data.js';

export function trialConfig(overrides: Partial<TrialConfig> = {}): TrialConfig {
  return {
    dataset: defaultDatasetSpec({ pointsPerClass: 20 }),
    init: 'glorot-normal',
    width: 6,
    lr: 0.5,
    loss: 'ce',
    period: null,
    amplitude: null,
    shape: 'triangle',
    seed: 1,
    steps: 120,
    finalStaticSteps: 0,
    evalEvery: 20,
    sharpnessEvery: 40,
    sharpness: { method: 'lanczos', iterations: 12 },
    engine: 'reference',
    ...overrides,
  };
}

export function packOf(configs: TrialConfig[], index = 0): Pack {
  return {
    index,
    width: configs[0].width,
    trials: configs.map((config, i) => ({ id: `t${index}-${i}-${config.loss}-${config.seed}`, config })),
  };
}

/** F(theta) per SCIENCE.md, from nested loops over the flat layout of core/kernel.ts. */
export function naiveLoss(theta: ArrayLike<number>, data: KernelData, width: number, loss: LossName, gamma: ArrayLike<number>): number {
  const { d, classes: C, n } = data;
  const W1 = (i: number, j: number) => theta[i * width + j];
  const b1 = (j: number) => theta[d * width + j];
  const W2 = (j: number, k: number) => theta[d * width + width + j * C + k];
  const b2 = (k: number) => theta[d * width + width + width * C + k];
  let total = 0;
  for (let mu = 0; mu < n; mu++) {
    const z: number[] = [];
    for (let k = 0; k < C; k++) {
      let zk = b2(k);
      for (let j = 0; j < width; j++) {
        let a = b1(j);
        for (let i = 0; i < d; i++) a += data.x[mu * d + i] * W1(i, j);
        zk += Math.max(a, 0) * W2(j, k);
      }
      z.push(zk);
    }
    const y = data.y[mu];
    if (loss === 'ce' || loss === 'dce') {
      const m = Math.max(...z);
      const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
      total += (loss === 'dce' ? gamma[y] : 1) * (lse - z[y]);
    } else {
      for (let k = 0; k < C; k++) {
        const e2 = (z[k] - (k === y ? 1 : 0)) ** 2;
        const wgt = loss === 'mse' ? 1 : loss === 'dmse1' ? gamma[y] : gamma[k];
        total += 0.5 * wgt * e2;
      }
    }
  }
  return total / n;
}

/** Smallest |pre-activation| over all samples and hidden units: distance from the ReLU kinks. */
export function minAbsPreactivation(theta: ArrayLike<number>, data: KernelData, width: number): number {
  let min = Infinity;
  for (let mu = 0; mu < data.n; mu++) {
    for (let j = 0; j < width; j++) {
      let a = theta[data.d * width + j];
      for (let i = 0; i < data.d; i++) a += data.x[mu * data.d + i] * theta[i * width + j];
      min = Math.min(min, Math.abs(a));
    }
  }
  return min;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error('length mismatch');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
