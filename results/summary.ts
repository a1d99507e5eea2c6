/** The keys and shape of a sweep's summary files: light, so the CLI reads them without loading finalize's renderers. */
import type { ThresholdReport } from '../core/thresholds.js';
export { SUMMARY_KEY, THRESHOLDS_KEY } from './layout.js';

/** A loss's threshold in brief (summary.json, the workflow's result and the web UI). */
export interface ThresholdBrief {
  params: number | null;
  width: number | null;
  reached: boolean;
}

/** Trials without a record listed by name in summary.json; beyond it only counted (a failed 1,000,000-trial sweep). */
export const MAX_LISTED_FAILURES = 1_000;

/** `summary.json`: the sweep at a glance; complete on its own, without Temporal. */
export interface SweepSummary {
  schema: 'dynsweep.summary/1';
  sweepId: string;
  name: string;
  gridHash: string;
  status: 'completed' | 'failed' | 'cancelled';
  trials: number;
  completed: number;
  failed: number;
  diverged: number;
  /**
   * Trials without a record (or with a record that cannot be read), with the error that ended their pack: the
   * first MAX_LISTED_FAILURES of them in plan order; `failed` counts them all.
   */
  failures: { trialId: string; packIndex: number | null; message: string }[];
  thresholds: Record<string, ThresholdBrief>;
  /** One sentence per dynamical loss: what the sweep found (core/thresholds/findings.ts). */
  findings: string[];
  finishedAt: string;
}

export function briefOf(report: ThresholdReport): Record<string, ThresholdBrief> {
  return Object.fromEntries(
    report.losses.map((l) => [l.loss, { params: l.threshold.params, width: l.threshold.width, reached: l.threshold.reached }]),
  );
}
