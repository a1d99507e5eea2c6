/**
 * Synthetic trial records for table and chart tests: plausible numbers (accuracy rises with width, dynamical losses
 * fit earlier, sharpness climbs to 2/eta and hovers there), no training.
 */
import { findThresholds, thresholdInputFromRecord, type ThresholdReport } from '../../core/thresholds.js';
import { TRIAL_RECORD_SCHEMA, isDynamical, type LossName, type TrialRecord } from '../../core/types.js';
import { trialConfig } from './science-helpers.js';

export interface SyntheticGrid {
  widths?: number[];
  lrs?: number[];
  losses?: LossName[];
  periods?: number[];
  amplitudes?: number[];
  seeds?: number[];
  steps?: number;
  sharpnessEvery?: number;
}

export function syntheticRecords(g: SyntheticGrid = {}): TrialRecord[] {
  const widths = g.widths ?? [2, 4, 8, 16, 32];
  const lrs = g.lrs ?? [0.1, 1];
  const losses = g.losses ?? ['ce', 'dce', 'mse', 'dmse1'];
  const seeds = g.seeds ?? [0, 1, 2];
  const steps = g.steps ?? 2000;
  const every = g.sharpnessEvery ?? 100;
  const out: TrialRecord[] = [];
  let n = 0;
  for (const loss of losses) {
    const dyn = isDynamical(loss);
    for (const period of dyn ? (g.periods ?? [50, 200]) : [null]) {
      for (const amplitude of dyn ? (g.amplitudes ?? [1, 5, 20]) : [null]) {
        for (const lr of lrs) {
          for (const width of widths) {
            for (const seed of seeds) {
              const config = trialConfig({ loss, width, lr, period, amplitude, seed, steps, sharpnessEvery: every });
              const boost = dyn && amplitude !== null && amplitude > 1 ? 1.6 : 1;
              const fit = Math.min(1, 0.35 + 0.18 * Math.log2(width * boost) + 0.02 * ((seed % 3) - 1));
              const diverged = lr === 1 && width === widths[0] && seed === seeds[0] && loss === 'mse';
              const sSteps = Array.from({ length: Math.floor(steps / every) + 1 }, (_, i) => i * every);
              const lambda = sSteps.map((s) => (2 / lr) * (1 - Math.exp(-s / 400)) * (0.9 + 0.1 * Math.sin(s / 37 + seed)) + 0.01 * width);
              out.push({
                schema: TRIAL_RECORD_SCHEMA,
                trialId: `t${String(n++).padStart(5, '0')}-${loss}-w${width}`,
                config,
                engine: { name: 'reference', version: 'ref-1', backend: 'float64' },
                params: 6 * width + 3,
                curves: { step: [0, steps], trainLoss: [1, 0.1], trainLossStatic: [1, 0.1], trainAcc: [0.3, fit], valLoss: [1, 0.2], valAcc: [0.3, fit * 0.95] },
                sharpness: {
                  step: sSteps,
                  dynamic: lambda,
                  dynamicResidual: lambda.map(() => 1e-6),
                  dynamicResidualKind: lambda.map(() => 'explicit' as const),
                  static: lambda.map((v) => v * 0.9),
                  staticResidual: lambda.map(() => 1e-6),
                  staticResidualKind: lambda.map(() => 'explicit' as const),
                  eosRatio: lambda.map((v) => (v * lr) / 2),
                  coldChecks: { step: [], dynamicWarm: [], dynamicCold: [], staticWarm: [], staticCold: [], mismatch: [] },
                  coldMismatches: 0,
                },
                final: {
                  trainLoss: diverged ? null : 0.1,
                  trainLossStatic: diverged ? null : 0.1,
                  trainAcc: diverged ? 0 : fit,
                  valLoss: diverged ? null : 0.2,
                  valAcc: diverged ? 0 : fit * 0.95,
                  sharpnessDynamic: diverged ? null : lambda[lambda.length - 1],
                  sharpnessStatic: diverged ? null : lambda[lambda.length - 1] * 0.9,
                },
                diverged,
                divergedAtStep: diverged ? 17 : null,
                stepsRun: diverged ? 17 : steps,
                wallTimeS: 1.5,
                stepsPerSecond: steps / 1.5,
                artifactKey: `artifacts/t${n}.json`,
              });
            }
          }
        }
      }
    }
  }
  return out;
}

export function syntheticThresholds(records: TrialRecord[], level = 0.9): ThresholdReport {
  return findThresholds(records.map(thresholdInputFromRecord), { level }, { bootstrap: 100 });
}
