/**
 * Accuracy and cost of warm sharpness strategies along real training trajectories, against cold Lanczos of
 * order 40 at the same parameters (docs/performance.md, "Sharpness"). The fast kernel is stepped directly with
 * each trial's schedule (sharpness does not change the trajectory), and at every sample each strategy measures
 * with its own SharpnessTracker (its own warm state), as core/train.ts does; the reference is computed fresh.
 *
 *   node dist/bench/sharpness-accuracy.js [--width 100] [--points-per-class 100] [--lrs 1,2,4] [--losses ce,dce]
 *       [--amplitudes 5,25,45,65] [--period 500] [--steps 3000] [--every 25] [--pack 16] [--seeds-from 1]
 *       [--strategies default,...] [--ref-order 40] [--json]
 *
 * "wrong": relative error above 1e-3 against the reference. Products: 4-trial blocks run per hvp call over the
 * pack's blocks (what the fast kernel pays), per warm sample, dynamic and static together.
 */
import { createFastKernel } from '../core/engines/fast-kernel.js';
import { defaultDatasetSpec, makeSpirals } from '../core/data.js';
import { initParams } from '../core/model.js';
import { classWeights, isStaticAt, type ScheduleConfig } from '../core/schedule.js';
import { lanczosBatched, lanczosTolerantBatched, startVectors } from '../core/linalg.js';
import type { PackKernel } from '../core/kernel.js';
import type { LossName, SharpnessSpec } from '../core/types.js';
import { SharpnessTracker } from '../core/sharpness.js';

interface Strategy {
  spec: SharpnessSpec;
}

const BASE: SharpnessSpec = { method: 'lanczos', iterations: 20, tolerance: 1e-3, minOrder: 10, coldEvery: 10 };

