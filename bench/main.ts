/**
 * Throughput benchmark (issue "Throughput"): every engine/backend available, single trial and packed (K = 16),
 * on R1 (w 100, 300 points), R2 (w 1000, 300 points), R3 (w 100, 3000 points); the numpy peer on the same
 * workloads in the same run, and the ratio to it; the sharpness overhead of the fast engine; the end-to-end
 * 64-trial sweep through the orchestrator at worker concurrency 1 and 2 against in-process and the peer.
 *
 *   npm run bench [-- --json] [--quick | --full] [--engines reference,fast,tfjs] [--workloads R1,R2,R3]
 *                 [--ks 1,16] [--no-peer] [--no-sharpness] [--sharpness-tolerance 1e-3]
 *                 [--sharpness-min-order 10] [--sharpness-cold-every 10] [--sharpness-steps N]
 *                 [--sweep | --no-sweep | --sweep-only] [--sweep-steps 3000] [--sweep-concurrency 1,2]
 *
 * Figures are per core: every engine here runs on one thread (the tfjs wasm backend has no threads in Node;
 * the peer runs with one BLAS thread). Throughput is trial-steps/s = K x steps / s of `kernel.step` (the
 * fused full-batch gradient step of every trial), the median of several timed repetitions.
 * Sharpness overhead: the fast engine's trainPack with sharpness every 25 steps (Lanczos, order <= 20, warm-started
 * with the grid's default tolerance, minimum order and cold-check cadence unless given; dynamical losses need two
 * eigenproblems, static and dynamic) minus the same
 * run with sharpness only at step 0 and at the end, over the pure training time of those steps.
 * The sweep benchmark (bench/sweep.ts) runs by default (not with --quick); it needs the Temporal CLI binary.
 */
import os from 'node:os';
import { createReferenceKernel } from '../core/engines/reference-kernel.js';
import { createFastKernel, fastAvailable, FAST_BACKEND } from '../core/engines/fast-kernel.js';
import { defaultDatasetSpec, makeSpirals } from '../core/data.js';
import { initParams } from '../core/model.js';
import type { KernelFactory } from '../core/kernel.js';
import type { Engine, LossName, Pack, TrialConfig } from '../core/types.js';
import { WORKLOADS, flopsPerTrialStep, points, type Workload } from './workloads.js';
import { runPeer, type PeerResult } from './peer.js';
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
  peer: boolean;
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
}

