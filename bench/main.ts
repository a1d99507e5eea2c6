/**
 * Throughput benchmark (issue "Throughput"): every engine/backend available (the tfjs engine on its native
 * TensorFlow backend too, when built: docs/native.md), single trial and packed (K = 16), on R1 (w 100, 300
 * points), R2 (w 1000, 300 points), R3 (w 100, 3000 points); the numpy and JAX peers on the same workloads in the
 * same run, the ratio to each and, per workload, of the fast engine to the best peer; GFLOP/s against the
 * single-core sgemm peak measured in the same run; the sharpness overhead of the fast engine; the end-to-end
 * 64-trial sweep through the orchestrator at worker concurrency 1 and 2 against in-process and the numpy peer.
 * Options: `npm run bench -- --help` (declared in parseArgs below, with their defaults).
 *
 * Figures are per core: every engine here runs on one thread (the tfjs wasm backend has no threads in Node;
 * TensorFlow's pools are set to one thread; the peers run on one core). Throughput is trial-steps/s = K x steps / s
 * of `kernel.step` (the fused full-batch gradient step of every trial), the median of several timed repetitions.
 * Sharpness overhead: the fast engine's trainPack with sharpness every 25 steps (Lanczos, order <= 20, warm-started
 * with the grid's default tolerance, minimum order and cold-check cadence unless given; dynamical losses need two
 * eigenproblems, static and dynamic) minus the same
 * run with sharpness only at step 0 and at the end, over the pure training time of those steps.
 * The sweep benchmark (bench/sweep.ts) runs by default (not with --quick); it needs the Temporal CLI binary.
 */
import os from 'node:os';
import yargs from 'yargs';
import { runScaleBench, type ScaleBench } from './scale.js';
import { hideBin } from 'yargs/helpers';
import { createReferenceKernel } from '../core/engines/reference-kernel.js';
import { createFastKernel, fastAvailable, fastBackendOf, fastIsaFor } from '../core/engines/fast-kernel.js';
import { defaultDatasetSpec, makeSpirals } from '../core/data.js';
import { initParams } from '../core/model.js';
import type { KernelFactory } from '../core/kernel.js';
import type { Engine, LossName, Pack, TrialConfig } from '../core/types.js';
import { noTimings, overheadPerMeasurement, productInSteps, timedFactory } from './sharpness-timing.js';
import { WORKLOADS, flopsPerTrialStep, points, type Workload } from './workloads.js';
import { PEERS, ensurePeer, runPeer, sgemmPeak, type PeerName, type PeerResult, type SgemmPeak } from './peer.js';
import { DEFAULT_SHARPNESS_COLD_EVERY, DEFAULT_SHARPNESS_MIN_ORDER, DEFAULT_SHARPNESS_TOLERANCE } from '../core/sharpness.js';
import { runSweepBench, type SweepBench } from './sweep.js';
import { trainPack } from '../core/train.js';
import { median } from '../core/statistics.js';
import { createEngine, engineIdentity } from '../core/engines/index.js';

interface Options {
  json: boolean;
  mode: 'quick' | 'default' | 'full';
  engines: string[];
  workloads: Workload[];
  ks: number[];
  /** Peers to run (none with --no-peer). */
  peers: PeerName[];
  /** Measure the single-core sgemm peak, with n x n matrices. */
  sgemm: boolean;
  sgemmN: number;
  sharpness: boolean;
  reps: number;
  repSeconds: number;
  sharpSteps: number;
  /** Warm-started Lanczos tolerance of the sharpness-overhead runs (the grid default; 0 = cold, full order). */
  sharpTolerance: number;
  /** Warm Lanczos minimum order and cold-check cadence of those runs (the grid defaults). */
  sharpMinOrder: number;
  sharpColdEvery: number;
  /** End-to-end sweep benchmark (bench/sweep.ts). */
  sweep: boolean;
  sweepOnly: boolean;
  sweepSteps: number;
  sweepConcurrency: number[];
  /** The scale benchmark alone (bench/scale.ts). */
  scale: { sizes: number[]; planFinalizeTrials: number } | null;
}

const list = (x: string): string[] => x.split(',').map((v) => v.trim()).filter(Boolean);

