/**
 * The oracle kernel: plain float64 loops, one trial after another, one sample at a time.
 * Gradients by hand; Hessian-vector products by Pearlmutter's R-operator, derived analytically
 * (no autodiff, no finite differences). Clarity first, but no allocation inside step/hvp.
 *
 * Per sample mu, trial k (flat layout of core/kernel.ts):
 *   a = W1^T x + b1,  h = relu(a),  z = W2^T h + b2,  F = (1/N) sum_mu l_mu(z_mu)
 *   dz = dl/dz / N:   ce family  Gamma_y (p - Y)           (p = softmax z)
 *                     mse family omega ∘ (z - Y)           (omega = 1 | Gamma_y | Gamma_k)
 *   backward: gW2 += h dz^T, gb2 += dz, da = 1[a>0] ∘ (W2 dz), gW1 += x da^T, gb1 += da
 * R-operator along v = (V1, c1, V2, c2):
 *   Ra = V1^T x + c1,  Rh = 1[a>0] ∘ Ra,  Rz = W2^T Rh + V2^T h + c2
 *   Rdz: ce family  Gamma_y p ∘ (Rz - (p . Rz)) / N  (Hessian of -log softmax is diag p - p p^T)
 *        mse family omega ∘ Rz / N
 *   R backward: H_W2 += Rh dz^T + h Rdz^T, H_b2 += Rdz,
 *               Rda = 1[a>0] ∘ (V2 dz + W2 Rdz)  (relu'' = 0 almost everywhere),
 *               H_W1 += x Rda^T, H_b1 += Rda
 * ReLU'(0) is taken as 0, consistently in forward, gradient and R-operator.
 */
import { packLossFamily, type KernelData, type KernelFactory, type KernelInit, type PackKernel, type SplitMetrics } from '../kernel.js';
import type { LossName } from '../types.js';
import { paramCount, paramOffsets } from '../model.js';

/** How the per-sample loss uses the class weights. */
enum Weighting {
  /** ce/dce: Gamma of the sample's class multiplies -log p_y. */
  CeBySample,
  /** mse: no weights. */
  MseNone,
  /** dmse1: Gamma of the sample's class multiplies the whole squared error. */
  MseBySample,
  /** dmse2: Gamma_k multiplies output k's squared error. */
  MseByOutput,
}

function weightingOf(loss: LossName): Weighting {
  switch (loss) {
    case 'ce':
    case 'dce':
      return Weighting.CeBySample;
    case 'mse':
      return Weighting.MseNone;
    case 'dmse1':
      return Weighting.MseBySample;
    case 'dmse2':
      return Weighting.MseByOutput;
  }
}

class ReferenceKernel implements PackKernel {
  readonly backend = 'float64';
  readonly size: number;
  readonly paramCount: number;
  private readonly w: number;
  private readonly C: number;
  private readonly d: number;
  private readonly o: ReturnType<typeof paramOffsets>;
  private readonly theta: Float64Array;
  private readonly lr: Float64Array;
  private readonly weighting: Weighting[];
  private readonly train: KernelData;
  private readonly validation: KernelData;
  // Per-sample scratch, reused everywhere.
  private readonly a: Float64Array;
  private readonly h: Float64Array;
  private readonly ra: Float64Array;
  private readonly z: Float64Array;
  private readonly dz: Float64Array;
  private readonly rz: Float64Array;
  private readonly rdz: Float64Array;
  private readonly p: Float64Array;
  /** Gradient of one trial, reused by step. */
  private readonly g: Float64Array;

  constructor(init: KernelInit) {
    const { width, train, validation, trials } = init;
    packLossFamily(init, 'reference kernel'); // one family per pack: the weighting below assumes it
    this.w = width;
    this.C = train.classes;
    this.d = train.d;
    this.size = trials.length;
    this.paramCount = paramCount(width, this.C, this.d);
    this.o = paramOffsets(width, this.C, this.d);
    this.train = train;
    this.validation = validation;
    this.theta = new Float64Array(this.size * this.paramCount);
    trials.forEach((t, k) => {
      if (t.theta.length !== this.paramCount) throw new Error(`reference kernel: trial ${k} has ${t.theta.length} params, expected ${this.paramCount}`);
      this.theta.set(t.theta, k * this.paramCount);
    });
    this.lr = Float64Array.from(trials, (t) => t.lr);
    this.weighting = trials.map((t) => weightingOf(t.loss));
    this.a = new Float64Array(width);
    this.h = new Float64Array(width);
    this.ra = new Float64Array(width);
    this.z = new Float64Array(this.C);
    this.dz = new Float64Array(this.C);
    this.rz = new Float64Array(this.C);
    this.rdz = new Float64Array(this.C);
    this.p = new Float64Array(this.C);
    this.g = new Float64Array(this.paramCount);
  }

