/**
 * The answer a decision-maker reads first: one sentence per dynamical loss (per loss when the sweep has no
 * dynamical one) from thresholds.json, shown at the top of report.html and at the end of `sweep start --wait`.
 * A sentence only claims a difference when the paired interval of the ratio excludes 1.
 */
import type { LossThreshold, RatioEstimate, ThresholdEstimate, ThresholdReport } from '../thresholds.js';

/** Parameter counts: whole numbers stay whole (a geometric mean of two grid values need not be). */
const fmtP = (p: number): string => (p >= 100 || Math.abs(p - Math.round(p)) < 1e-6 ? p.toFixed(0) : p.toPrecision(3));
const fmtR = (r: number): string => (r >= 10 ? r.toFixed(1) : r.toPrecision(2));
const pct = (c: number): string => `${Math.round(c * 100)}%`;

function fitPhrase(report: ThresholdReport): string {
  const c = report.criterion;
  if (c.level === 'achievable') return c.metric === 'trainAcc' ? 'fit the training set' : 'reached the achievable validation accuracy';
  return `reached a median ${c.metric} ${c.direction === 'atLeast' ? '≥' : '≤'} ${report.level}`;
}

function interval(lower: number | null, upper: number | null, fmt: (x: number) => string, confidence: number): string {
  const lo = lower === null ? '–∞' : fmt(lower);
  const hi = upper === null ? '∞' : fmt(upper);
  if (lower === null && upper === null) return `${pct(confidence)} interval unbounded`;
  return `${pct(confidence)} interval ${lower === null ? `below ${hi}` : upper === null ? `above ${lo}` : `${lo}–${hi}`}`;
}

function thresholdPhrase(t: ThresholdEstimate): string {
  if (!t.reached) return `did not within the grid (P > ${t.above === null ? '?' : fmtP(t.above)})`;
  const ci = t.ci ? ` (${interval(t.ci.lower, t.ci.upper, fmtP, t.ci.confidence)})` : '';
  return `at P ${t.censoredBelow ? '≤' : '='} ${fmtP(t.params!)}${ci}`;
}

function howSelected(l: LossThreshold): string {
  const s = l.selection;
  const cells = [...new Set(s.folds.map((f) => f.label))].join(' / ');
  if (s.method === 'cross-fit') return `best of ${s.candidates} cells (${cells}), cross-fitted over seeds`;
  if (s.method === 'declared') return `declared cell ${cells}`;
  return `cell ${cells}`;
}

function ratioSentence(l: LossThreshold, r: RatioEstimate, fits: string): string {
  const how = `${howSelected(l)}; ${r.pairedSeeds} paired seed${r.pairedSeeds === 1 ? '' : 's'}`;
  const ratio = r.value !== null ? fmtR(r.value) : r.bound ? `${r.bound.relation} ${fmtR(r.bound.value)}` : 'undetermined';
  const ci = r.ci ? `, ${interval(r.ci.lower, r.ci.upper, fmtR, r.ci.confidence)}` : '';
  const dyn = l.threshold;
  if (!dyn.reached && r.staticParams === null) return `Neither ${l.loss} nor ${r.against} ${fits} within the grid (${how}).`;
  const stat = r.staticParams !== null ? `at P = ${fmtP(r.staticParams)}` : 'not within the grid';
  const head = `${l.loss} ${dyn.reached ? `${fits} ${thresholdPhrase(dyn)}` : `did not ${fits} within the grid`}, ${r.against} ${stat}`;
  switch (r.verdict) {
    case 'smaller':
      return `${head}: ${l.loss} needed ${ratio} of the parameters (ratio${ci}; ${how}).`;
    case 'larger':
      return `${head}: ${l.loss} needed ${ratio} times the parameters (ratio${ci}; ${how}).`;
    case 'no-difference':
      return `${head}: the data does not support a difference (ratio ${ratio}${ci}; ${how}).`;
    default:
      return `${head}: ratio ${ratio} (no interval: bootstrap is off; ${how}).`;
  }
}

export function findingsOf(report: ThresholdReport): string[] {
  const fits = fitPhrase(report);
  const dynamical = report.losses.filter((l) => l.dynamical);
  const shown = dynamical.length > 0 ? dynamical : report.losses;
  return shown.map((l) => {
    if (l.selection.method === 'none') return `${l.loss}: no headline threshold: ${l.selection.note}.`;
    if (l.ratioToStatic) return ratioSentence(l, l.ratioToStatic, fits);
    const t = l.threshold;
    const verb = t.reached ? `${fits} ${thresholdPhrase(t)}` : `did not ${fits} within the grid (P > ${t.above === null ? '?' : fmtP(t.above)})`;
    const missing = l.dynamical ? ` (no ${l.staticCounterpart} trials to compare with)` : '';
    return `${l.loss} ${verb}${missing} (${howSelected(l)}).`;
  });
}
