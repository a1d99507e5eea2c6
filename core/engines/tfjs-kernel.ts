/**
 * The TensorFlow.js pack kernel: K trials of one width stacked as batched tensors, so that one step of all
 * K trials is a handful of batched matMuls (what makes an accelerator worth it). float32 on device; the
 * PackKernel contract's Float64Arrays are converted at the boundary.
 *
 * Device layout (K trials, N samples, d inputs, w hidden, C outputs):
 *   Xa = [X, 1] [K,N,d+1] (inputs with a column of ones, tiled once per trial: plain batched matMuls, no
 *   batch broadcasting, which every backend supports), Y one-hot [1,N,C],
 *   W1a = [W1; b1] [K,d+1,w] (the first layer with its bias as last row: exactly the flat layout's first
 *   (d+1)w numbers, and the bias gradient comes out of the same matMul as W1's), W2 [K,w,C], b2 [K,1,C],
 *   learning rates [K,1,1], class weights Gamma [K,1,C].
 *
 * Everything is written by hand with first-order tf ops; TensorFlow.js autodiff is never used (its second
 * order is silently wrong through relu / log-softmax / exp, and the first-order backward here is the same
 * code the R-operator reuses). The maths mirrors core/engines/reference-kernel.ts:
 *   A = Xa W1a, M = 1[A > 0], H = M ∘ A, Z = H W2 + b2
 *   ce family:  s = Gamma_y (sample weight), F = (1/N) sum s (lse(Z) - Z_y), dZ = s (p - Y) / N
 *   mse family: Om = c0 + c1 Gamma_y + c2 Gamma_k with one of (c0, c1, c2) = 1 per trial (mse, dmse1, dmse2),
 *               F = (1/(2N)) sum Om ∘ (Z - Y)^2, dZ = Om ∘ (Z - Y) / N
 *   backward: gW2 = H^T dZ, gb2 = sum_N dZ, dA = M ∘ (dZ W2^T), gW1a = Xa^T dA
 *   R-op along (V1a, V2, c2): RA = Xa V1a, RH = M ∘ RA, RZ = RH W2 + H V2 + c2,
 *     RdZ = ce: s p ∘ (RZ - <p, RZ>) / N;  mse: Om ∘ RZ / N
 *     HW2 = RH^T dZ + H^T RdZ, Hb2 = sum_N RdZ, RdA = M ∘ (dZ V2^T + RdZ W2^T), HW1a = Xa^T RdA
 * ReLU'(0) = 0 as in the reference.
 *
 * Parameters stay on device between steps (uploaded on construction / setParams, downloaded on getParams,
 * with a host copy cached until the next step). The forward quantities the R-operator needs (M, H, dZ, p or
 * Om) are cached for the current parameters and class weights, so the 10-20 hvps of one Lanczos run cost
 * about one R-forward and one R-backward each.
 */
import * as tf from '@tensorflow/tfjs';
import { packLossFamily, type KernelData, type KernelFactory, type KernelInit, type PackKernel, type SplitMetrics } from '../kernel.js';
import type { LossName } from '../types.js';
import { paramCount } from '../model.js';

type T3 = tf.Tensor3D;

interface DeviceData {
  n: number;
  /** [K,N,d] */
  X: T3;
  /** One-hot labels [1,N,C]. */
  Y: T3;
  /** Labels [1,N] int32 (accuracy). */
  labels: tf.Tensor2D;
}

// A type alias (not an interface) so that it is a tf.TensorContainer that tf.tidy may return.
type Params = {
  /** [W1; b1], [K,d+1,w]. */
  W1: T3;
  W2: T3;
  b2: T3;
};

/** What the R-operator needs at the current parameters and class weights (training split). */
interface ForwardCache {
  version: number;
  gammas: T3;
  H: T3;
  M: T3;
  dZ: T3;
  /** ce family: p * s / N; mse family: Om / N. */
  curv: T3;
  /** ce family only: p (softmax). */
  p: T3 | null;
}

