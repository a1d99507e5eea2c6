/**
 * The `fast` kernel: WebAssembly SIMD (f32x4), compiled at build time by AssemblyScript from asm/fast-kernel.ts
 * into dist/wasm/fast-kernel.wasm (`npm run asbuild`, run by `npm run build`). Design notes: docs/performance.md.
 *
 * - One wasm instance (with its own linear memory) per kernel; all buffers live in that memory, so the step
 *   loop makes no JS <-> wasm copies: `step` writes 4 lr/mask/weight vectors per block and reads K losses.
 * - Trials are packed 4 per f32x4 (one trial per lane); K is padded to a multiple of 4 with inert lanes
 *   (zero parameters, zero learning rate, masked out of every update).
 * - float32 parameters and arithmetic (losses accumulated in float64). Hessian-vector products are exact
 *   R-operator products in float32; the driver's Lanczos runs in float64 on top of them.
 * - Only d = 2, C = 3 (the spirals of SCIENCE.md) run in wasm; other shapes fall back to the float64
 *   reference kernel (backend 'float64'), so a sweep never fails on shape.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { packLossFamily, type KernelData, type KernelFactory, type KernelInit, type PackKernel, type SplitMetrics } from '../kernel.js';
import { lossFamily, type LossName } from '../types.js';
import { paramCount } from '../model.js';
import { createReferenceKernel } from './reference-kernel.js';

export const FAST_BACKEND = 'wasm-simd';
const LANES = 4;
const V = 16; // bytes per v128

// The project's lib (ES2022, no DOM) does not declare WebAssembly; the little used here, typed locally.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
const WASM = (globalThis as unknown as {
  WebAssembly: {
    compile(bytes: Uint8Array): Promise<WasmModule>;
    instantiate(module: WasmModule, imports: Record<string, Record<string, unknown>>): Promise<WasmInstance>;
  };
}).WebAssembly;

interface FastExports {
  memory: WasmMemory;
  heapBase(): number;
  stepBlock(
    th: number, grad: number, lr: number, act: number, om: number,
    x: number, y: number, n: number, w: number, ce: number, dz: number, lossOut: number, update: number,
  ): void;
  evalBlock(th: number, om: number, x: number, y: number, n: number, w: number, ce: number, out: number): void;
  hvpPrepBlock(th: number, om: number, x: number, y: number, n: number, w: number, ce: number, pp: number, dz: number, D: number): void;
  hvpCachedBlock(
    th: number, v: number, out: number, om: number, x: number, n: number, w: number, ce: number,
    y: number, pp: number, dz: number, D: number, rdz: number, E: number,
  ): void;
}

/** Where the built module may be: next to dist/core/engines (built) or dist/ from the sources (tests). */
export function fastWasmCandidates(): string[] {
  return [
    fileURLToPath(new URL('../../wasm/fast-kernel.wasm', import.meta.url)),
    fileURLToPath(new URL('../../dist/wasm/fast-kernel.wasm', import.meta.url)),
  ];
}

let modulePromise: Promise<WasmModule> | null = null;

/** The compiled wasm module (compiled once per process). */
export function fastModule(): Promise<WasmModule> {
  if (!modulePromise) {
    const path = fastWasmCandidates().find((p) => existsSync(p));
    if (!path) {
      return Promise.reject(
        new Error(`fast engine: wasm module not built (looked for ${fastWasmCandidates().join(', ')}); run \`npm run asbuild\``),
      );
    }
    modulePromise = WASM.compile(readFileSync(path));
  }
  return modulePromise;
}

/** Whether this process can run the fast kernel (module built and wasm SIMD supported). */
export async function fastAvailable(): Promise<boolean> {
  try {
    await fastModule();
    return true;
  } catch {
    return false;
  }
}

const align = (n: number) => Math.ceil(n / 64) * 64;

type MseWeighting = 'none' | 'sample' | 'output';

function mseWeighting(loss: LossName): MseWeighting {
  return loss === 'dmse1' ? 'sample' : loss === 'dmse2' ? 'output' : 'none';
}

