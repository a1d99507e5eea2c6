/**
 * The `fast` kernel: WebAssembly SIMD (f32x4), compiled at build time by AssemblyScript from asm/fast-kernel.ts
 * into dist/wasm/fast-kernel.wasm (`npm run asbuild`, run by `npm run build`). Design notes: docs/performance.md.
 *
 * - One wasm instance (with its own linear memory) per kernel; all buffers live in that memory, so the step
 *   loop makes no JS <-> wasm copies: `step` writes the lr/mask/weight vectors of each block and reads K losses.
 * - Trials are packed 4 per f32x4 (one trial per lane); K is padded to a multiple of 4 with inert lanes
 *   (zero parameters, zero learning rate, masked out of every update).
 * - float32 parameters and arithmetic (losses accumulated in float64). Hessian-vector products are exact
 *   R-operator products in float32; the driver's Lanczos runs in float64 on top of them. For the spirals at 64 units
 *   and 100,000 (sample, unit) pairs and more (flipCapacity) a product's sums run along a tour of the samples in
 *   float64, lane by lane (native/spirals.h "Products along a sample tour").
 * - Any shape (d inputs, C classes). Two sets of wasm kernels, chosen per shape: d = 2, C = 3 (the spirals)
 *   recompute the hidden activations in every pass and keep the logits in registers, with a cached hvp; every
 *   other shape stores the activations of a chunk of samples (the first layer is a real GEMM) on a padded
 *   layout (inputs to an even count, hidden units to a multiple of 4), see asm/fast-kernel.ts "Any shape".
 * - The spirals kernels also exist as a native addon (native/, built by scripts/build-native-kernel.sh into
 *   dist/native/fast-kernel.node when g++ is there): the same operations lane for lane on AVX2 (8 trials per vector)
 *   or AVX-512 (16), so the same numbers bit for bit (test/unit/fast-native.test.ts), faster. Chosen per kernel
 *   (`fastIsaFor`): for d = 2, C = 3 the narrowest kernel whose lanes hold the pack (wasm's 4, then 8, then 16) among
 *   those built and run by this CPU; wasm for every other shape; `backend` says which ran.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { packLossFamily, type KernelData, type KernelFactory, type KernelInit, type PackKernel, type SplitMetrics } from '../kernel.js';
import { lossFamily, type LossName } from '../types.js';
import { paramCount } from '../model.js';
import { nativeAddon } from '../native.js';
import { sampleTour } from './sample-tour.js';

export const FAST_BACKEND = 'wasm-simd';
/** Trials per v128 in the wasm kernel. */
const WASM_LANES = 4;

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

/** The spirals kernels (d = 2, C = 3), in wasm and in the native addon alike (arguments are byte offsets). */
interface SpiralsExports {
  stepBlock(
    th: number, grad: number, lr: number, act: number, om: number,
    x: number, y: number, n: number, w: number, ce: number, dz: number, lossOut: number, update: number,
  ): void;
  evalBlock(th: number, om: number, x: number, y: number, n: number, w: number, ce: number, out: number): void;
  /**
   * The hvp cache's part that depends on the block's parameters alone (its samples in tour order, sampleTour): per
   * sample pp (softmax p, or the logits for the mse family), the flip lists fl / fo / ok of native/spirals.h
   * `FlipLists` (cap entries per lane; prev: scratch of w int32) and, for the lanes with lists, p lane-major in ppl.
   * `mk`: the native kernels' mask cache (Machine.maskBytes per sample and unit); the wasm kernels recompute
   * their masks and declare no such parameter (a wasm export ignores extra arguments).
   */
  hvpStateBlock(
    th: number, x: number, n: number, w: number, ce: number, pp: number, fl: number, fo: number, ok: number,
    cap: number, prev: number, ppl: number, mk: number,
  ): void;
  /**
   * The part that depends on the class weights (om) too: dz per sample and the moments D per unit, from the state
   * part (scratch: perLaneN, 3 n float32, and hvpCachedBlock's perLaneW and Ed).
   */
  hvpWeightsBlock(
    th: number, om: number, x: number, y: number, n: number, w: number, ce: number, pp: number, dz: number, D: number,
    fl: number, fo: number, ok: number, cap: number, perLaneN: number, perLaneW: number, Ed: number, mk: number,
  ): void;
  /**
   * out = H v of a block from its cache (ppl: hvpStateBlock's lane-major p). Scratch: rdz, E; per lane tab (2 w rows of
   * FLIP_ROW float64) and perLaneW (9 w float32); Ed (w rows of FLIP_ROW float64).
   */
  hvpCachedBlock(
    th: number, v: number, out: number, om: number, x: number, n: number, w: number, ce: number,
    y: number, pp: number, D: number, rdz: number, E: number, fl: number, fo: number, ok: number, cap: number,
    tab: number, ppl: number, perLaneW: number, Ed: number, mk: number,
  ): void;
}