function parseArgs(argv: string[]): Options {
  const a = yargs(argv)
    .scriptName('npm run bench --')
    .strict()
    .options({
      json: { type: 'boolean', default: false, describe: 'one JSON object (schema dynsweep.bench/2) on stdout, progress on stderr' },
      quick: { type: 'boolean', describe: '3 x 0.1 s repetitions, 100-step overhead runs, no sweep' },
      full: { type: 'boolean', describe: '9 x 0.5 s repetitions, tfjs cpu too, 500-step overhead runs, 6000-step sweep' },
      engines: { type: 'string', default: 'reference,fast,tfjs', describe: 'engines to measure' },
      workloads: { type: 'string', default: 'R1,R2,R3', describe: 'workloads (bench/workloads.ts)' },
      ks: { type: 'string', default: '1,16', describe: 'pack sizes K' },
      peer: { type: 'boolean', default: true, describe: 'run the peers (--no-peer: none)' },
      peers: { type: 'string', default: PEERS.join(','), describe: 'which peers (../shared/bench/<name>_peer.py; JAX is pip-installed when missing)' },
      sgemm: { type: 'boolean', default: true, describe: 'measure the single-core float32 sgemm peak (numpy, one thread)' },
      'sgemm-n': { type: 'number', default: 2048, describe: 'matrix size of the sgemm peak' },
      sharpness: { type: 'boolean', default: true, describe: 'sharpness overhead of the fast engine' },
      'sharpness-tolerance': { type: 'number', default: DEFAULT_SHARPNESS_TOLERANCE, describe: 'warm Lanczos tolerance (0: cold, full order)' },
      'sharpness-min-order': { type: 'number', default: DEFAULT_SHARPNESS_MIN_ORDER, describe: 'warm Lanczos minimum order' },
      'sharpness-cold-every': { type: 'number', default: DEFAULT_SHARPNESS_COLD_EVERY, describe: 'cold check every this many measurements (0: none)' },
      'sharpness-steps': { type: 'number', describe: 'steps of each overhead run (default 100 quick, 200, 500 full)' },
      sweep: { type: 'boolean', describe: 'the end-to-end sweep (default: on, off with --quick)' },
      'sweep-only': { type: 'boolean', default: false, describe: 'just the end-to-end sweep' },
      'sweep-steps': { type: 'number', describe: 'steps per trial of the sweep (default 3000, 6000 full)' },
      'sweep-concurrency': { type: 'string', default: '1,2', describe: 'worker concurrencies of the sweep' },
      scale: { type: 'boolean', default: false, describe: 'only the scale benchmark (bench/scale.ts): tiny-trial sweeps end to end, and a large plan + finalize in process' },
      'scale-sizes': { type: 'string', default: '20000,100000', describe: 'trial counts of the end-to-end scale runs' },
      'scale-plan-trials': { type: 'number', default: 1_000_000, describe: 'trials of the in-process plan + finalize (0: none)' },
    })
    .conflicts('quick', 'full')
    .help()
    .parseSync();
  const mode = a.quick ? 'quick' : a.full ? 'full' : 'default';
  const ids = list(a.workloads);
  const peers = list(a.peers);
  const unknown = peers.filter((p) => !(PEERS as readonly string[]).includes(p));
  if (unknown.length) throw new Error(`--peers: unknown ${unknown.join(', ')} (known: ${PEERS.join(', ')})`);
  return {
    json: a.json,
    mode,
    engines: list(a.engines),
    workloads: WORKLOADS.filter((w) => ids.includes(w.id)),
    ks: list(a.ks).map(Number),
    peers: a.peer ? (peers as PeerName[]) : [],
    sgemm: a.sgemm,
    sgemmN: a['sgemm-n'],
    sharpness: a.sharpness,
    reps: mode === 'quick' ? 3 : mode === 'full' ? 9 : 5,
    repSeconds: mode === 'quick' ? 0.1 : mode === 'full' ? 0.5 : 0.25,
    sharpSteps: a['sharpness-steps'] ?? (mode === 'quick' ? 100 : mode === 'full' ? 500 : 200),
    sharpTolerance: a['sharpness-tolerance'],
    sharpMinOrder: a['sharpness-min-order'],
    sharpColdEvery: a['sharpness-cold-every'],
    sweep: a.sweep ?? (a['sweep-only'] || mode !== 'quick'),
    sweepOnly: a['sweep-only'],
    sweepSteps: a['sweep-steps'] ?? (mode === 'full' ? 6000 : 3000),
    sweepConcurrency: list(a['sweep-concurrency']).map(Number),
    scale: a.scale ? { sizes: list(a['scale-sizes']).map(Number), planFinalizeTrials: a['scale-plan-trials'] } : null,
  };
}