class FastKernel implements PackKernel {
  readonly backend = FAST_BACKEND;
  readonly size: number;
  readonly paramCount: number;
  private readonly ex: FastExports;
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private readonly i32: Int32Array;
  private readonly blocks: number;
  private readonly w: number;
  private readonly ce: number;
  private readonly weighting: MseWeighting[];
  private readonly lr: Float64Array;
  private readonly nTrain: number;
  private readonly nVal: number;
  // Byte offsets into wasm memory.
  private readonly pTheta: number;
  private readonly pGrad: number;
  private readonly pVin: number;
  private readonly pVout: number;
  private readonly pOm: number;
  private readonly pOnes: number;
  private readonly pLr: number;
  private readonly pAct: number;
  private readonly pLoss: number;
  private readonly pEval: number;
  private readonly pDz: number;
  private readonly pRdz: number;
  // hvp cache (per block): softmax p and dz per sample, moments D per hidden unit; E scratch.
  private readonly pCacheP: number;
  private readonly pCacheDz: number;
  private readonly pCacheD: number;
  private readonly pE: number;
  private readonly cacheBytesN: number;
  private readonly cacheBytesW: number;
  /** Bumped whenever parameters change; the hvp cache is valid for one (version, gammas). */
  private version = 0;
  private cacheVersion = -1;
  private readonly cacheGammas: Float64Array;
  /** Blocks whose hvp cache is filled for (cacheVersion, cacheGammas). */
  private readonly cacheReady: Uint8Array;
  private readonly pTx: number;
  private readonly pTy: number;
  private readonly pVx: number;
  private readonly pVy: number;
  private readonly blockBytes: number;

  constructor(init: KernelInit, instance: WasmInstance) {
    const { width, train, validation, trials } = init;
    this.ex = instance.exports as unknown as FastExports;
    const K = trials.length;
    this.size = K;
    this.w = width;
    this.paramCount = paramCount(width, train.classes, train.d);
    const P = this.paramCount;
    this.blocks = Math.ceil(K / LANES);
    this.ce = lossFamily(trials[0].loss) === 'ce' ? 1 : 0; // one family per pack: createFastKernel checked
    this.weighting = trials.map((t) => mseWeighting(t.loss));
    this.lr = Float64Array.from(trials, (t) => t.lr);
    this.nTrain = train.n;
    this.nVal = validation.n;
    const Kb = this.blocks;
    this.blockBytes = P * V;
    let off = align(this.ex.heapBase());
    const take = (bytes: number) => {
      const at = off;
      off = align(off + bytes);
      return at;
    };
    this.pTheta = take(Kb * this.blockBytes);
    this.pGrad = take(Kb * this.blockBytes);
    this.pVin = take(Kb * this.blockBytes);
    this.pVout = take(Kb * this.blockBytes);
    this.pOm = take(Kb * 9 * V);
    this.pOnes = take(9 * V);
    this.pLr = take(Kb * V);
    this.pAct = take(Kb * V);
    this.pLoss = take(Kb * 32);
    this.pEval = take(Kb * 96);
    const nMax = Math.max(train.n, validation.n);
    this.pDz = take(nMax * 3 * V);
    this.pRdz = take(nMax * 3 * V);
    this.cacheBytesN = train.n * 3 * V;
    this.cacheBytesW = width * 9 * V;
    this.pCacheP = take(Kb * this.cacheBytesN);
    this.pCacheDz = take(Kb * this.cacheBytesN);
    this.pCacheD = take(Kb * this.cacheBytesW);
    this.pE = take(this.cacheBytesW);
    this.cacheGammas = new Float64Array(K * 3);
    this.cacheReady = new Uint8Array(this.blocks);
    this.pTx = take(train.n * 8);
    this.pTy = take(train.n * 4);
    this.pVx = take(validation.n * 8);
    this.pVy = take(validation.n * 4);
    const mem = this.ex.memory;
    const need = off - mem.buffer.byteLength;
    if (need > 0) mem.grow(Math.ceil(need / 65536));
    this.f32 = new Float32Array(mem.buffer);
    this.f64 = new Float64Array(mem.buffer);
    this.i32 = new Int32Array(mem.buffer);
    this.f32.fill(0, this.pTheta / 4, off / 4);
    this.f32.fill(1, this.pOnes / 4, this.pOnes / 4 + 9 * LANES);
    this.writeData(train, this.pTx, this.pTy);
    this.writeData(validation, this.pVx, this.pVy);
    trials.forEach((t, k) => {
      if (t.theta.length !== P) throw new Error(`fast kernel: trial ${k} has ${t.theta.length} params, expected ${P}`);
      this.setParams(k, t.theta);
    });
  }