interface FastExports extends SpiralsExports {
  memory: WasmMemory;
  heapBase(): number;
  stepAny(
    th: number, grad: number, lr: number, act: number, om: number, x: number, y: number, np: number, n: number,
    dp: number, wp: number, C: number, ce: number, S: number, H: number, G: number, Z: number, Dz: number,
    lossOut: number, update: number,
  ): void;
  evalAny(
    th: number, om: number, x: number, y: number, np: number, n: number, dp: number, wp: number, C: number,
    ce: number, S: number, H: number, Z: number, out: number,
  ): void;
  hvpAny(
    th: number, v: number, out: number, om: number, x: number, y: number, np: number, n: number, dp: number,
    wp: number, C: number, ce: number, S: number, H: number, RH: number, RdA: number, Z: number, Dz: number,
    P: number, Rz: number, Rdz: number, loss: number,
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

type NativeIsa = 'avx2' | 'avx512';
/** Which kernel runs a pack: the WebAssembly one or the native addon's for an instruction set. */
export type FastIsa = 'wasm' | NativeIsa;

/** One instruction set's kernels in the addon: the wasm exports' arguments, after the kernel's memory. */
type NativeKernels = { lanes: number } & {
  [F in keyof SpiralsExports]: (memory: ArrayBuffer, ...args: Parameters<SpiralsExports[F]>) => void;
};

/** Trial vectors into and out of a packed region (byte offset `at`, identity slot layout), blocks with run[b] = 1. */
type Transpose = (memory: ArrayBuffer, at: number, v: Float64Array, K: number, P: number, lanes: number, slots: number, run: Uint8Array) => void;

/** native/addon.cc. */
interface NativeAddon {
  /** A zeroed, 64-byte aligned ArrayBuffer of `bytes`. */
  alloc(bytes: number): ArrayBuffer;
  /** writePacked / readPacked of the spirals layout, natively (the same numbers). */
  packTrials: Transpose;
  unpackTrials: Transpose;
  /** The instruction sets this CPU runs, best last. */
  isas: NativeIsa[];
  avx2?: NativeKernels;
  avx512?: NativeKernels;
}

/** The native addon (core/native.ts), or null (and why) when it is not built or does not load here. */
export function fastNative(): { addon: NativeAddon | null; why: string } {
  const { addon, why } = nativeAddon();
  return { addon: addon as NativeAddon | null, why };
}

const ISAS: readonly FastIsa[] = ['wasm', 'avx2', 'avx512'];

/**
 * The kernel for a pack of K trials of a shape. Only the spirals kernels (d = 2, C = 3) exist natively; every other
 * shape runs wasm. `choice` is DYNSWEEP_FAST_KERNEL: auto (default: the narrowest kernel whose lanes hold the K
 * trials, of wasm's 4 and the addon's 8 (avx2) and 16 (avx512) that this CPU runs, else the widest: a vector of
 * 16 costs ~1.4 times one of 4, so a single trial is fastest on 4 lanes and a pack of 16 on 16), wasm, avx2 or
 * avx512 (those two: an error when not available here). Every choice gives the same numbers; the record's backend
 * names the one that ran.
 */
export function fastIsaFor(d: number, C: number, K = Infinity, choice = process.env.DYNSWEEP_FAST_KERNEL ?? 'auto'): FastIsa {
  if (choice !== 'auto' && !ISAS.includes(choice as FastIsa)) {
    throw new Error(`DYNSWEEP_FAST_KERNEL must be auto, ${ISAS.join(', ')}; got '${choice}'`);
  }
  if (!(d === 2 && C === 3) || choice === 'wasm') return 'wasm';
  const { addon, why } = fastNative();
  if (choice === 'auto') {
    let best: FastIsa = 'wasm';
    let lanes = WASM_LANES;
    for (const isa of addon?.isas ?? []) {
      if (lanes >= K) break;
      best = isa;
      lanes = (addon?.[isa] as NativeKernels).lanes;
    }
    return best;
  }
  if (!addon) throw new Error(`DYNSWEEP_FAST_KERNEL=${choice}: the native kernel is ${why}`);
  if (!addon.isas.includes(choice as NativeIsa)) {
    throw new Error(`DYNSWEEP_FAST_KERNEL=${choice}: this CPU runs ${addon.isas.join(', ') || 'none of the native instruction sets'}`);
  }
  return choice as FastIsa;
}

/** The record's backend for a kernel. */
export function fastBackendOf(isa: FastIsa): string {
  return isa === 'wasm' ? FAST_BACKEND : `native-${isa}`;
}

/** Where a kernel computes: its lanes, its memory and its kernels over that memory. */
interface Machine {
  readonly backend: string;
  /** Trials per vector. */
  readonly lanes: number;
  /** First byte the kernel may use. */
  readonly base: number;
  /** Most bytes of memory. */
  readonly maxBytes: number;
  /** The kernel's memory, at least `bytes` long. */
  memory(bytes: number): ArrayBuffer;
  /** Bytes of one lane mask in the hvp's mask cache (0: the kernel keeps none). */
  readonly maskBytes: number;
  /** Native writePacked / readPacked of the spirals layout, where the machine has them. */
  readonly transposes?: { pack: Transpose; unpack: Transpose };
  spirals(memory: ArrayBuffer): SpiralsExports;
  /** The any-shape kernels (wasm only). */
  readonly any: FastExports | null;
}

async function wasmMachine(): Promise<Machine> {
  const instance = await WASM.instantiate(await fastModule(), {
    env: {
      abort: () => {
        throw new Error('fast kernel: wasm abort');
      },
    },
  });
  const ex = instance.exports as unknown as FastExports;
  return {
    backend: FAST_BACKEND,
    lanes: WASM_LANES,
    base: ex.heapBase(),
    maxBytes: MAX_WASM_BYTES,
    maskBytes: 0,
    memory(bytes) {
      const need = bytes - ex.memory.buffer.byteLength;
      if (need > 0) ex.memory.grow(Math.ceil(need / 65536));
      return ex.memory.buffer;
    },
    spirals: () => ex,
    any: ex,
  };
}

function nativeMachine(isa: NativeIsa): Machine {
  const addon = fastNative().addon as NativeAddon;
  const k = addon[isa] as NativeKernels;
  return {
    backend: fastBackendOf(isa),
    lanes: k.lanes,
    base: 0,
    maxBytes: Number.MAX_SAFE_INTEGER,
    memory: (bytes) => addon.alloc(Math.max(bytes, 64)),
    maskBytes: k.lanes / 8,
    transposes: { pack: addon.packTrials, unpack: addon.unpackTrials },
    spirals: (memory) => ({
      stepBlock: k.stepBlock.bind(null, memory),
      evalBlock: k.evalBlock.bind(null, memory),
      hvpStateBlock: k.hvpStateBlock.bind(null, memory),
      hvpWeightsBlock: k.hvpWeightsBlock.bind(null, memory),
      hvpCachedBlock: k.hvpCachedBlock.bind(null, memory),
    }),
    any: null,
  };
}

const align = (n: number) => Math.ceil(n / 64) * 64;

type MseWeighting = 'none' | 'sample' | 'output';

function mseWeighting(loss: LossName): MseWeighting {
  return loss === 'dmse1' ? 'sample' : loss === 'dmse2' ? 'output' : 'none';
}

/** float64 per 3 x 3 term in the flip path's scratch (native/spirals.h kRow). */
const FLIP_ROW = 12;

/**
 * Where the products run along the sample tour: layers of FLIP_MIN_UNITS units or more whose training set has
 * FLIP_MIN_PAIRS (sample, unit) pairs or more (elsewhere flip lists of capacity 0: the masked sums). Measured on the
 * spirals in training runs (K = 16, AVX-512, `sharpness-overhead.js --steps 500`, docs/performance.md "Products along
 * a sample tour"): a lane's masks change at about a 25th of the pairs along the tour at 300 points and a 93rd at
 * 3,000; sharpness every 25 steps, masked sums -> tour, ce / dce: R1 (300 points, w 100, 30,000 pairs) +68% / +128%
 * -> +70% / +131%; R2 (w 1000, 300,000 pairs) +63% / +124% -> +56% / +108%; R3 (3,000 points, w 100) +43% / +86% ->
 * +27% / +53%. Narrow layers lose at every size (micro-benchmarks at w 20-30: a tour's cost per sample is what the
 * masked sums spend on about 50 units).
 */
export const FLIP_MIN_UNITS = 64;
export const FLIP_MIN_PAIRS = 100_000;

/**
 * Entries of a lane's flip list (native/spirals.h FlipLists) for n samples and w units: 0 outside the sizes above, else
 * room for masks changing at an eighth of the pairs (a lane whose masks change more often runs the masked sums, as
 * cheap there), at most 2^20 (4 MiB per lane). A function of n and w alone, so whether a trial takes the tour does
 * not depend on the machine, the lane count or its block mates.
 */
export function flipCapacity(n: number, w: number): number {
  return w < FLIP_MIN_UNITS || n * w < FLIP_MIN_PAIRS ? 0 : Math.min(Math.ceil((n * w) / 8) + w, 2 ** 20);
}

/** Bytes of wasm linear memory at most (32-bit addresses: 65536 pages of 64 KiB). */
const MAX_WASM_BYTES = 65536 * 65536;

/**
 * How a shape is laid out in a block: the spirals kernels (d = 2, C = 3) use the flat layout of core/kernel.ts
 * as is; every other shape pads inputs to an even count and hidden units to a multiple of 4.
 */
interface Layout {
  spirals: boolean;
  d: number;
  C: number;
  dp: number;
  wp: number;
  /** v128 parameters of a block. */
  slots: number;
  /** Flat index (core/kernel.ts layout) -> slot in a block. */
  slotOf: Int32Array;
  /** Samples per chunk (any-shape kernels): the chunk's activations stay in L1/L2. */
  chunk: number;
}

function layoutOf(d: number, C: number, w: number): Layout {
  const spirals = d === 2 && C === 3;
  const dp = spirals ? d : Math.ceil(d / 2) * 2;
  // Hidden units padded to 4q; for wide layers q odd, so that walking a column of W1 (stride wp vectors = q cache
  // lines) visits every L1 set instead of a few (w = 256: 4 KiB strides, measured 2x slower).
  const q = Math.ceil(w / 4);
  const wp = spirals ? w : 4 * (q >= 16 && q % 2 === 0 ? q + 1 : q);
  const slots = dp * wp + wp + wp * C + C;
  const P = paramCount(w, C, d);
  const slotOf = new Int32Array(P);
  const b1 = dp * wp;
  const W2 = b1 + wp;
  const b2 = W2 + wp * C;
  let i = 0;
  for (let r = 0; r < d; r++) for (let j = 0; j < w; j++) slotOf[i++] = r * wp + j;
  for (let j = 0; j < w; j++) slotOf[i++] = b1 + j;
  for (let j = 0; j < w; j++) for (let c = 0; c < C; c++) slotOf[i++] = W2 + j * C + c;
  for (let c = 0; c < C; c++) slotOf[i++] = b2 + c;
  // Three chunk-sized activation buffers of chunk x wp vectors, ~64 KiB each; an even count (2-sample tiles).
  const chunk = Math.max(2, Math.min(64, Math.floor(4096 / wp / 2) * 2));
  return { spirals, d, C, dp, wp, slots, slotOf, chunk };
}

/** A split in wasm memory: inputs (float32, rows of dp) and labels (-1 for padding samples). */
interface Split {
  n: number;
  /** Samples including padding (any-shape kernels: an even count). */
  np: number;
  px: number;
  py: number;
}

class FastKernel implements PackKernel {
  readonly backend: string;
  readonly size: number;
  readonly paramCount: number;
  private readonly ex: SpiralsExports;
  private readonly memory: ArrayBuffer;
  /** The machine's native writePacked / readPacked (spirals layout only: slotOf is the identity there). */
  private readonly transposes?: { pack: Transpose; unpack: Transpose };
  private readonly allBlocks: Uint8Array;
  /** The any-shape kernels (shapes other than the spirals'; wasm). */
  private readonly anyEx: FastExports | null;
  /** Trials per vector and bytes per vector. */
  private readonly lanes: number;
  private readonly V: number;
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private readonly i32: Int32Array;
  private readonly L: Layout;
  private readonly blocks: number;
  private readonly w: number;
  private readonly ce: number;
  private readonly weighting: MseWeighting[];
  private readonly lr: Float64Array;
  private readonly train: Split;
  private readonly validation: Split;
  /** The training split again in tour order, for the spirals kernels' Hessian-vector products (with flip lists). */
  private readonly tourTrain: Split | null;
  // Byte offsets into wasm memory.
  private readonly pTheta: number;
  private readonly pGrad: number;
  private readonly pVin: number;
  private readonly pVout: number;
  private readonly pOm: number;
  private readonly omBytes: number;
  private readonly pLr: number;
  private readonly pAct: number;
  private readonly pLoss: number;
  private readonly pEval: number;
  // Spirals kernels: dz scratch; hvp cache (per block): softmax p and dz per sample, moments D per unit; E scratch.
  private readonly pDz: number;
  private readonly pRdz: number;
  private readonly pCacheP: number;
  private readonly pCacheDz: number;
  private readonly pCacheD: number;
  private readonly pCacheMask: number;
  // The flip path: per block the lists (cap per lane), their starts (n + 2 per lane) and ok flags; scratch.
  private readonly flipCap: number;
  private readonly pFlips: number;
  private readonly pFlipStarts: number;
  private readonly pFlipOk: number;
  private readonly flipBytes: number;
  private readonly flipStartBytes: number;
  private readonly pPrev: number;
  private readonly pTab: number;
  private readonly pCachePL: number;
  private readonly pPerLaneN: number;
  private readonly pPerLaneW: number;
  private readonly pEd: number;
  private readonly pE: number;
  private readonly cacheBytesN: number;
  private readonly cacheBytesW: number;
  private readonly cacheBytesMask: number;
  // Any-shape kernels: chunk scratch (three activation buffers, five per-class buffers, a discarded loss).
  private readonly pH: number;
  private readonly pG: number;
  private readonly pG2: number;
  private readonly pZ: number;
  private readonly pDzc: number;
  private readonly pPc: number;
  private readonly pRz: number;
  private readonly pRdzc: number;
  private readonly pLossScratch: number;
  /** Bumped whenever parameters change; the hvp cache is valid for one (version, gammas). */
  private version = 0;
  private cacheVersion = -1;
  private readonly cacheGammas: Float64Array;
  /** Blocks whose hvp cache is filled for (cacheVersion, cacheGammas), and whose state part for cacheVersion. */
  private readonly cacheReady: Uint8Array;
  private readonly stateReady: Uint8Array;
  private readonly blockBytes: number;

  constructor(init: KernelInit, machine: Machine) {
    const { width, train, validation, trials } = init;
    this.backend = machine.backend;
    this.lanes = machine.lanes;
    const LANES = this.lanes;
    const V = (this.V = 4 * LANES);
    const K = trials.length;
    const C = train.classes;
    this.size = K;
    this.w = width;
    this.paramCount = paramCount(width, C, train.d);
    const P = this.paramCount;
    const L = layoutOf(train.d, C, width);
    this.L = L;
    this.blocks = Math.ceil(K / LANES);
    this.ce = lossFamily(trials[0].loss) === 'ce' ? 1 : 0; // one family per pack: createFastKernel checked
    this.weighting = trials.map((t) => mseWeighting(t.loss));
    this.lr = Float64Array.from(trials, (t) => t.lr);
    const Kb = this.blocks;
    this.blockBytes = L.slots * V;
    this.omBytes = C * C * V;
    let off = align(machine.base);
    const take = (bytes: number) => {
      const at = off;
      off = align(off + bytes);
      return at;
    };
    this.pTheta = take(Kb * this.blockBytes);
    this.pGrad = take(Kb * this.blockBytes);
    this.pVin = take(Kb * this.blockBytes);
    this.pVout = take(Kb * this.blockBytes);
    this.pOm = take(Kb * this.omBytes);
    this.pLr = take(Kb * V);
    this.pAct = take(Kb * V);
    this.pLoss = take(Kb * 8 * LANES);
    this.pEval = take(Kb * 24 * LANES);
    const nMax = Math.max(train.n, validation.n);
    const sp = L.spirals;
    this.pDz = take(sp ? nMax * 3 * V : 0);
    this.pRdz = take(sp ? nMax * 3 * V : 0);
    this.cacheBytesN = sp ? train.n * 3 * V : 0;
    this.cacheBytesW = sp ? width * 9 * V : 0;
    this.pCacheP = take(Kb * this.cacheBytesN);
    this.pCacheDz = take(Kb * this.cacheBytesN);
    this.pCacheD = take(Kb * this.cacheBytesW);
    this.cacheBytesMask = align(sp ? train.n * width * machine.maskBytes : 0);
    this.pCacheMask = take(Kb * this.cacheBytesMask);
    this.flipCap = sp ? flipCapacity(train.n, width) : 0;
    const tourOn = this.flipCap > 0; // else the kernels only write the ok flags (all 0)
    this.flipBytes = align(this.flipCap * LANES * 4);
    this.flipStartBytes = align(tourOn ? (train.n + 2) * LANES * 4 : 0);
    this.pFlips = take(Kb * this.flipBytes);
    this.pFlipStarts = take(Kb * this.flipStartBytes);
    this.pFlipOk = take(Kb * LANES * 4);
    this.pPrev = take(tourOn ? width * 4 : 0);
    this.pTab = take(tourOn ? 2 * width * FLIP_ROW * 8 * LANES : 0);
    this.pCachePL = take(tourOn ? Kb * this.cacheBytesN : 0);
    this.pPerLaneN = take(tourOn ? 3 * train.n * 4 : 0);
    this.pPerLaneW = take(tourOn ? 9 * width * 4 * LANES : 0);
    this.pEd = take(tourOn ? width * FLIP_ROW * 8 : 0);
    this.pE = take(this.cacheBytesW);
    const act = sp ? 0 : L.chunk * L.wp * V;
    const cls = sp ? 0 : L.chunk * C * V;
    this.pH = take(act);
    this.pG = take(act);
    this.pG2 = take(act);
    this.pZ = take(cls);
    this.pDzc = take(cls);
    this.pPc = take(cls);
    this.pRz = take(cls);
    this.pRdzc = take(cls);
    this.pLossScratch = take(32);
    const placeSplit = (data: KernelData): Split => {
      const np = sp ? data.n : data.n + (data.n % 2);
      return { n: data.n, np, px: take(np * L.dp * 4), py: take(np * 4) };
    };
    this.train = placeSplit(train);
    this.validation = placeSplit(validation);
    const tour = tourOn ? sampleTour(train.x, train.n) : null;
    this.tourTrain = tourOn ? placeSplit(train) : null;
    this.cacheGammas = new Float64Array(K * C);
    this.cacheReady = new Uint8Array(this.blocks);
    this.stateReady = new Uint8Array(this.blocks);
    if (off > machine.maxBytes) {
      throw new Error(
        `fast kernel: a pack of ${K} trials at width ${width} (d = ${train.d}, C = ${C}, ${nMax} points) needs ` +
          `${Math.ceil(off / 2 ** 20)} MiB of wasm memory, more than its 4 GiB; use a smaller packSize or width`,
      );
    }
    const memory = machine.memory(off);
    this.memory = memory;
    this.transposes = sp ? machine.transposes : undefined;
    this.allBlocks = new Uint8Array(this.blocks).fill(1);
    this.ex = machine.spirals(memory);
    this.anyEx = machine.any;
    if (!sp && !this.anyEx) throw new Error(`fast kernel: the ${this.backend} kernel has no kernels for d = ${train.d}, C = ${C}`);
    this.f32 = new Float32Array(memory);
    this.f64 = new Float64Array(memory);
    this.i32 = new Int32Array(memory);
    this.f32.fill(0, this.pTheta / 4, off / 4);
    this.writeData(train, this.train);
    this.writeData(validation, this.validation);
    if (this.tourTrain && tour) this.writeData(train, this.tourTrain, tour);
    trials.forEach((t, k) => {
      if (t.theta.length !== P) throw new Error(`fast kernel: trial ${k} has ${t.theta.length} params, expected ${P}`);
      this.setParams(k, t.theta);
    });
  }

  /** A split into memory, its samples in `order` (default: as given). */
  private writeData(data: KernelData, at: Split, order?: Int32Array): void {
    const { d, dp } = this.L;
    const xo = at.px / 4;
    const yo = at.py / 4;
    for (let mu = 0; mu < data.n; mu++) {
      const from = order ? order[mu] : mu;
      for (let i = 0; i < d; i++) this.f32[xo + mu * dp + i] = data.x[from * d + i]; // float64 -> float32
      this.i32[yo + mu] = data.y[from];
    }
    this.i32.fill(-1, yo + data.n, yo + at.np);
  }

  /** Class-weight tables om[y][c] per block from gammas (K * C), see asm/fast-kernel.ts. */
  private writeWeights(gammas: Float64Array): void {
    const f = this.f32;
    const C = this.L.C;
    const base = this.pOm / 4;
    const LANES = this.lanes;
    for (let k = 0; k < this.blocks * LANES; k++) {
      const b = Math.floor(k / LANES);
      const lane = k % LANES;
      const real = k < this.size;
      const wt = real ? this.weighting[k] : 'none';
      for (let y = 0; y < C; y++) {
        for (let c = 0; c < C; c++) {
          let v = 1;
          if (real) {
            if (this.ce) v = gammas[k * C + y];
            else if (wt === 'sample') v = gammas[k * C + y];
            else if (wt === 'output') v = gammas[k * C + c];
          }
          f[base + b * C * C * LANES + (y * C + c) * LANES + lane] = v;
        }
      }
    }
  }

  step(gammas: Float64Array, active: Uint8Array): Float64Array {
    this.version++;
    this.writeWeights(gammas);
    const f = this.f32;
    const i = this.i32;
    for (let k = 0; k < this.blocks * this.lanes; k++) {
      const on = k < this.size && active[k] === 1;
      f[this.pLr / 4 + k] = on ? this.lr[k] : 0;
      i[this.pAct / 4 + k] = on ? -1 : 0;
    }
    for (let b = 0; b < this.blocks; b++) this.gradBlock(b, 1);
    return this.f64.slice(this.pLoss / 8, this.pLoss / 8 + this.size);
  }

  gradient(gammas: Float64Array): Float64Array {
    this.writeWeights(gammas);
    for (let b = 0; b < this.blocks; b++) this.gradBlock(b, 0);
    return this.readPacked(this.pGrad);
  }

  /** Loss and gradient of block b: into pGrad (update 0) or applied to the parameters (update 1). */
  private gradBlock(b: number, update: number): void {
    const L = this.L;
    const th = this.pTheta + b * this.blockBytes;
    const grad = this.pGrad + b * this.blockBytes;
    const om = this.pOm + b * this.omBytes;
    const t = this.train;
    const V = this.V;
    const loss = this.pLoss + b * 8 * this.lanes;
    if (L.spirals) {
      this.ex.stepBlock(th, grad, this.pLr + b * V, this.pAct + b * V, om, t.px, t.py, t.n, this.w, this.ce, this.pDz, loss, update);
    } else {
      (this.anyEx as FastExports).stepAny(
        th, grad, this.pLr + b * V, this.pAct + b * V, om, t.px, t.py, t.np, t.n, L.dp, L.wp, L.C, this.ce, L.chunk,
        this.pH, this.pG, this.pZ, this.pDzc, loss, update,
      );
    }
  }

  evaluate(split: 'train' | 'validation', gammas: Float64Array): SplitMetrics {
    this.writeWeights(gammas);
    const t = split === 'train' ? this.train : this.validation;
    const L = this.L;
    const LANES = this.lanes;
    for (let b = 0; b < this.blocks; b++) {
      const th = this.pTheta + b * this.blockBytes;
      const om = this.pOm + b * this.omBytes;
      const out = this.pEval + b * 24 * LANES;
      if (L.spirals) this.ex.evalBlock(th, om, t.px, t.py, t.n, this.w, this.ce, out);
      else (this.anyEx as FastExports).evalAny(th, om, t.px, t.py, t.np, t.n, L.dp, L.wp, L.C, this.ce, L.chunk, this.pH, this.pZ, out);
    }
    const K = this.size;
    const loss = new Float64Array(K);
    const lossStatic = new Float64Array(K);
    const acc = new Float64Array(K);
    const e = this.f64;
    for (let k = 0; k < K; k++) {
      const base = this.pEval / 8 + Math.floor(k / LANES) * 3 * LANES + (k % LANES);
      loss[k] = e[base];
      lossStatic[k] = e[base + LANES];
      acc[k] = e[base + 2 * LANES];
    }
    return { loss, lossStatic, acc };
  }

  hvp(v: Float64Array, gammas: Float64Array, active?: Uint8Array, out?: Float64Array): Float64Array {
    const K = this.size;
    const P = this.paramCount;
    if (v.length !== K * P) throw new Error(`hvp: v has length ${v.length}, expected ${K * P}`);
    // A block runs when any of its trials is needed (batched early exit of converged trials).
    const run = new Uint8Array(this.blocks);
    for (let k = 0; k < K; k++) if (!active || active[k] === 1) run[Math.floor(k / this.lanes)] = 1;
    this.writeWeights(gammas);
    this.writePacked(this.pVin, v, run);
    const ex = this.ex;
    const L = this.L;
    const t = this.train;
    if (!L.spirals) {
      const any = this.anyEx as FastExports;
      for (let b = 0; b < this.blocks; b++) {
        if (!run[b]) continue;
        any.hvpAny(
          this.pTheta + b * this.blockBytes, this.pVin + b * this.blockBytes, this.pVout + b * this.blockBytes,
          this.pOm + b * this.omBytes, t.px, t.py, t.np, t.n, L.dp, L.wp, L.C, this.ce, L.chunk,
          this.pH, this.pG, this.pG2, this.pZ, this.pDzc, this.pPc, this.pRz, this.pRdzc, this.pLossScratch,
        );
      }
      return this.readPacked(this.pVout, run, out);
    }
    if (this.cacheVersion !== this.version) this.stateReady.fill(0);
    if (!this.cacheValid(gammas)) {
      this.cacheReady.fill(0);
      this.cacheVersion = this.version;
      this.cacheGammas.set(gammas);
    }
    const tt = this.tourTrain ?? t;
    const flips = (b: number) =>
      [this.pFlips + b * this.flipBytes, this.pFlipStarts + b * this.flipStartBytes, this.pFlipOk + b * this.lanes * 4, this.flipCap] as const;
    for (let b = 0; b < this.blocks; b++) {
      if (!run[b] || this.cacheReady[b]) continue;
      const th = this.pTheta + b * this.blockBytes;
      const pp = this.pCacheP + b * this.cacheBytesN;
      const mk = this.pCacheMask + b * this.cacheBytesMask;
      if (!this.stateReady[b]) {
        ex.hvpStateBlock(th, tt.px, tt.n, this.w, this.ce, pp, ...flips(b), this.pPrev, this.pCachePL + b * this.cacheBytesN, mk);
        this.stateReady[b] = 1;
      }
      ex.hvpWeightsBlock(
        th, this.pOm + b * this.omBytes, tt.px, tt.py, tt.n, this.w, this.ce, pp, this.pCacheDz + b * this.cacheBytesN,
        this.pCacheD + b * this.cacheBytesW, ...flips(b), this.pPerLaneN, this.pPerLaneW, this.pEd, mk,
      );
      this.cacheReady[b] = 1;
    }
    for (let b = 0; b < this.blocks; b++) {
      if (!run[b]) continue;
      ex.hvpCachedBlock(
        this.pTheta + b * this.blockBytes, this.pVin + b * this.blockBytes, this.pVout + b * this.blockBytes,
        this.pOm + b * this.omBytes, tt.px, tt.n, this.w, this.ce, tt.py,
        this.pCacheP + b * this.cacheBytesN, this.pCacheD + b * this.cacheBytesW, this.pRdz, this.pE,
        ...flips(b), this.pTab, this.pCachePL + b * this.cacheBytesN, this.pPerLaneW, this.pEd,
        this.pCacheMask + b * this.cacheBytesMask,
      );
    }
    return this.readPacked(this.pVout, run, out);
  }

  private cacheValid(gammas: Float64Array): boolean {
    if (this.cacheVersion !== this.version) return false;
    for (let i = 0; i < gammas.length; i++) if (gammas[i] !== this.cacheGammas[i]) return false;
    return true;
  }

  /** float32 index of slot 0, lane k % 4, of trial k's block in a packed region at byte offset `at`. */
  private laneBase(at: number, k: number): number {
    const LANES = this.lanes;
    return at / 4 + Math.floor(k / LANES) * this.L.slots * LANES + (k % LANES);
  }

  getParams(k: number): Float64Array {
    return this.readTrial(this.pTheta, k, new Float64Array(this.paramCount), 0);
  }

  setLearningRate(k: number, lr: number): void {
    this.lr[k] = lr;
  }

  setParams(k: number, theta: Float64Array): void {
    if (theta.length !== this.paramCount) throw new Error('setParams: wrong length');
    this.version++;
    this.writeTrial(this.pTheta, k, theta, 0);
  }

  dispose(): void {
    // The instance and its memory are garbage once unreferenced.
  }

  private readTrial(at: number, k: number, out: Float64Array, o: number): Float64Array {
    const f = this.f32;
    const slot = this.L.slotOf;
    const base = this.laneBase(at, k);
    const LANES = this.lanes;
    for (let i = 0; i < this.paramCount; i++) out[o + i] = f[base + slot[i] * LANES];
    return out;
  }

  private writeTrial(at: number, k: number, v: Float64Array, o: number): void {
    const f = this.f32;
    const slot = this.L.slotOf;
    const base = this.laneBase(at, k);
    const LANES = this.lanes;
    for (let i = 0; i < this.paramCount; i++) f[base + slot[i] * LANES] = v[o + i];
  }

  /**
   * K * P float64 from a packed float32 region (padding dropped) into `into` when given (of that length), else a new
   * array; blocks with run[b] = 0 are not written (zeros in a new array).
   */
  private readPacked(at: number, run?: Uint8Array, into?: Float64Array): Float64Array {
    const P = this.paramCount;
    const out = into?.length === this.size * P ? into : new Float64Array(this.size * P);
    if (this.transposes) {
      this.transposes.unpack(this.memory, at, out, this.size, P, this.lanes, this.L.slots, run ?? this.allBlocks);
      return out;
    }
    for (let k = 0; k < this.size; k++) if (!run || run[Math.floor(k / this.lanes)]) this.readTrial(at, k, out, k * P);
    return out;
  }

  private writePacked(at: number, v: Float64Array, run?: Uint8Array): void {
    const P = this.paramCount;
    if (this.transposes) {
      this.transposes.pack(this.memory, at, v, this.size, P, this.lanes, this.L.slots, run ?? this.allBlocks);
      return;
    }
    for (let k = 0; k < this.size; k++) if (!run || run[Math.floor(k / this.lanes)]) this.writeTrial(at, k, v, k * P);
  }
}

/** The fast kernel on `isa` ('wasm' for every shape; a native one for d = 2, C = 3 only). */
export function createFastKernelOn(isa: FastIsa): KernelFactory {
  return async (init: KernelInit): Promise<PackKernel> => {
    packLossFamily(init, 'fast kernel');
    const { d, classes } = init.train;
    if (!(Number.isInteger(d) && d >= 1 && Number.isInteger(classes) && classes >= 1 && init.width >= 1)) {
      throw new Error(`fast kernel: cannot train d = ${d} inputs, C = ${classes} classes, width ${init.width}`);
    }
    if (isa !== 'wasm' && !(d === 2 && classes === 3)) throw new Error(`fast kernel: no ${isa} kernel for d = ${d}, C = ${classes}`);
    return new FastKernel(init, isa === 'wasm' ? await wasmMachine() : nativeMachine(isa));
  };
}

/** The fast kernel on the best kernel for the pack's shape (fastIsaFor; DYNSWEEP_FAST_KERNEL). */
export const createFastKernel: KernelFactory = (init: KernelInit) =>
  createFastKernelOn(fastIsaFor(init.train.d, init.train.classes, init.trials.length))(init);