/**
 * [K,a,b] -> [K,b,a]. Used on the small weight tensors so that the large products avoid matMul's
 * transposeB flag, which is several times slower on the wasm backend (free on native TensorFlow).
 */
function transpose12(x: T3): T3 {
  return tf.transpose(x, [0, 2, 1]);
}

/** Selectors (c0, c1, c2) of the mse-family weight Om = c0 + c1 Gamma_y + c2 Gamma_k. */
function mseSelectors(loss: LossName): [number, number, number] {
  switch (loss) {
    case 'mse':
      return [1, 0, 0];
    case 'dmse1':
      return [0, 1, 0];
    case 'dmse2':
      return [0, 0, 1];
    default:
      throw new Error(`tfjs kernel: ${loss} is not in the mse family`);
  }
}

class TfjsKernel implements PackKernel {
  readonly backend: string;
  readonly size: number;
  readonly paramCount: number;
  private readonly w: number;
  private readonly C: number;
  private readonly d: number;
  private readonly family: 'ce' | 'mse';
  private readonly train: DeviceData;
  private readonly validation: DeviceData;
  /** [K,1,1] */
  private lr: T3;
  /** mse family: [K,1,1] each. */
  private readonly sel: [T3, T3, T3] | null;
  private params: Params;
  /** Bumped whenever the parameters change. */
  private version = 0;
  private host: Float64Array | null = null;
  private hostVersion = -1;
  private gammaKey: Float64Array | null = null;
  private gammaTensor: T3 | null = null;
  private activeKey: Uint8Array | null = null;
  private activeTensor: T3 | null = null;
  private fwd: ForwardCache | null = null;
  private disposed = false;
  /** See thin(). */
  private readonly unbatchThin: boolean;

  constructor(init: KernelInit, backendLabel: string) {
    const { width, train, validation, trials } = init;
    const fam = packLossFamily(init, 'tfjs kernel');
    this.backend = backendLabel;
    this.unbatchThin = tf.getBackend() === 'wasm';
    this.family = fam;
    this.w = width;
    this.C = train.classes;
    this.d = train.d;
    this.size = trials.length;
    this.paramCount = paramCount(width, this.C, this.d);
    const K = this.size;
    const P = this.paramCount;
    const theta = new Float64Array(K * P);
    trials.forEach((t, k) => {
      if (t.theta.length !== P) throw new Error(`tfjs kernel: trial ${k} has ${t.theta.length} params, expected ${P}`);
      theta.set(t.theta, k * P);
    });
    this.train = this.uploadData(train);
    this.validation = this.uploadData(validation);
    this.lr = tf.tensor3d(Float32Array.from(trials, (t) => t.lr), [K, 1, 1]);
    if (fam === 'mse') {
      const s = trials.map((t) => mseSelectors(t.loss));
      this.sel = [0, 1, 2].map((i) => tf.tensor3d(Float32Array.from(s, (r) => r[i]), [K, 1, 1])) as [T3, T3, T3];
    } else {
      this.sel = null;
    }
    this.params = this.uploadParams(theta);
  }

  // ---------------------------------------------------------------- contract

  step(gammas: Float64Array, active: Uint8Array): Float64Array {
    this.alive();
    const G = this.gammasTensor(gammas);
    const act = this.activeMask(active);
    const p = this.params;
    const out = tf.tidy(() => {
      const f = this.forwardTrain(G);
      const g = this.backward(this.train.X, f.M, f.H, p.W2, f.dZ);
      const upd = (x: T3, gx: T3) => tf.sub(x, tf.mul(this.lr, gx)) as T3;
      // Inactive trials keep their parameters exactly (also when their gradient is not finite).
      const keep = act === null ? upd : (x: T3, gx: T3) => tf.where(act, upd(x, gx), x) as T3;
      return { W1: keep(p.W1, g.W1), W2: keep(p.W2, g.W2), b2: keep(p.b2, g.b2), loss: f.loss };
    });
    const loss = out.loss.dataSync();
    out.loss.dispose();
    this.replaceParams({ W1: out.W1, W2: out.W2, b2: out.b2 });
    return Float64Array.from(loss);
  }