  private writeData(data: KernelData, px: number, py: number): void {
    this.f32.set(data.x, px / 4); // float64 -> float32
    this.i32.set(data.y, py / 4);
  }

  /** Class-weight tables om[y][c] per block from gammas (K * 3), see asm/fast-kernel.ts. */
  private writeWeights(gammas: Float64Array): void {
    const f = this.f32;
    const base = this.pOm / 4;
    for (let k = 0; k < this.blocks * LANES; k++) {
      const b = Math.floor(k / LANES);
      const lane = k % LANES;
      const real = k < this.size;
      const wt = real ? this.weighting[k] : 'none';
      for (let y = 0; y < 3; y++) {
        for (let c = 0; c < 3; c++) {
          let v = 1;
          if (real) {
            if (this.ce) v = gammas[k * 3 + y];
            else if (wt === 'sample') v = gammas[k * 3 + y];
            else if (wt === 'output') v = gammas[k * 3 + c];
          }
          f[base + b * 9 * LANES + (y * 3 + c) * LANES + lane] = v;
        }
      }
    }
  }

  step(gammas: Float64Array, active: Uint8Array): Float64Array {
    this.version++;
    this.writeWeights(gammas);
    const f = this.f32;
    const i = this.i32;
    for (let k = 0; k < this.blocks * LANES; k++) {
      const on = k < this.size && active[k] === 1;
      f[this.pLr / 4 + k] = on ? this.lr[k] : 0;
      i[this.pAct / 4 + k] = on ? -1 : 0;
    }
    const ex = this.ex;
    for (let b = 0; b < this.blocks; b++) {
      ex.stepBlock(
        this.pTheta + b * this.blockBytes, 0, this.pLr + b * V, this.pAct + b * V, this.pOm + b * 9 * V,
        this.pTx, this.pTy, this.nTrain, this.w, this.ce, this.pDz, this.pLoss + b * 32, 1,
      );
    }
    return this.f64.slice(this.pLoss / 8, this.pLoss / 8 + this.size);
  }

  gradient(gammas: Float64Array): Float64Array {
    this.writeWeights(gammas);
    const ex = this.ex;
    for (let b = 0; b < this.blocks; b++) {
      ex.stepBlock(
        this.pTheta + b * this.blockBytes, this.pGrad + b * this.blockBytes, this.pLr + b * V, this.pAct + b * V,
        this.pOm + b * 9 * V, this.pTx, this.pTy, this.nTrain, this.w, this.ce, this.pDz, this.pLoss + b * 32, 0,
      );
    }
    return this.readPacked(this.pGrad);
  }

  evaluate(split: 'train' | 'validation', gammas: Float64Array): SplitMetrics {
    this.writeWeights(gammas);
    const train = split === 'train';
    const ex = this.ex;
    for (let b = 0; b < this.blocks; b++) {
      ex.evalBlock(
        this.pTheta + b * this.blockBytes, this.pOm + b * 9 * V,
        train ? this.pTx : this.pVx, train ? this.pTy : this.pVy, train ? this.nTrain : this.nVal,
        this.w, this.ce, this.pEval + b * 96,
      );
    }
    const K = this.size;
    const loss = new Float64Array(K);
    const lossStatic = new Float64Array(K);
    const acc = new Float64Array(K);
    const e = this.f64;
    for (let k = 0; k < K; k++) {
      const base = this.pEval / 8 + Math.floor(k / LANES) * 12 + (k % LANES);
      loss[k] = e[base];
      lossStatic[k] = e[base + 4];
      acc[k] = e[base + 8];
    }
    return { loss, lossStatic, acc };
  }