/** Named strategies (the grid's sharpness options); extend here to compare. */
const STRATEGIES: Record<string, Strategy> = {
  default: { spec: BASE },
  nocheck: { spec: { ...BASE, coldEvery: 0 } },
  m3: { spec: { ...BASE, minOrder: 3, coldEvery: 0 } },
  m5: { spec: { ...BASE, minOrder: 5, coldEvery: 0 } },
  m6: { spec: { ...BASE, minOrder: 6, coldEvery: 0 } },
  m8: { spec: { ...BASE, minOrder: 8, coldEvery: 0 } },
  // Deliberately weak (a loose tolerance, no minimum order, no checks): wrong values to --probe checks on.
  weak: { spec: { ...BASE, tolerance: 1e-2, minOrder: 1, coldEvery: 0 } },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const list = (name: string, fallback: string) => arg(name, fallback).split(',').filter(Boolean);

/** The kernel seen by one strategy: counts blocks run per hvp call. */
function counting(kernel: PackKernel, blocks: { n: number }): PackKernel {
  const lanes = 4;
  return new Proxy(kernel, {
    get(target, prop, receiver) {
      if (prop === 'hvp') {
        return (v: Float64Array, g: Float64Array, active?: Uint8Array) => {
          const run = new Set<number>();
          for (let k = 0; k < target.size; k++) if (!active || active[k]) run.add(Math.floor(k / lanes));
          blocks.n += run.size;
          return target.hvp(v, g, active);
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

interface Tally {
  values: number;
  wrong: number;
  maxRel: number;
  maxRelSigned: number;
  warmSamples: number;
  blockProducts: number;
  checks: number;
  mismatches: number;
  wrongAt: string[];
}

async function main(): Promise<void> {
  const width = Number(arg('width', '100'));
  const ppc = Number(arg('points-per-class', '100'));
  const lrs = list('lrs', '1,2,4').map(Number);
  const losses = list('losses', 'ce,dce') as LossName[];
  const amplitudes = list('amplitudes', '5,25,45,65').map(Number);
  const period = Number(arg('period', '500'));
  const steps = Number(arg('steps', '3000'));
  const every = Number(arg('every', '25'));
  const K = Number(arg('pack', '16'));
  const seedsFrom = Number(arg('seeds-from', '1'));
  const refOrder = Number(arg('ref-order', '40'));
  const names = list('strategies', 'default');
  const json = process.argv.includes('--json');
  const probe = arg('probe', '');
  const probed = { n: 0, flagged: {} as Record<string, number> };
  for (const n of names) if (!STRATEGIES[n]) throw new Error(`unknown strategy ${n}`);
  const spec = defaultDatasetSpec({ pointsPerClass: ppc });
  const train = makeSpirals(spec, 'train');
  const validation = makeSpirals(spec, 'validation');
  const C = train.classes;
  const tallies: Record<string, Tally> = {};
  const tally = (n: string, loss: string) =>
    (tallies[`${n} ${loss}`] ??= { values: 0, wrong: 0, maxRel: 0, maxRelSigned: 0, warmSamples: 0, blockProducts: 0, checks: 0, mismatches: 0, wrongAt: [] });
  const t0 = performance.now();
  for (const lr of lrs) {
    for (const loss of losses) {
      const dyn = loss !== 'ce';
      const schedules: ScheduleConfig[] = Array.from({ length: K }, (_, k) => ({
        classes: C, period: dyn ? period : null, amplitude: dyn ? amplitudes[k % amplitudes.length] : null,
        shape: 'triangle', steps, finalStaticSteps: 0,
      }));
      const kernel = await createFastKernel({
        width, train, validation,
        trials: Array.from({ length: K }, (_, k) => ({ loss, lr, theta: initParams(width, C, 'glorot-normal', seedsFrom + k, train.d) })),
      });
      const P = kernel.paramCount;
      const blocks = Math.ceil(K / 4);
      const counters = names.map(() => ({ n: 0 }));
      const trackers = names.map((n, i) => new SharpnessTracker(counting(kernel, counters[i]), STRATEGIES[n].spec));
      /** Check strength: at the probe strategy's wrong values, which checks would flag them. */
      const probeWrong = (got: Float64Array, ref: Float64Array, g: Float64Array, s: number) => {
        const wrong = Uint8Array.from({ length: K }, (_, k) => (Math.abs(got[k] - ref[k]) > 1e-3 * Math.abs(ref[k]) ? 1 : 0));
        if (!wrong.some((x) => x)) return;
        // The cold check before (full order 20) and now (stopped on the residual after minOrder 10 steps), and
        // cold solves of lower orders from fresh seeded starts.
        const found: Record<string, Float64Array> = {
          cold20: lanczosBatched((v) => kernel.hvp(v, g), K, P, { order: 20, start: startVectors(K, P) }).lambda,
          stoppedCheck: lanczosTolerantBatched((v, a) => kernel.hvp(v, g, a), K, P, { maxOrder: 20, minOrder: 10, tol: 1e-3, start: startVectors(K, P) }).lambda,
        };
        for (const order of [8, 10]) found[`cold${order}`] = lanczosBatched((v) => kernel.hvp(v, g), K, P, { order, start: startVectors(K, P, s, 'probe') }).lambda;
        for (let k = 0; k < K; k++) {
          if (!wrong[k]) continue;
          probed.n++;
          for (const [name, val] of Object.entries(found)) if (val[k] > got[k] * (1 + 1e-3)) probed.flagged[name] = (probed.flagged[name] ?? 0) + 1;
        }
      };
      const gam = new Float64Array(K * C);
      const ones = new Float64Array(K * C).fill(1);
      const active = new Uint8Array(K).fill(1);
      for (let s = 0; s < steps; s++) {
        for (let k = 0; k < K; k++) classWeights(s, schedules[k], gam.subarray(k * C, (k + 1) * C));
        if (s % every === 0) {
          const need = Uint8Array.from(active);
          const refDyn = lanczosBatched((v) => kernel.hvp(v, gam), K, P, { order: refOrder, start: startVectors(K, P) });
          const refStat = dyn ? lanczosBatched((v) => kernel.hvp(v, ones), K, P, { order: refOrder, start: startVectors(K, P) }) : refDyn;
          names.forEach((n, i) => {
            const st = STRATEGIES[n];
            const coldEvery = st.spec.coldEvery ?? 0;
            const check = coldEvery > 0 && s > 0 && (s / every) % coldEvery === 0;
            const coincide = Uint8Array.from({ length: K }, (_, k) => (!dyn || isStaticAt(s, schedules[k]) ? 1 : 0));
            const before = counters[i].n;
            const m = trackers[i].measure({ gammas: gam, ones, need, coincide, cold: false, check });
            if (s === 0) return; // the first measurement has no warm start: cold in both
            if (n === probe) probeWrong(m.dyn.lambda, refDyn.lambda, gam, s);
            const t = tally(n, loss);
            t.warmSamples++;
            t.blockProducts += (counters[i].n - before) / blocks;
            for (let k = 0; k < K; k++) {
              if (!need[k]) continue;
              const pairs: [string, number, number][] = [['dyn', m.dyn.lambda[k], refDyn.lambda[k]], ['stat', m.stat(k).lambda[k], refStat.lambda[k]]];
              if (check) {
                t.checks++;
                if (m.dyn.check?.mismatch[k] || m.stat(k).check?.mismatch[k]) t.mismatches++;
              }
              for (const [kind, got, ref] of pairs) {
                if (kind === 'stat' && !dyn) continue;
                const rel = (got - ref) / Math.abs(ref);
                t.values++;
                if (Math.abs(rel) > Math.abs(t.maxRelSigned)) t.maxRelSigned = rel;
                t.maxRel = Math.max(t.maxRel, Math.abs(rel));
                if (!(Math.abs(rel) <= 1e-3)) {
                  t.wrong++;
                  if (t.wrongAt.length < 20) t.wrongAt.push(`lr ${lr} ${loss} trial ${k} step ${s} ${kind} ${got.toPrecision(5)} vs ${ref.toPrecision(5)}`);
                }
              }
            }
          });
        }
        const l = kernel.step(gam, active);
        for (let k = 0; k < K; k++) if (!Number.isFinite(l[k])) active[k] = 0;
      }
      kernel.dispose();
      process.stderr.write(`lr ${lr} ${loss} done, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    }
  }
  const rows = Object.entries(tallies).map(([strategy, t]) => ({ strategy, ...t, productsPerSample: t.blockProducts / Math.max(1, t.warmSamples) }));
  if (json) process.stdout.write(`${JSON.stringify({ width, ppc, lrs, losses, steps, every, K, rows })}\n`);
  if (probe) process.stdout.write(`probe ${probe}: ${probed.n} wrong dynamic values; flagged by ${JSON.stringify(probed.flagged)}\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.strategy.padEnd(14)} wrong ${r.wrong} of ${r.values}, max |rel| ${r.maxRel.toExponential(2)} (signed ${r.maxRelSigned.toExponential(2)}), ` +
        `products per warm sample ${r.productsPerSample.toFixed(2)}, checks ${r.checks} mismatches ${r.mismatches}\n`,
    );
    for (const w of r.wrongAt) process.stdout.write(`    ${w}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
