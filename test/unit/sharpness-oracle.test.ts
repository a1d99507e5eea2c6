/**
 * lambda_max from batched Lanczos and power iteration over the kernel's hvp against the dense Jacobi
 * eigendecomposition of the full Hessian (built column by column from hvp) on tiny networks.
 */
import { describe, expect, it } from 'vitest';
import { createReferenceKernel } from '../../core/engines/reference-kernel.js';
import type { PackKernel } from '../../core/kernel.js';
import { defaultDatasetSpec, makeSpirals } from '../../core/data.js';
import { initParams, paramCount } from '../../core/model.js';
import { jacobiEigen } from '../../core/linalg.js';
import { packSharpness } from '../../core/sharpness.js';
import type { LossName } from '../../core/types.js';

const C = 3;
const spec = defaultDatasetSpec({ pointsPerClass: 10, seed: 2 });
const train = makeSpirals(spec, 'train');
const validation = makeSpirals(spec, 'validation');
const GAMMA = [1.6, 0.3, 1.1];

/** Dense Hessians of every trial, column by column from batched hvp with unit vectors. */
function denseHessians(kernel: PackKernel, gammas: Float64Array): Float64Array[] {
  const K = kernel.size;
  const P = kernel.paramCount;
  const H = Array.from({ length: K }, () => new Float64Array(P * P));
  for (let j = 0; j < P; j++) {
    const e = new Float64Array(K * P);
    for (let k = 0; k < K; k++) e[k * P + j] = 1;
    const col = kernel.hvp(e, gammas);
    for (let k = 0; k < K; k++) for (let i = 0; i < P; i++) H[k][i * P + j] = col[k * P + i];
  }
  return H;
}

function setup(width: number, losses: LossName[]) {
  // Move off the initialisation with a few GD steps so the Hessian is not near-degenerate.
  const kernel = createReferenceKernel({
    width,
    train,
    validation,
    trials: losses.map((loss, k) => ({ loss, lr: 0.5, theta: initParams(width, C, 'standard', 10 + k) })),
  }) as PackKernel;
  const gammas = new Float64Array(losses.length * C);
  losses.forEach((loss, k) => gammas.set(loss === 'ce' ? [1, 1, 1] : GAMMA, k * C));
  const active = new Uint8Array(losses.length).fill(1);
  for (let s = 0; s < 50; s++) kernel.step(gammas, active);
  return { kernel, gammas };
}

describe.each([
  [3, ['ce', 'dce']],
  [5, ['ce', 'dce']],
  [3, ['mse', 'dmse1', 'dmse2']],
  [5, ['mse', 'dmse1', 'dmse2']],
] as [number, LossName[]][])('sharpness at width %i for %j', (width, losses) => {
  const { kernel, gammas } = setup(width, losses);
  const P = paramCount(width, C);
  const H = denseHessians(kernel, gammas);
  const exact = H.map((h) => jacobiEigen(h, P).values[P - 1]);

  it('the hvp Hessian is symmetric', () => {
    for (const h of H) {
      let asym = 0;
      let scale = 0;
      for (let i = 0; i < P; i++)
        for (let j = 0; j < P; j++) {
          asym = Math.max(asym, Math.abs(h[i * P + j] - h[j * P + i]));
          scale = Math.max(scale, Math.abs(h[i * P + j]));
        }
      expect(asym).toBeLessThan(1e-12 * scale);
    }
  });

  it('Lanczos (order 20) matches the dense eigenvalue', () => {
    const res = packSharpness(kernel, gammas, { method: 'lanczos', iterations: 20 });
    losses.forEach((_, k) => {
      expect(exact[k]).toBeGreaterThan(0);
      expect(Math.abs(res.lambda[k] - exact[k])).toBeLessThan(1e-6 * exact[k]);
      // Ritz values never exceed lambda_max.
      expect(res.lambda[k]).toBeLessThanOrEqual(exact[k] * (1 + 1e-12));
      expect(res.residual[k]).toBeLessThan(1e-2 * exact[k]);
    });
  });

  it('power iteration matches the dense eigenvalue', () => {
    const res = packSharpness(kernel, gammas, { method: 'power', iterations: 3000 });
    losses.forEach((_, k) => {
      expect(Math.abs(res.lambda[k] - exact[k])).toBeLessThan(1e-5 * exact[k]);
      expect(res.residual[k]).toBeLessThanOrEqual(1e-6 * Math.abs(res.lambda[k]) * (1 + 1e-9));
    });
  });
});