interface Contender {
  engine: 'reference' | 'fast' | 'tfjs';
  backend: string;
  /** The backend of a pack of K when it depends on K (the fast engine's kernel choice). */
  backendOf?: (K: number) => string;
  factory: KernelFactory;
  /** Called before its cells run (tfjs: make its backend current). */
  activate?: () => Promise<void>;
}

interface Cell {
  engine: string;
  backend: string;
  workload: Workload['id'];
  width: number;
  points: number;
  K: number;
  trialStepsPerS: number;
  gflops: number;
  repetitions: number[];
  /** Each peer's trial-steps/s at the same workload and K, and this cell's ratio to it. */
  peers: Partial<Record<PeerName, { trialStepsPerS: number; ratio: number }>>;
  /** gflops over the single-core sgemm peak measured in this run. */
  fractionOfSgemmPeak: number | null;
}

/** Per workload: the fast engine at its best K against the best peer at its best K. */
interface VersusBestPeer {
  workload: Workload['id'];
  fast: { K: number; trialStepsPerS: number; gflops: number; fractionOfSgemmPeak: number | null } | null;
  bestPeer: { peer: PeerName; K: number; trialStepsPerS: number } | null;
  /** fast / best peer. */
  ratio: number | null;
}


function log(o: Options, msg: string): void {
  if (o.json) process.stderr.write(`${msg}\n`);
  else process.stdout.write(`${msg}\n`);
}

async function contenders(o: Options): Promise<{ list: Contender[]; skipped: { engine: string; reason: string }[] }> {
  const list: Contender[] = [];
  const skipped: { engine: string; reason: string }[] = [];
  if (o.engines.includes('reference')) list.push({ engine: 'reference', backend: 'float64', factory: createReferenceKernel });
  if (o.engines.includes('fast')) {
    // The workloads are spirals: native when built (DYNSWEEP_FAST_KERNEL=wasm measures the wasm kernel).
    if (await fastAvailable()) {
      const backendOf = (K: number) => fastBackendOf(fastIsaFor(2, 3, K));
      list.push({ engine: 'fast', backend: backendOf(Infinity), backendOf, factory: createFastKernel });
    }
    else skipped.push({ engine: 'fast', reason: 'wasm module not built (npm run asbuild)' });
  }
  if (o.engines.includes('tfjs')) {
    // Loaded by a computed specifier: the bench builds and runs whether or not the tfjs engine exists.
    const spec = '../core/engines/tfjs.js';
    try {
      const mod = (await import(spec)) as {
        selectTfjsBackend(p: string): Promise<{ label: string; tfBackend: string }>;
        createTfjsKernelFactory(opts: { backendLabel?: string; tfBackend?: string }): KernelFactory;
      };
      const labels = o.mode === 'full' ? ['native', 'wasm', 'cpu'] : ['native', 'wasm'];
      for (const label of labels) {
        try {
          const sel = await mod.selectTfjsBackend(label);
          list.push({
            engine: 'tfjs',
            backend: sel.label,
            factory: mod.createTfjsKernelFactory({ backendLabel: sel.label, tfBackend: sel.tfBackend }),
            activate: async () => void (await mod.selectTfjsBackend(label)),
          });
        } catch (e) {
          skipped.push({ engine: `tfjs/${label}`, reason: (e instanceof Error ? e.message : String(e)).split('\n')[0] });
        }
      }
    } catch (e) {
      skipped.push({ engine: 'tfjs', reason: `not available: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}` });
    }
  }
  return { list, skipped };
}