  hvp(v: Float64Array, gammas: Float64Array, active?: Uint8Array): Float64Array {
    const K = this.size;
    const P = this.paramCount;
    if (v.length !== K * P) throw new Error(`hvp: v has length ${v.length}, expected ${K * P}`);
    // A block runs when any of its trials is needed (batched early exit of converged trials).
    const run = new Uint8Array(this.blocks);
    for (let k = 0; k < K; k++) if (!active || active[k] === 1) run[Math.floor(k / LANES)] = 1;
    this.writeWeights(gammas);
    this.writePacked(this.pVin, v, run);
    const ex = this.ex;
    if (!this.cacheValid(gammas)) {
      this.cacheReady.fill(0);
      this.cacheVersion = this.version;
      this.cacheGammas.set(gammas);
    }
    for (let b = 0; b < this.blocks; b++) {
      if (!run[b] || this.cacheReady[b]) continue;
      ex.hvpPrepBlock(
        this.pTheta + b * this.blockBytes, this.pOm + b * 9 * V, this.pTx, this.pTy, this.nTrain, this.w, this.ce,
        this.pCacheP + b * this.cacheBytesN, this.pCacheDz + b * this.cacheBytesN, this.pCacheD + b * this.cacheBytesW,
      );
      this.cacheReady[b] = 1;
    }
    for (let b = 0; b < this.blocks; b++) {
      if (!run[b]) continue;
      ex.hvpCachedBlock(
        this.pTheta + b * this.blockBytes, this.pVin + b * this.blockBytes, this.pVout + b * this.blockBytes,
        this.pOm + b * 9 * V, this.pTx, this.nTrain, this.w, this.ce, this.pTy,
        this.pCacheP + b * this.cacheBytesN, this.pCacheDz + b * this.cacheBytesN, this.pCacheD + b * this.cacheBytesW,
        this.pRdz, this.pE,
      );
    }
    return this.readPacked(this.pVout, run);
  }

  private cacheValid(gammas: Float64Array): boolean {
    if (this.cacheVersion !== this.version) return false;
    for (let i = 0; i < gammas.length; i++) if (gammas[i] !== this.cacheGammas[i]) return false;
    return true;
  }

  getParams(k: number): Float64Array {
    const P = this.paramCount;
    const out = new Float64Array(P);
    const f = this.f32;
    let src = this.pTheta / 4 + Math.floor(k / LANES) * P * LANES + (k % LANES);
    for (let i = 0; i < P; i++, src += LANES) out[i] = f[src];
    return out;
  }

  setParams(k: number, theta: Float64Array): void {
    const P = this.paramCount;
    if (theta.length !== P) throw new Error('setParams: wrong length');
    this.version++;
    const f = this.f32;
    let dst = this.pTheta / 4 + Math.floor(k / LANES) * P * LANES + (k % LANES);
    for (let i = 0; i < P; i++, dst += LANES) f[dst] = theta[i];
  }

  dispose(): void {
    // The instance and its memory are garbage once unreferenced.
  }

  /** K * P float64 from a packed float32 region (padding lanes dropped; blocks with run[b] = 0 left at zero). */
  private readPacked(at: number, run?: Uint8Array): Float64Array {
    const K = this.size;
    const P = this.paramCount;
    const out = new Float64Array(K * P);
    const f = this.f32;
    for (let k = 0; k < K; k++) {
      if (run && !run[Math.floor(k / LANES)]) continue;
      let src = at / 4 + Math.floor(k / LANES) * P * LANES + (k % LANES);
      for (let i = 0, o = k * P; i < P; i++, src += LANES) out[o + i] = f[src];
    }
    return out;
  }

  private writePacked(at: number, v: Float64Array, run?: Uint8Array): void {
    const K = this.size;
    const P = this.paramCount;
    const f = this.f32;
    for (let k = 0; k < K; k++) {
      if (run && !run[Math.floor(k / LANES)]) continue;
      let dst = at / 4 + Math.floor(k / LANES) * P * LANES + (k % LANES);
      for (let i = 0, o = k * P; i < P; i++, dst += LANES) f[dst] = v[o + i];
    }
  }
}

export const createFastKernel: KernelFactory = async (init: KernelInit): Promise<PackKernel> => {
  packLossFamily(init, 'fast kernel');
  if (init.train.d !== 2 || init.train.classes !== 3 || init.validation.d !== 2 || init.validation.classes !== 3) {
    return createReferenceKernel(init);
  }
  const instance = await WASM.instantiate(await fastModule(), {
    env: {
      abort: () => {
        throw new Error('fast kernel: wasm abort');
      },
    },
  });
  return new FastKernel(init, instance);
};