/** Value of --flag in the process arguments. */
function valOf(f: string): string | undefined {
  const argv = process.argv;
  const i = argv.indexOf(`--${f}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : undefined;
}

function parseArgs(argv: string[]): Options {
  const has = (f: string) => argv.includes(`--${f}`);
  const val = (f: string) => {
    const i = argv.indexOf(`--${f}`);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : undefined;
  };
  const mode = has('quick') ? 'quick' : has('full') ? 'full' : 'default';
  const ids = (val('workloads') ?? 'R1,R2,R3').split(',');
  return {
    json: has('json'),
    mode,
    engines: (val('engines') ?? 'reference,fast,tfjs').split(','),
    workloads: WORKLOADS.filter((w) => ids.includes(w.id)),
    ks: (val('ks') ?? '1,16').split(',').map(Number),
    peer: !has('no-peer'),
    sharpness: !has('no-sharpness'),
    reps: mode === 'quick' ? 3 : mode === 'full' ? 9 : 5,
    repSeconds: mode === 'quick' ? 0.1 : mode === 'full' ? 0.5 : 0.25,
    sharpSteps: Number(val('sharpness-steps') ?? (mode === 'quick' ? 100 : mode === 'full' ? 500 : 200)),
    sharpTolerance: Number(val('sharpness-tolerance') ?? DEFAULT_SHARPNESS_TOLERANCE),
    sharpMinOrder: Number(val('sharpness-min-order') ?? DEFAULT_SHARPNESS_MIN_ORDER),
    sharpColdEvery: Number(val('sharpness-cold-every') ?? DEFAULT_SHARPNESS_COLD_EVERY),
    sweep: !has('no-sweep') && (has('sweep') || has('sweep-only') || mode !== 'quick'),
    sweepOnly: has('sweep-only'),
  };
}

interface Contender {
  engine: 'reference' | 'fast' | 'tfjs';
  backend: string;
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
  peerTrialStepsPerS: number | null;
  ratioToPeer: number | null;
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
    if (await fastAvailable()) list.push({ engine: 'fast', backend: FAST_BACKEND, factory: createFastKernel });
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
   * The primary figure, from inside the "with" runs (so load drift hits numerator and denominator alike): time
   * from the first Hessian-vector product after a step to the next step (one whole measurement: every product,
   * the Lanczos vector work, both eigenproblems), summed over the warm measurements between the first and the
   * final one, over the time spent in `kernel.step` in the same run. Median over the runs.
   */
  overheadInRun: number;
  /** Mean products (hvp calls) per warm measurement, both eigenproblems together. */
  hvpsPerMeasurement: number;
}

/** A kernel factory that times step() and each measurement (first hvp after a step up to the next step). */
function timedFactory(factory: KernelFactory, acc: { step: number; sharp: number; measurements: number; hvps: number }): KernelFactory {
  return async (init) => {
    const k = await factory(init);
    let since: number | null = null; // start of the current measurement
    let steps = 0;
    let hvpsNow = 0;
    return {
      get backend() { return k.backend; },
      get size() { return k.size; },
      get paramCount() { return k.paramCount; },
      step(g, a) {
        const t0 = performance.now();
        if (since !== null && steps > 0) {
          acc.sharp += t0 - since; // a measurement between two steps: not the first (before step 1) one
          acc.measurements++;
          acc.hvps += hvpsNow;
        }
        since = null;
        hvpsNow = 0;
        const r = k.step(g, a);
        acc.step += performance.now() - t0;
        steps++;
        return r;
      },
      hvp(v, g, a) {
        if (since === null) since = performance.now();
        hvpsNow++;
        return k.hvp(v, g, a);
      },
      evaluate: (sp, g) => k.evaluate(sp, g),
      gradient: (g) => k.gradient(g),
      getParams: (i) => k.getParams(i),
      setParams: (i, t) => k.setParams(i, t),
      dispose: () => k.dispose(),
    };
  };
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
  let hvps = 0;
  let measurements = 0;
  const time = async (every: number) => {
    const acc = { step: 0, sharp: 0, measurements: 0, hvps: 0 };
    const t0 = performance.now();
    await trainPack(pack(every), timedFactory(createFastKernel, acc), engineIdentity('fast'));
    const t = (performance.now() - t0) / 1000;
    if (every === 25) {
      inRun.push(acc.sharp / acc.step);
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
  };
}

const fmt = (x: number | null, d = 0) => (x === null ? '-' : x.toFixed(d));

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  if (o.sweepOnly) {
    o.engines = [];
    o.peer = false;
    o.sharpness = false;
  }
  const { list, skipped } = await contenders(o);
  for (const s of skipped) log(o, `skip ${s.engine}: ${s.reason}`);

  const peers: PeerResult[] = [];
  if (o.peer) {
    for (const w of o.workloads) {
      for (const K of o.ks) {
        const p = runPeer(w, K, Math.max(o.repSeconds, 0.2), o.mode === 'quick' ? 1 : 3);
        peers.push(p);
        log(o, `peer ${w.id} K=${K}: ${p.error ?? `${fmt(p.trialStepsPerS)} trial-steps/s`}`);
      }
    }
  }
  const peerOf = (w: Workload, K: number) => peers.find((p) => p.workload === w.id && p.K === K)?.trialStepsPerS ?? null;

  const cells: Cell[] = [];
  for (const c of list) {
    await c.activate?.();
    for (const w of o.workloads) {
      for (const K of o.ks) {
        const reps = await measure(c, w, K, o);
        const rate = median(reps);
        const peer = peerOf(w, K);
        const cell: Cell = {
          engine: c.engine, backend: c.backend, workload: w.id, width: w.width, points: points(w), K,
          trialStepsPerS: rate, gflops: (rate * flopsPerTrialStep(w)) / 1e9, repetitions: reps,
          peerTrialStepsPerS: peer, ratioToPeer: peer ? rate / peer : null,
        };
        cells.push(cell);
        log(o, `${c.engine}/${c.backend} ${w.id} K=${K}: ${fmt(rate)} trial-steps/s, ${fmt(cell.gflops, 2)} GFLOP/s, x${fmt(cell.ratioToPeer, 2)} vs numpy`);
      }
    }
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
        log(o, `sharpness every 25 (fast, ${w.id} K=${K} ${loss}, tolerance ${o.sharpTolerance}, minOrder ${o.sharpMinOrder}, coldEvery ${o.sharpColdEvery}, ${o.sharpSteps} steps): +${(100 * r.overheadInRun).toFixed(1)}% of training time in the same runs, ${r.hvpsPerMeasurement.toFixed(1)} products per measurement (two-run difference: +${(100 * r.overhead).toFixed(0)}% over training at the cell's rate, +${(100 * r.overheadVsRun).toFixed(0)}% over the run without)`);
      }
    }
  }

  let sweep: SweepBench | null = null;
  if (o.sweep) {
    sweep = await runSweepBench({
      steps: Number(valOf('sweep-steps') ?? (o.mode === 'full' ? 6000 : 3000)),
      concurrencies: (valOf('sweep-concurrency') ?? '1,2').split(',').map(Number),
      peer: o.peer,
      log: (m) => log(o, m),
    });
    if (sweep.error) log(o, `sweep bench: ${sweep.error}`);
    else {
      log(o, `sweep: two cores ${fmt(sweep.twoCoreSpeedup, 2)}x one (engine alone in-process ${fmt(sweep.twoCoreSpeedupInProcess, 2)}x, peer ${fmt(sweep.peerTwoCoreSpeedup, 2)}x)`);
    }
  }

  const result = {
    schema: 'dynsweep.bench/1',
    mode: o.mode,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()}-${os.arch()}` },
    perCore: true,
    flopsFormula: '2 N (d w + w C) x 3 per trial-step (forward + two backward products; the peer\'s count)',
    workloads: o.workloads.map((w) => ({ ...w, points: points(w), flopsPerTrialStep: flopsPerTrialStep(w) })),
    skipped,
    peer: peers,
    results: cells,
    sharpnessOverhead: overheads,
    sweep,
    seconds: (performance.now() - t0) / 1000,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    log(o, '');
    log(o, 'engine/backend          wl   K   trial-steps/s  GFLOP/s  numpy  ratio');
    for (const c of cells) {
      log(o, `${`${c.engine}/${c.backend}`.padEnd(22)}  ${c.workload}  ${String(c.K).padStart(2)}  ${fmt(c.trialStepsPerS).padStart(13)}  ${fmt(c.gflops, 2).padStart(7)}  ${fmt(c.peerTrialStepsPerS).padStart(5)}  ${fmt(c.ratioToPeer, 2).padStart(5)}`);
    }
    log(o, `total ${result.seconds.toFixed(0)} s`);
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