/** Median trial-steps/s of kernel.step on a workload with K trials. */
async function measure(c: Contender, w: Workload, K: number, o: Options): Promise<number[]> {
  const spec = defaultDatasetSpec({ pointsPerClass: w.pointsPerClass, classes: w.classes });
  const train = makeSpirals(spec, 'train');
  const validation = makeSpirals(spec, 'validation');
  const trials = Array.from({ length: K }, (_, k) => ({
    loss: 'ce' as LossName,
    lr: 0.5,
    theta: initParams(w.width, w.classes, 'glorot-normal', k + 1, train.d),
  }));
  const kernel = await c.factory({ width: w.width, train, validation, trials });
  try {
    const gam = new Float64Array(K * w.classes).fill(1);
    const active = new Uint8Array(K).fill(1);
    const run = (seconds: number, minSteps: number) => {
      const t0 = performance.now();
      let steps = 0;
      while (steps < minSteps || performance.now() - t0 < seconds * 1000) {
        kernel.step(gam, active);
        steps++;
      }
      return (K * steps) / ((performance.now() - t0) / 1000);
    };
    run(Math.min(0.15, o.repSeconds), 2); // warm-up (JIT, caches)
    const reps: number[] = [];
    for (let r = 0; r < o.reps; r++) reps.push(run(o.repSeconds, 1));
    return reps;
  } finally {
    kernel.dispose();
  }
}

function config(w: Workload, loss: LossName, seed: number, steps: number, sharpnessEvery: number, o: Options): TrialConfig {
  return {
    dataset: defaultDatasetSpec({ pointsPerClass: w.pointsPerClass, classes: w.classes }),
    init: 'glorot-normal',
    width: w.width,
    lr: 0.5,
    loss,
    period: loss === 'dce' ? 500 : null,
    amplitude: loss === 'dce' ? 5 : null,
    shape: 'triangle',
    seed,
    steps,
    finalStaticSteps: 0,
    evalEvery: 25,
    sharpnessEvery,
    sharpness: { method: 'lanczos', iterations: 20, tolerance: o.sharpTolerance, minOrder: o.sharpMinOrder, coldEvery: o.sharpColdEvery },
    engine: 'fast',
  };
}

interface Overhead {
  workload: Workload['id'];
  K: number;
  loss: LossName;
  steps: number;
  sharpnessEvery: number;
  lanczosOrder: number;
  /** Warm Lanczos minimum order and cold-check cadence (every this many measurements; 0: none). */
  minOrder: number;
  coldEvery: number;
  /** Warm-start tolerance (0: cold, full-order Lanczos at every measurement). */
  tolerance: number;
  eigenproblemsPerMeasurement: number;
  /** Median wall time of the run with sharpness every 25 steps. */
  secondsWith: number;
  /** Median wall time of the same run with sharpness only at step 0 and at the end. */
  secondsWithout: number;
  /** Pure training time of those steps at the throughput cell's rate. */
  trainSeconds: number;
  /** (secondsWith - secondsWithout) / trainSeconds: the extra cost of sharpness every 25 steps over training. */
  overhead: number;
  /** Median over back-to-back pairs of (with - without) / without: the extra cost over the run without periodic
   * sharpness (training, evaluation every 25 steps, the first and the final sharpness). Robust to load drift. */
  overheadVsRun: number;
  /**
   * The primary figure, from inside the "with" runs (so load drift hits numerator and denominator alike): the mean
   * time of a warm measurement (from the first Hessian-vector product after a step to the next step: every
   * product, the Lanczos vector work, both eigenproblems; the measurements between the first and the final one)
   * over the time of the 25 training steps between two measurements (25 times the mean `kernel.step`). Median
   * over the runs.
   */
  overheadInRun: number;
  /** Mean products (hvp calls) per warm measurement, both eigenproblems together. */
  hvpsPerMeasurement: number;
  /** Of a warm measurement's time, the share inside `kernel.hvp` (the rest: Lanczos vector work); median. */
  productShare: number;
  /** A product in training steps: mean time per hvp call (cache fills included) over mean time per step; median. */
  productInSteps: number;
}

/**
 * Sharpness overhead in the steady state: both runs measure sharpness at step 0 (cold, full order: the first
 * measurement of a trial has no previous eigenvector) and at the end; the "with" run also every 25 steps (warm
 * starts when tolerance > 0). The difference is what tracking costs a long run, where the single cold start is
 * amortised (21 products in 20,000 steps). Runs alternate, with / without, so load drift hits both alike.
 */