  step(gammas: Float64Array, active: Uint8Array): Float64Array {
    const K = this.size;
    const P = this.paramCount;
    const losses = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      if (!active[k]) {
        losses[k] = this.lossOnly(k, this.train, gammas);
        continue;
      }
      const g = this.g;
      g.fill(0);
      losses[k] = this.lossAndGradient(k, gammas, g, 0);
      const lr = this.lr[k];
      const th = this.theta;
      for (let i = 0, j = k * P; i < P; i++, j++) th[j] -= lr * g[i];
    }
    return losses;
  }

  gradient(gammas: Float64Array): Float64Array {
    const out = new Float64Array(this.size * this.paramCount);
    for (let k = 0; k < this.size; k++) this.lossAndGradient(k, gammas, out, k * this.paramCount);
    return out;
  }

  evaluate(split: 'train' | 'validation', gammas: Float64Array): SplitMetrics {
    const data = split === 'train' ? this.train : this.validation;
    const K = this.size;
    const loss = new Float64Array(K);
    const lossStatic = new Float64Array(K);
    const acc = new Float64Array(K);
    const C = this.C;
    const z = this.z;
    for (let k = 0; k < K; k++) {
      const wt = this.weighting[k];
      const gOff = k * C;
      let sum = 0;
      let sumStatic = 0;
      let correct = 0;
      for (let mu = 0; mu < data.n; mu++) {
        this.forward(k, data, mu);
        const y = data.y[mu];
        let best = 0;
        for (let c = 1; c < C; c++) if (z[c] > z[best]) best = c;
        if (best === y) correct++;
        if (wt === Weighting.CeBySample) {
          const nll = this.logSumExp() - z[y];
          sum += gammas[gOff + y] * nll;
          sumStatic += nll;
        } else {
          let se = 0;
          let weighted = 0;
          for (let c = 0; c < C; c++) {
            const e = z[c] - (c === y ? 1 : 0);
            se += e * e;
            weighted += (wt === Weighting.MseByOutput ? gammas[gOff + c] : 1) * e * e;
          }
          sumStatic += 0.5 * se;
          if (wt === Weighting.MseNone) sum += 0.5 * se;
          else if (wt === Weighting.MseBySample) sum += 0.5 * gammas[gOff + y] * se;
          else sum += 0.5 * weighted;
        }
      }
      loss[k] = sum / data.n;
      lossStatic[k] = sumStatic / data.n;
      acc[k] = correct / data.n;
    }
    return { loss, lossStatic, acc };
  }

  hvp(v: Float64Array, gammas: Float64Array, active?: Uint8Array): Float64Array {
    const K = this.size;
    const P = this.paramCount;
    if (v.length !== K * P) throw new Error(`hvp: v has length ${v.length}, expected ${K * P}`);
    const out = new Float64Array(K * P);
    for (let k = 0; k < K; k++) if (!active || active[k] === 1) this.hvpTrial(k, v, gammas, out, k * P);
    return out;
  }

  getParams(k: number): Float64Array {
    return this.theta.slice(k * this.paramCount, (k + 1) * this.paramCount);
  }

  setLearningRate(k: number, lr: number): void {
    this.lr[k] = lr;
  }

  setParams(k: number, theta: Float64Array): void {
    if (theta.length !== this.paramCount) throw new Error('setParams: wrong length');
    this.theta.set(theta, k * this.paramCount);
  }

  dispose(): void {
    /* nothing native to release */
  }

  /** a, h, z of sample mu for trial k (into the scratch buffers). */
  private forward(k: number, data: KernelData, mu: number): void {
    const { w, C, d, o, theta, a, h, z } = this;
    const base = k * this.paramCount;
    const x = data.x;
    const xo = mu * d;
    for (let j = 0; j < w; j++) {
      let s = theta[base + o.b1 + j];
      for (let i = 0; i < d; i++) s += x[xo + i] * theta[base + o.W1 + i * w + j];
      a[j] = s;
      h[j] = s > 0 ? s : 0;
    }
    for (let c = 0; c < C; c++) z[c] = theta[base + o.b2 + c];
    for (let j = 0; j < w; j++) {
      const hj = h[j];
      if (hj === 0) continue;
      const row = base + o.W2 + j * C;
      for (let c = 0; c < C; c++) z[c] += hj * theta[row + c];
    }
  }

  /** log sum exp(z), stable. */
  private logSumExp(): number {
    const { z, C } = this;
    let m = z[0];
    for (let c = 1; c < C; c++) if (z[c] > m) m = z[c];
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[c] - m);
    return m + Math.log(s);
  }

  /**
   * Loss of sample mu (already forwarded) with weights of trial k, and dz = dl/dz / N into this.dz;
   * for the ce family also p = softmax(z).
   */
  private lossAndDz(k: number, gammas: Float64Array, y: number, invN: number): number {
    const { C, z, dz, p } = this;
    const wt = this.weighting[k];
    const gOff = k * C;
    if (wt === Weighting.CeBySample) {
      let m = z[0];
      for (let c = 1; c < C; c++) if (z[c] > m) m = z[c];
      let s = 0;
      for (let c = 0; c < C; c++) {
        const e = Math.exp(z[c] - m);
        p[c] = e;
        s += e;
      }
      const gy = gammas[gOff + y];
      for (let c = 0; c < C; c++) {
        p[c] /= s;
        dz[c] = gy * (p[c] - (c === y ? 1 : 0)) * invN;
      }
      return gy * (m + Math.log(s) - z[y]);
    }
    let l = 0;
    for (let c = 0; c < C; c++) {
      const e = z[c] - (c === y ? 1 : 0);
      const om = wt === Weighting.MseNone ? 1 : wt === Weighting.MseBySample ? gammas[gOff + y] : gammas[gOff + c];
      l += 0.5 * om * e * e;
      dz[c] = om * e * invN;
    }
    return l;
  }

  /** Training loss of trial k, and its gradient added into out[off .. off + P). */
  private lossAndGradient(k: number, gammas: Float64Array, out: Float64Array, off: number): number {
    const { w, C, d, o, theta, a, h, dz, train } = this;
    const base = k * this.paramCount;
    const invN = 1 / train.n;
    const x = train.x;
    let sum = 0;
    for (let mu = 0; mu < train.n; mu++) {
      this.forward(k, train, mu);
      sum += this.lossAndDz(k, gammas, train.y[mu], invN);
      for (let c = 0; c < C; c++) out[off + o.b2 + c] += dz[c];
      const xo = mu * d;
      for (let j = 0; j < w; j++) {
        if (!(a[j] > 0)) continue; // dead unit: no gradient through it, and h_j = 0
        const hj = h[j];
        const row = j * C;
        let da = 0;
        for (let c = 0; c < C; c++) {
          out[off + o.W2 + row + c] += hj * dz[c];
          da += theta[base + o.W2 + row + c] * dz[c];
        }
        out[off + o.b1 + j] += da;
        for (let i = 0; i < d; i++) out[off + o.W1 + i * w + j] += x[xo + i] * da;
      }
    }
    return sum * invN;
  }

  /** Training loss only (no gradient), for inactive trials in step. */
  private lossOnly(k: number, data: KernelData, gammas: Float64Array): number {
    let sum = 0;
    for (let mu = 0; mu < data.n; mu++) {
      this.forward(k, data, mu);
      sum += this.lossAndDz(k, gammas, data.y[mu], 1);
    }
    return sum / data.n;
  }

  /** H_k v_k into out[off .. off + P) by the R-operator (see the header). */
  private hvpTrial(k: number, v: Float64Array, gammas: Float64Array, out: Float64Array, off: number): void {
    const { w, C, d, o, theta, a, h, ra, dz, rz, rdz, p, train } = this;
    const base = k * this.paramCount;
    const vb = off; // v and out share the packed layout
    const invN = 1 / train.n;
    const x = train.x;
    const wt = this.weighting[k];
    const gOff = k * C;
    for (let mu = 0; mu < train.n; mu++) {
      this.forward(k, train, mu);
      const y = train.y[mu];
      this.lossAndDz(k, gammas, y, invN);
      const xo = mu * d;
      // R forward.
      for (let c = 0; c < C; c++) rz[c] = v[vb + o.b2 + c];
      for (let j = 0; j < w; j++) {
        if (!(a[j] > 0)) {
          ra[j] = 0;
          continue;
        }
        let s = v[vb + o.b1 + j];
        for (let i = 0; i < d; i++) s += x[xo + i] * v[vb + o.W1 + i * w + j];
        ra[j] = s; // this is Rh_j (masked)
        const hj = h[j];
        const row = j * C;
        for (let c = 0; c < C; c++) rz[c] += s * theta[base + o.W2 + row + c] + hj * v[vb + o.W2 + row + c];
      }
      // R of dz.
      if (wt === Weighting.CeBySample) {
        let pr = 0;
        for (let c = 0; c < C; c++) pr += p[c] * rz[c];
        const gy = gammas[gOff + y] * invN;
        for (let c = 0; c < C; c++) rdz[c] = gy * p[c] * (rz[c] - pr);
      } else {
        for (let c = 0; c < C; c++) {
          const om = wt === Weighting.MseNone ? 1 : wt === Weighting.MseBySample ? gammas[gOff + y] : gammas[gOff + c];
          rdz[c] = om * rz[c] * invN;
        }
      }
      // R backward.
      for (let c = 0; c < C; c++) out[off + o.b2 + c] += rdz[c];
      for (let j = 0; j < w; j++) {
        if (!(a[j] > 0)) continue;
        const hj = h[j];
        const rhj = ra[j];
        const row = j * C;
        let rda = 0;
        for (let c = 0; c < C; c++) {
          out[off + o.W2 + row + c] += rhj * dz[c] + hj * rdz[c];
          rda += v[vb + o.W2 + row + c] * dz[c] + theta[base + o.W2 + row + c] * rdz[c];
        }
        out[off + o.b1 + j] += rda;
        for (let i = 0; i < d; i++) out[off + o.W1 + i * w + j] += x[xo + i] * rda;
      }
    }
  }
}

export const createReferenceKernel: KernelFactory = (init: KernelInit) => new ReferenceKernel(init);