  evaluate(split: 'train' | 'validation', gammas: Float64Array): SplitMetrics {
    this.alive();
    const data = split === 'train' ? this.train : this.validation;
    const G = this.gammasTensor(gammas);
    const K = this.size;
    const all = tf.tidy(() => {
      const { Z } = this.forward(data.X);
      const l = this.lossAndDz(Z, data, G, false);
      const pred = tf.argMax(Z, 2); // [K,N], first maximum as in the reference
      // Counts (exact in float32); divided on the host so accuracies equal the reference's bit for bit.
      const correct = tf.sum(tf.cast(tf.equal(pred, data.labels), 'float32'), 1);
      return tf.concat([l.loss, l.lossStatic, correct], 0); // [3K]
    });
    const v = all.dataSync();
    all.dispose();
    return {
      loss: Float64Array.from(v.subarray(0, K)),
      lossStatic: Float64Array.from(v.subarray(K, 2 * K)),
      acc: Float64Array.from(v.subarray(2 * K, 3 * K), (c) => c / data.n),
    };
  }

  gradient(gammas: Float64Array): Float64Array {
    this.alive();
    const G = this.gammasTensor(gammas);
    const p = this.params;
    const flat = tf.tidy(() => {
      const f = this.forwardTrain(G);
      return this.flatten(this.backward(this.train.X, f.M, f.H, p.W2, f.dZ));
    });
    const v = flat.dataSync();
    flat.dispose();
    return Float64Array.from(v);
  }

  hvp(v: Float64Array, gammas: Float64Array): Float64Array {
    this.alive();
    const K = this.size;
    const P = this.paramCount;
    if (v.length !== K * P) throw new Error(`hvp: v has length ${v.length}, expected ${K * P}`);
    const G = this.gammasTensor(gammas);
    const f = this.forwardCache(G);
    const { W2 } = this.params;
    const X = this.train.X;
    const flat = tf.tidy(() => {
      const V = this.unflatten(tf.tensor2d(Float32Array.from(v), [K, P]));
      const RH = tf.mul(f.M, this.thin(X, V.W1)) as T3;
      const RZ = tf.add(tf.add(tf.matMul(RH, W2), tf.matMul(f.H, V.W2)), V.b2) as T3;
      const RdZ = (
        f.p !== null ? tf.mul(f.curv, tf.sub(RZ, tf.sum(tf.mul(f.p, RZ), 2, true))) : tf.mul(f.curv, RZ)
      ) as T3;
      const HW2 = tf.add(tf.matMul(RH, f.dZ, true, false), tf.matMul(f.H, RdZ, true, false)) as T3;
      const Hb2 = tf.sum(RdZ, 1, true) as T3;
      const RdA = tf.mul(f.M, tf.add(this.thin(f.dZ, transpose12(V.W2)), this.thin(RdZ, transpose12(W2)))) as T3;
      const HW1 = tf.matMul(X, RdA, true, false) as T3;
      return this.flatten({ W1: HW1, W2: HW2, b2: Hb2 });
    });
    const out = flat.dataSync();
    flat.dispose();
    return Float64Array.from(out);
  }

  getParams(k: number): Float64Array {
    this.alive();
    if (!(k >= 0 && k < this.size)) throw new Error(`getParams: trial ${k} out of range`);
    const host = this.hostParams();
    return host.slice(k * this.paramCount, (k + 1) * this.paramCount);
  }

  setLearningRate(k: number, lr: number): void {
    const values = this.lr.dataSync().slice();
    values[k] = lr;
    this.lr.dispose();
    this.lr = tf.tensor3d(values, [this.size, 1, 1]);
  }