async function sharpnessOverhead(engine: Engine, w: Workload, K: number, loss: LossName, rate: number, o: Options): Promise<Overhead> {
  const steps = o.sharpSteps;
  const pack = (every: number): Pack => ({
    index: 0,
    width: w.width,
    trials: Array.from({ length: K }, (_, k) => ({ id: `bench-${k}`, config: config(w, loss, k + 1, steps, every, o) })),
  });
  const inRun: number[] = [];
  const productShare: number[] = [];
  const productSteps: number[] = [];
  let hvps = 0;
  let measurements = 0;
  const time = async (every: number) => {
    const acc = noTimings();
    const t0 = performance.now();
    await trainPack(pack(every), timedFactory(createFastKernel, acc), engineIdentity('fast'));
    const t = (performance.now() - t0) / 1000;
    if (every === 25) {
      inRun.push(overheadPerMeasurement(acc, 25));
      productShare.push(acc.hvpTime / acc.sharp);
      productSteps.push(productInSteps(acc));
      hvps += acc.hvps;
      measurements += acc.measurements;
    }
    return t;
  };
  void engine;
  await time(steps); // warm-up
  const without: number[] = [];
  const withS: number[] = [];
  const pairs: number[] = [];
  for (let r = 0; r < (o.mode === 'quick' ? 1 : o.mode === 'full' ? 5 : 3); r++) {
    without.push(await time(steps)); // sharpness at step 0 and at the end only
    withS.push(await time(25));
    pairs.push((withS[r] - without[r]) / without[r]);
  }
  const secondsWith = median(withS);
  const secondsWithout = median(without);
  const trainSeconds = (K * steps) / rate;
  return {
    workload: w.id, K, loss, steps, sharpnessEvery: 25, lanczosOrder: 20, tolerance: o.sharpTolerance,
    minOrder: o.sharpMinOrder, coldEvery: o.sharpColdEvery,
    eigenproblemsPerMeasurement: loss === 'ce' ? 1 : 2,
    secondsWith, secondsWithout, trainSeconds,
    overhead: (secondsWith - secondsWithout) / trainSeconds,
    overheadVsRun: median(pairs),
    overheadInRun: median(inRun),
    hvpsPerMeasurement: measurements ? hvps / measurements : 0,
    productShare: median(productShare),
    productInSteps: median(productSteps),
  };
}

const fmt = (x: number | null, d = 0) => (x === null ? '-' : x.toFixed(d));

/** The scale benchmark's figures: one line per size, the growth between sizes, the in-process plan + finalize. */
function printScale(o: Options, r: ScaleBench): void {
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ schema: 'dynsweep.bench-scale/1', ...r })}\n`);
    return;
  }
  const mib = (x: number | null) => (x === null ? '-' : `${x.toFixed(0)} MiB`);
  const s = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)} s`);
  console.log(`scale (tiny trials, packs of ${r.packSize}, ${r.cpus} cores, load ${r.loadAverageBefore.map((x) => x.toFixed(1)).join(' ')}):`);
  r.runs.forEach((run, i) =>
    console.log(
      `  ${run.trials} trials: ${run.status}, ${s(run.sweepSeconds)}, ${run.trialsPerSecond.toFixed(0)} trials/s (x${r.throughputRatios[i].toFixed(2)} of the first size), ` +
        `plan ${s(run.planSeconds)}, finalize ${s(run.finalizeSeconds)}, ${run.runs} runs, worker peak ${mib(run.workerPeakMiB)}`,
    ),
  );
  const pf = r.planFinalize;
  if (pf) console.log(`  ${pf.trials} trials in process: plan ${s(pf.planSeconds)} (${pf.packs} packs), finalize ${s(pf.finalizeSeconds)}, manifest ${pf.manifestBytes} bytes, peak ${mib(pf.peakMiB)}`);
  if (r.error) console.log(`  error: ${r.error}`);
}

