/**
 * Sharpness overhead of the fast engine inside one training run (the in-run figure of bench/main.ts): the mean time
 * of a measurement (from the first Hessian-vector product after a step to the next step: products, Lanczos vector
 * work, both eigenproblems, checks; the measurements between the first and the final one) over the time of the
 * `every` training steps between two measurements (mean `kernel.step` in the same run); load drift on a shared
 * machine hits both alike.
 *
 *   node dist/bench/sharpness-overhead.js [--root DIR] [--workloads R1,R2,R3] [--losses ce,dce] [--steps 500]
 *       [--every 25] [--pack 16] [--reps 1] [--json]
 *
 * --root: the dist/ directory whose core/train.js and fast kernel to load (default: this one), so that two builds
 * (before / after a change) can be run interleaved, one process each, by a shell loop. Configuration as
 * bench/main.ts: lr 0.5, dce period 500 and amplitude 5, glorot-normal, curves every 25 steps, the grid's default
 * sharpness spec (its module's defaults: Lanczos of order <= 20, tolerance, minOrder, coldEvery).
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { KernelFactory } from '../core/kernel.js';
import type { LossName, Pack, SharpnessSpec, TrialConfig } from '../core/types.js';
import { noTimings, overheadPerMeasurement, timedFactory } from './sharpness-timing.js';
import { WORKLOADS } from './workloads.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

type TrainPack = (pack: Pack, factory: KernelFactory, engine: { name: 'fast'; version: string }) => Promise<unknown>;

async function main(): Promise<void> {
  const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
  const root = path.resolve(arg('root', here));
  const load = async <T>(rel: string) => (await import(pathToFileURL(path.join(root, rel)).href)) as T;
  const { trainPack } = await load<{ trainPack: TrainPack }>('core/train.js');
  const { createFastKernel } = await load<{ createFastKernel: KernelFactory }>('core/engines/fast-kernel.js');
  const sharpness = await load<Record<string, number>>('core/sharpness.js');
  const { defaultDatasetSpec } = await load<{ defaultDatasetSpec: (o: object) => TrialConfig['dataset'] }>('core/data.js');
  const spec: SharpnessSpec = {
    method: 'lanczos',
    iterations: 20,
    tolerance: sharpness.DEFAULT_SHARPNESS_TOLERANCE,
    minOrder: sharpness.DEFAULT_SHARPNESS_MIN_ORDER,
    coldEvery: sharpness.DEFAULT_SHARPNESS_COLD_EVERY,
  };
  const ids = arg('workloads', 'R1,R2,R3').split(',');
  const losses = arg('losses', 'ce,dce').split(',') as LossName[];
  const steps = Number(arg('steps', '500'));
  const every = Number(arg('every', '25'));
  const K = Number(arg('pack', '16'));
  const reps = Number(arg('reps', '1'));
  const rows: { workload: string; loss: string; overhead: number; hvpsPerMeasurement: number; measurements: number }[] = [];
  for (let r = 0; r < reps; r++) {
    for (const w of WORKLOADS.filter((x) => ids.includes(x.id))) {
      for (const loss of losses) {
        const config = (seed: number): TrialConfig => ({
          dataset: defaultDatasetSpec({ pointsPerClass: w.pointsPerClass, classes: w.classes }),
          init: 'glorot-normal', width: w.width, lr: 0.5, loss,
          period: loss === 'dce' ? 500 : null, amplitude: loss === 'dce' ? 5 : null, shape: 'triangle',
          seed, steps, finalStaticSteps: 0, evalEvery: 25, sharpnessEvery: every, sharpness: spec, engine: 'fast',
        });
        const pack: Pack = { index: 0, width: w.width, trials: Array.from({ length: K }, (_, k) => ({ id: `b${k}`, config: config(k + 1) })) };
        const acc = noTimings();
        await trainPack(pack, timedFactory(createFastKernel, acc), { name: 'fast', version: 'bench' });
        if (!acc.measurements) process.stderr.write(`no measurement timed: ${JSON.stringify(acc)}\n`);
        rows.push({ workload: w.id, loss, overhead: overheadPerMeasurement(acc, every), hvpsPerMeasurement: acc.hvps / acc.measurements, measurements: acc.measurements });
      }
    }
  }
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ root, steps, every, K, spec, rows })}\n`);
  else for (const x of rows) process.stdout.write(`${x.workload} ${x.loss}: +${(100 * x.overhead).toFixed(1)}% (${x.hvpsPerMeasurement.toFixed(1)} products per measurement, ${x.measurements} measurements)\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