  setParams(k: number, theta: Float64Array): void {
    this.alive();
    if (!(k >= 0 && k < this.size)) throw new Error(`setParams: trial ${k} out of range`);
    if (theta.length !== this.paramCount) throw new Error('setParams: wrong length');
    const host = Float64Array.from(this.hostParams());
    host.set(theta, k * this.paramCount);
    this.replaceParams(this.uploadParams(host));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropForwardCache();
    const ts: (tf.Tensor | null)[] = [
      ...Object.values(this.params),
      this.train.X,
      this.train.Y,
      this.train.labels,
      this.validation.X,
      this.validation.Y,
      this.validation.labels,
      this.lr,
      ...(this.sel ?? []),
      this.gammaTensor,
      this.activeTensor,
    ];
    for (const t of ts) t?.dispose();
    this.gammaTensor = null;
    this.activeTensor = null;
    this.host = null;
  }

  // ---------------------------------------------------------------- maths (call inside tf.tidy)

  private forward(X: T3): { M: T3; H: T3; Z: T3 } {
    const { W1, W2, b2 } = this.params;
    const A = this.thin(X, W1);
    // step(a) = 1 for a > 0, else 0 (NaN stays NaN): ReLU'(0) = 0 as in the reference. Unary ops are much
    // faster than greater/cast on the wasm and cpu backends.
    const M = tf.step(A) as T3;
    const H = tf.relu(A) as T3;
    const Z = tf.add(tf.matMul(H, W2), b2) as T3;
    return { M, H, Z };
  }

  /**
   * Losses ([K] each) at logits Z; with `withDz` also dZ and the curvature factor of the R-operator
   * (see ForwardCache.curv) and, for the ce family, p.
   */
  private lossAndDz(
    Z: T3,
    data: DeviceData,
    G: T3,
    withDz: boolean,
  ): { loss: tf.Tensor1D; lossStatic: tf.Tensor1D; dZ?: T3; curv?: T3; p?: T3 } {
    const { Y, n } = data;
    const invN = 1 / n;
    if (this.family === 'ce') {
      const s = tf.sum(tf.mul(G, Y), 2, true); // Gamma_y, [K,N,1]
      const lse = tf.logSumExp(Z, 2, true);
      const nll = tf.sub(lse, tf.sum(tf.mul(Z, Y), 2, true)); // [K,N,1]
      const loss = tf.mul(tf.sum(tf.mul(s, nll), [1, 2]), invN) as tf.Tensor1D;
      const lossStatic = tf.mul(tf.sum(nll, [1, 2]), invN) as tf.Tensor1D;
      if (!withDz) return { loss, lossStatic };
      const p = tf.exp(tf.sub(Z, lse)) as T3;
      const sN = tf.mul(s, invN);
      const dZ = tf.mul(sN, tf.sub(p, Y)) as T3;
      const curv = tf.mul(sN, p) as T3;
      return { loss, lossStatic, dZ, curv, p };
    }
    const sel = this.sel as [T3, T3, T3];
    const gy = tf.sum(tf.mul(G, Y), 2, true); // [K,N,1]
    const Om = tf.add(tf.add(sel[0], tf.mul(sel[1], gy)), tf.mul(sel[2], G)); // [K,N,C]
    const E = tf.sub(Z, Y);
    const E2 = tf.square(E);
    const loss = tf.mul(tf.sum(tf.mul(Om, E2), [1, 2]), 0.5 * invN) as tf.Tensor1D;
    const lossStatic = tf.mul(tf.sum(E2, [1, 2]), 0.5 * invN) as tf.Tensor1D;
    if (!withDz) return { loss, lossStatic };
    const curv = tf.mul(Om, invN) as T3;
    const dZ = tf.mul(curv, E) as T3;
    return { loss, lossStatic, dZ, curv };
  }

