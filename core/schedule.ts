/**
 * Class weights Gamma_i(t) of the dynamical losses (SCIENCE.md "The class weights"). In period
 * m = floor(t/T) class c = m mod C is emphasised with raw weight g (triangle or sine, 1 at the period's
 * ends, A in the middle), the others have 1, and all are normalised to sum C.
 */
import type { ScheduleShape, TrialConfig } from './types.js';
import { isDynamical } from './types.js';

export interface ScheduleConfig {
  classes: number;
  /** Period T in steps; null: static loss. */
  period: number | null;
  /** Amplitude A >= 1; null: static loss. */
  amplitude: number | null;
  shape: ScheduleShape;
  /** Total steps, to place the final static segment. */
  steps: number;
  /** Steps t >= steps - finalStaticSteps train with A = 1. */
  finalStaticSteps: number;
}

/** The schedule of a trial; static losses get null period/amplitude whatever their config says. */
export function scheduleOf(config: TrialConfig): ScheduleConfig {
  const dyn = isDynamical(config.loss);
  return {
    classes: config.dataset.classes,
    period: dyn ? config.period : null,
    amplitude: dyn ? config.amplitude : null,
    shape: config.shape,
    steps: config.steps,
    finalStaticSteps: config.finalStaticSteps,
  };
}

/** Raw weight of the emphasised class at phase tau in [0, T). */
function rawWeight(tau: number, T: number, A: number, shape: ScheduleShape): number {
  if (shape === 'sine') return 1 + (A - 1) * Math.sin((Math.PI * tau) / T);
  if (shape === 'triangle') return 1 + (A - 1) * (1 - Math.abs((2 * tau) / T - 1));
  throw new Error(`classWeights: unknown shape ${String(shape)}`);
}

/** True when Gamma(t) is exactly all ones. */
export function isStaticAt(t: number, cfg: ScheduleConfig): boolean {
  return (
    cfg.period === null ||
    cfg.amplitude === null ||
    cfg.amplitude === 1 ||
    (cfg.finalStaticSteps > 0 && t >= cfg.steps - cfg.finalStaticSteps)
  );
}

/** Gamma(t), length C, written into `out` (offset 0) when given. */
export function classWeights(t: number, cfg: ScheduleConfig, out?: Float64Array): Float64Array {
  const C = cfg.classes;
  const g = out ?? new Float64Array(C);
  if (isStaticAt(t, cfg)) {
    g.fill(1, 0, C);
    return g;
  }
  const T = cfg.period as number;
  const A = cfg.amplitude as number;
  if (!(T > 0)) throw new Error(`classWeights: period must be > 0, got ${T}`);
  if (!(A >= 1)) throw new Error(`classWeights: amplitude must be >= 1, got ${A}`);
  const m = Math.floor(t / T);
  const c = m % C;
  const raw = rawWeight(t - m * T, T, A, cfg.shape);
  const scale = C / (raw + (C - 1));
  for (let i = 0; i < C; i++) g[i] = i === c ? raw * scale : scale;
  return g;
}
