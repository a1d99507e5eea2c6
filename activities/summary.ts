/** The keys and shape of a sweep's summary files: light, so the CLI reads them without loading finalize's renderers. */
import type { ThresholdReport } from '../core/thresholds.js';
import type { ThresholdBrief } from './contracts.js';

export const SUMMARY_KEY = 'summary.json';
export const THRESHOLDS_KEY = 'thresholds.json';

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
  /** Trials without a record, with the error that ended their pack. */
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