async function main(): Promise<void> {
  const o = parseArgs(hideBin(process.argv));
  if (o.scale) return printScale(o, await runScaleBench({ ...o.scale, log: (m) => log(o, m) }));
  const t0 = performance.now();
  if (o.sweepOnly) {
    o.engines = [];
    o.peers = [];
    o.sharpness = false;
    o.sgemm = false;
  }
  // Per-core figures for the native TensorFlow backend too: one thread in each of its pools (read when
  // TensorFlow starts, so before the tfjs engine loads); and no oneDNN notices in the table.
  process.env.TF_NUM_INTRAOP_THREADS ??= '1';
  process.env.TF_NUM_INTEROP_THREADS ??= '1';
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const { list, skipped } = await contenders(o);
  for (const s of skipped) log(o, `skip ${s.engine}: ${s.reason}`);

  const peers: PeerResult[] = [];
  for (const name of o.peers) {
    const missing = ensurePeer(name, (m) => log(o, m));
    if (missing) {
      skipped.push({ engine: `peer/${name}`, reason: missing });
      log(o, `skip peer ${name}: ${missing}`);
      continue;
    }
    for (const w of o.workloads) {
      for (const K of o.ks) {
        const p = runPeer(name, w, K, Math.max(o.repSeconds, 0.2), o.mode === 'quick' ? 1 : 3);
        peers.push(p);
        log(o, `peer ${name} ${w.id} K=${K}: ${p.error ?? `${fmt(p.trialStepsPerS)} trial-steps/s, ${fmt(p.gflops, 2)} GFLOP/s`}`);
      }
    }
  }
  let peak: SgemmPeak | null = null;
  if (o.sgemm) {
    peak = sgemmPeak(o.sgemmN, 5);
    log(o, `sgemm peak (numpy float32 ${o.sgemmN}^2, one core, median of 5): ${peak.error ?? `${fmt(peak.gflops, 1)} GFLOP/s`}`);
  }
  const ofPeak = (gflops: number) => (peak?.gflops ? gflops / peak.gflops : null);

  const cells: Cell[] = [];
  for (const c of list) {
    await c.activate?.();
    for (const w of o.workloads) {
      for (const K of o.ks) {
        const reps = await measure(c, w, K, o);
        const rate = median(reps);
        const gflops = (rate * flopsPerTrialStep(w)) / 1e9;
        const vs: Cell['peers'] = {};
        for (const p of peers) {
          if (p.workload === w.id && p.K === K && p.trialStepsPerS) vs[p.peer] = { trialStepsPerS: p.trialStepsPerS, ratio: rate / p.trialStepsPerS };
        }
        const cell: Cell = {
          engine: c.engine, backend: c.backendOf?.(K) ?? c.backend, workload: w.id, width: w.width, points: points(w), K,
          trialStepsPerS: rate, gflops, repetitions: reps, peers: vs, fractionOfSgemmPeak: ofPeak(gflops),
        };
        cells.push(cell);
        const ratios = PEERS.map((n) => `x${fmt(vs[n]?.ratio ?? null, 2)} vs ${n}`).join(', ');
        log(o, `${c.engine}/${cell.backend} ${w.id} K=${K}: ${fmt(rate)} trial-steps/s, ${fmt(gflops, 2)} GFLOP/s, ${ratios}`);
      }
    }
  }

  const versus: VersusBestPeer[] = o.workloads.map((w) => {
    const best = <T extends { trialStepsPerS: number | null }>(xs: T[]) =>
      xs.filter((x) => x.trialStepsPerS).sort((a, b) => (b.trialStepsPerS ?? 0) - (a.trialStepsPerS ?? 0))[0];
    const f = best(cells.filter((c) => c.engine === 'fast' && c.workload === w.id));
    const p = best(peers.filter((x) => x.workload === w.id));
    return {
      workload: w.id,
      fast: f ? { K: f.K, trialStepsPerS: f.trialStepsPerS, gflops: f.gflops, fractionOfSgemmPeak: f.fractionOfSgemmPeak } : null,
      bestPeer: p?.trialStepsPerS ? { peer: p.peer, K: p.K, trialStepsPerS: p.trialStepsPerS } : null,
      ratio: f && p?.trialStepsPerS ? f.trialStepsPerS / p.trialStepsPerS : null,
    };
  });
  for (const v of versus) {
    if (!v.fast || !v.bestPeer) continue;
    log(o, `${v.workload}: fast (K=${v.fast.K}) ${fmt(v.fast.trialStepsPerS)} trial-steps/s = x${fmt(v.ratio, 2)} the best peer (${v.bestPeer.peer} K=${v.bestPeer.K}, ${fmt(v.bestPeer.trialStepsPerS)}); ${fmt(v.fast.gflops, 2)} GFLOP/s${v.fast.fractionOfSgemmPeak === null ? '' : ` = ${fmt(100 * v.fast.fractionOfSgemmPeak, 1)}% of the sgemm peak`}`);
  }

  const overheads: Overhead[] = [];
  if (o.sharpness && list.some((c) => c.engine === 'fast')) {
    const engine = await createEngine('fast');
    const K = Math.max(...o.ks);
    for (const w of o.workloads) {
      const rate = cells.find((c) => c.engine === 'fast' && c.workload === w.id && c.K === K)?.trialStepsPerS;
      if (!rate) continue;
      for (const loss of ['ce', 'dce'] as LossName[]) {
        const r = await sharpnessOverhead(engine, w, K, loss, rate, o);
        overheads.push(r);
        log(o, `sharpness every 25 (fast, ${w.id} K=${K} ${loss}, tolerance ${o.sharpTolerance}, minOrder ${o.sharpMinOrder}, coldEvery ${o.sharpColdEvery}, ${o.sharpSteps} steps): +${(100 * r.overheadInRun).toFixed(1)}% of training time in the same runs, ${r.hvpsPerMeasurement.toFixed(1)} products per measurement of ${fmt(r.productInSteps, 2)} training steps each (${fmt(100 * r.productShare, 0)}% of its time; two-run difference: +${(100 * r.overhead).toFixed(0)}% over training at the cell's rate, +${(100 * r.overheadVsRun).toFixed(0)}% over the run without)`);
      }
    }
  }

  let sweep: SweepBench | null = null;
  if (o.sweep) {
    sweep = await runSweepBench({
      steps: o.sweepSteps,
      concurrencies: o.sweepConcurrency,
      peer: o.peers.includes('numpy'),
      log: (m) => log(o, m),
    });
    if (sweep.error) log(o, `sweep bench: ${sweep.error}`);
    else {
      log(o, `sweep: two cores ${fmt(sweep.twoCoreSpeedup, 2)}x one (engine alone in-process ${fmt(sweep.twoCoreSpeedupInProcess, 2)}x, peer ${fmt(sweep.peerTwoCoreSpeedup, 2)}x)`);
    }
  }

  const result = {
    schema: 'dynsweep.bench/2',
    mode: o.mode,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()}-${os.arch()}` },
    perCore: true,
    flopsFormula: '2 N (d w + w C) x 3 per trial-step (forward + two backward products; the peer\'s count)',
    workloads: o.workloads.map((w) => ({ ...w, points: points(w), flopsPerTrialStep: flopsPerTrialStep(w) })),
    skipped,
    peers,
    sgemmPeak: peak,
    results: cells,
    fastVersusBestPeer: versus,
    sharpnessOverhead: overheads,
    sweep,
    seconds: (performance.now() - t0) / 1000,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    log(o, '');
    log(o, 'engine/backend          wl   K   trial-steps/s  GFLOP/s  %peak  numpy  ratio    jax  ratio');
    for (const c of cells) {
      const peerCols = PEERS.map((n) => `${fmt(c.peers[n]?.trialStepsPerS ?? null).padStart(5)}  ${fmt(c.peers[n]?.ratio ?? null, 2).padStart(5)}`).join('  ');
      const pct = c.fractionOfSgemmPeak === null ? null : 100 * c.fractionOfSgemmPeak;
      log(o, `${`${c.engine}/${c.backend}`.padEnd(22)}  ${c.workload}  ${String(c.K).padStart(2)}  ${fmt(c.trialStepsPerS).padStart(13)}  ${fmt(c.gflops, 2).padStart(7)}  ${fmt(pct, 1).padStart(5)}  ${peerCols}`);
    }
    log(o, '');
    log(o, 'workload  fast best (K)   best peer (K)        fast / best peer');
    for (const v of versus) {
      const peer = v.bestPeer ? `${fmt(v.bestPeer.trialStepsPerS)} ${v.bestPeer.peer} (${v.bestPeer.K})` : '-';
      log(o, `${v.workload.padEnd(8)}  ${(v.fast ? `${fmt(v.fast.trialStepsPerS)} (${v.fast.K})` : '-').padEnd(14)}  ${peer.padEnd(19)}  ${fmt(v.ratio, 2)}`);
    }
    if (peak?.gflops) log(o, `sgemm peak ${fmt(peak.gflops, 1)} GFLOP/s (numpy ${peak.numpy}, float32 ${peak.n}^2, one core)`);
    log(o, `total ${result.seconds.toFixed(0)} s`);
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