  private forwardTrain(G: T3): { M: T3; H: T3; dZ: T3; curv: T3; p: T3 | null; loss: tf.Tensor1D } {
    const { M, H, Z } = this.forward(this.train.X);
    const l = this.lossAndDz(Z, this.train, G, true);
    return { M, H, dZ: l.dZ as T3, curv: l.curv as T3, p: l.p ?? null, loss: l.loss };
  }

  /**
   * Batched a[k] @ b[k] for the "thin" products whose inner dimension is tiny (d or C) and whose output is
   * [K,N,w]. The wasm backend's batched matMul is slow for those (4-6x at K = 16); one rank-2 matMul per
   * trial takes its fast path. Elsewhere (native TensorFlow, cpu) the single batched op is as good or better.
   */
  private thin(a: T3, b: T3): T3 {
    if (!this.unbatchThin || this.size === 1) return tf.matMul(a, b);
    const as = tf.unstack(a) as tf.Tensor2D[];
    const bs = tf.unstack(b) as tf.Tensor2D[];
    return tf.stack(as.map((x, k) => tf.matMul(x, bs[k]))) as T3;
  }

  private backward(X: T3, M: T3, H: T3, W2: T3, dZ: T3): Params {
    const W2g = tf.matMul(H, dZ, true, false) as T3;
    const b2g = tf.sum(dZ, 1, true) as T3;
    const dA = tf.mul(this.thin(dZ, transpose12(W2)), M) as T3;
    const W1g = tf.matMul(X, dA, true, false) as T3; // [gW1; gb1]
    return { W1: W1g, W2: W2g, b2: b2g };
  }

  /** [K,P] in the flat layout of core/kernel.ts. */
  private flatten(p: Params): tf.Tensor2D {
    const K = this.size;
    const { d, w, C } = this;
    return tf.concat(
      [tf.reshape(p.W1, [K, (d + 1) * w]), tf.reshape(p.W2, [K, w * C]), tf.reshape(p.b2, [K, C])],
      1,
    ) as tf.Tensor2D;
  }

  private unflatten(flat: tf.Tensor2D): Params {
    const K = this.size;
    const { d, w, C } = this;
    const [a, c, e] = tf.split(flat, [(d + 1) * w, w * C, C], 1);
    return {
      W1: tf.reshape(a, [K, d + 1, w]) as T3,
      W2: tf.reshape(c, [K, w, C]) as T3,
      b2: tf.reshape(e, [K, 1, C]) as T3,
    };
  }

  // ---------------------------------------------------------------- device state

  private alive(): void {
    if (this.disposed) throw new Error('tfjs kernel: used after dispose');
  }

  private uploadData(data: KernelData): DeviceData {
    const { n, d, classes: C } = data;
    const K = this.size;
    const da = d + 1;
    const x = new Float32Array(K * n * da);
    for (let k = 0; k < K; k++) {
      for (let mu = 0; mu < n; mu++) {
        const o = (k * n + mu) * da;
        for (let i = 0; i < d; i++) x[o + i] = data.x[mu * d + i];
        x[o + d] = 1;
      }
    }
    const y = new Float32Array(n * C);
    for (let mu = 0; mu < n; mu++) y[mu * C + data.y[mu]] = 1;
    return {
      n,
      X: tf.tensor3d(x, [K, n, da]),
      Y: tf.tensor3d(y, [1, n, C]),
      labels: tf.tensor2d(Int32Array.from(data.y), [1, n], 'int32'),
    };
  }

  private uploadParams(theta: Float64Array): Params {
    const K = this.size;
    const P = this.paramCount;
    return tf.tidy(() => {
      const u = this.unflatten(tf.tensor2d(Float32Array.from(theta), [K, P]));
      return u;
    });
  }

  private replaceParams(next: Params): void {
    const old = this.params;
    this.params = next;
    for (const t of Object.values(old)) t.dispose();
    this.version++;
    this.dropForwardCache();
  }

  private hostParams(): Float64Array {
    if (this.host === null || this.hostVersion !== this.version) {
      const flat = tf.tidy(() => this.flatten(this.params));
      this.host = Float64Array.from(flat.dataSync());
      flat.dispose();
      this.hostVersion = this.version;
    }
    return this.host;
  }

  /** Class weights as a [K,1,C] tensor, re-uploaded only when they change. */
  private gammasTensor(gammas: Float64Array): T3 {
    const K = this.size;
    const C = this.C;
    if (gammas.length !== K * C) throw new Error(`tfjs kernel: gammas have length ${gammas.length}, expected ${K * C}`);
    const key = this.gammaKey;
    let same = key !== null;
    if (key !== null) {
      for (let i = 0; i < key.length; i++) {
        if (key[i] !== gammas[i]) {
          same = false;
          break;
        }
      }
    }
    if (!same || this.gammaTensor === null) {
      this.gammaTensor?.dispose();
      this.dropForwardCache(); // keyed by the gamma tensor
      this.gammaTensor = tf.tensor3d(Float32Array.from(gammas), [K, 1, C]);
      this.gammaKey = Float64Array.from(gammas);
    }
    return this.gammaTensor;
  }

  /** Active flags as a [K,1,1] bool tensor, re-uploaded only when they change; null when all are active. */
  private activeMask(active: Uint8Array): T3 | null {
    const K = this.size;
    if (active.length !== K) throw new Error(`tfjs kernel: active has length ${active.length}, expected ${K}`);
    if (active.every((a) => a !== 0)) return null;
    const key = this.activeKey;
    let same = key !== null;
    if (key !== null) for (let i = 0; i < K; i++) if ((key[i] !== 0) !== (active[i] !== 0)) same = false;
    if (!same || this.activeTensor === null) {
      this.activeTensor?.dispose();
      this.activeTensor = tf.tensor3d(Uint8Array.from(active, (a) => (a ? 1 : 0)), [K, 1, 1], 'bool');
      this.activeKey = Uint8Array.from(active);
    }
    return this.activeTensor;
  }

  private forwardCache(G: T3): ForwardCache {
    const c = this.fwd;
    if (c !== null && c.version === this.version && c.gammas === G) return c;
    this.dropForwardCache();
    let fresh: ForwardCache | null = null;
    tf.tidy(() => {
      const r = this.forwardTrain(G);
      const keep = <X extends tf.Tensor>(t: X): X => tf.keep(t);
      fresh = { version: this.version, gammas: G, H: keep(r.H), M: keep(r.M), dZ: keep(r.dZ), curv: keep(r.curv), p: r.p ? keep(r.p) : null };
    });
    if (fresh === null) throw new Error('tfjs kernel: forward cache not built');
    this.fwd = fresh;
    return fresh;
  }

  private dropForwardCache(): void {
    const c = this.fwd;
    if (c === null) return;
    this.fwd = null;
    c.H.dispose();
    c.M.dispose();
    c.dZ.dispose();
    c.curv.dispose();
    c.p?.dispose();
  }
}

/**
 * Kernel factory on the current TensorFlow.js backend. `backendLabel` is what the kernel reports
 * (default: tf.getBackend()); `tfBackend`, when given, is made current first.
 */
export function createTfjsKernelFactory(opts: { backendLabel?: string; tfBackend?: string } = {}): KernelFactory {
  return async (init: KernelInit): Promise<PackKernel> => {
    if (opts.tfBackend !== undefined && tf.getBackend() !== opts.tfBackend) {
      if (!(await tf.setBackend(opts.tfBackend))) throw new Error(`tfjs kernel: backend ${opts.tfBackend} is not available`);
    }
    await tf.ready();
    return new TfjsKernel(init, opts.backendLabel ?? tf.getBackend());
  };
}

/** Kernel on whatever TensorFlow.js backend is current. */
export const createTfjsKernel: KernelFactory = createTfjsKernelFactory();
