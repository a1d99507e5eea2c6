/**
 * Figures and numbers of docs/reproduction.md, produced by the product's own code: the records and
 * thresholds.json a sweep wrote, the report's chart functions (report/charts.ts, vega-lite -> SVG) and svgToPng,
 * and core/thresholds.ts for per-learning-rate thresholds.
 *
 *   node dist/tools/figures.js --main <results folder> [--main <results folder> ...] --traces <results folder> \
 *     --out docs/figures --numbers docs/figures/reproduction-numbers.json
 *
 * A results folder is a sweep's folder in a local store (<store>/<sweepId>: trials/, thresholds.json).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { accuracyChart, heatmapChart, sharpnessChart, svgToPng } from '../report/charts.js';
import { findThresholds, thresholdArgsOf, thresholdInputFromRecord, type ThresholdReport } from '../core/thresholds.js';
import { findingsOf } from '../core/thresholds/findings.js';
import { parseGrid } from '../core/grid/index.js';
import { LOSSES, type LossName, type TrialRecord } from '../core/types.js';
import { median } from '../core/statistics.js';
import { achievableOf, type Manifest, type PackPlan } from '../results/manifest.js';
import { GRID_KEY, MANIFEST_KEY } from '../results/layout.js';
import { trialRow } from '../results/tables.js';

/** Trial ids of the folder's plan: the pack files, or an older manifest's inline trials. */
function plannedIds(dir: string): string[] {
  const packs = path.join(dir, 'plan', 'packs');
  if (existsSync(packs)) {
    return readdirSync(packs).flatMap((f) => (JSON.parse(readFileSync(path.join(packs, f), 'utf8')) as PackPlan).trials.map((t) => t.id));
  }
  return (JSON.parse(readFileSync(path.join(dir, MANIFEST_KEY), 'utf8')) as { trials: { id: string }[] }).trials.map((t) => t.id);
}

/** The records of the folder's sweep: the planned trials (as finalize reads them), else every record there. */
function readRecords(dir: string): TrialRecord[] {
  const ids = existsSync(path.join(dir, MANIFEST_KEY))
    ? plannedIds(dir).map((id) => `${id}.json`)
    : readdirSync(path.join(dir, 'trials')).filter((f) => f.endsWith('.json'));
  return ids.flatMap((f) => {
    const file = path.join(dir, 'trials', f);
    return existsSync(file) ? [JSON.parse(readFileSync(file, 'utf8')) as TrialRecord] : [];
  });
}

/** Median over seeds; NaN (written as null) when nothing is left, e.g. every trial diverged. */
const medianOrNaN = (xs: number[]): number => (xs.length ? median(xs) : NaN);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x: number | null, d = 4): number | null => (x === null || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
const uniq = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);

async function png(out: string, name: string, svg: string): Promise<void> {
  const bytes = svgToPng(svg, { scale: 1.5 });
  writeFileSync(path.join(out, name), bytes);
  process.stderr.write(`${name}: ${(bytes.length / 1024).toFixed(0)} KB\n`);
}

const acc = (r: TrialRecord, m: 'trainAcc' | 'valAcc') => (r.diverged ? 0 : r.final[m]);

/** Median over seeds of final accuracies per (loss, lr, T, A, width). */
function accuracyTable(records: TrialRecord[]) {
  const cells = new Map<string, TrialRecord[]>();
  for (const r of records) {
    const c = r.config;
    const k = JSON.stringify([c.loss, c.lr, c.period, c.amplitude, c.width]);
    const list = cells.get(k);
    if (list) list.push(r);
    else cells.set(k, [r]);
  }
  return [...cells.values()].map((ts) => {
    const c = ts[0].config;
    return {
      loss: c.loss,
      lr: c.lr,
      period: c.period,
      amplitude: c.amplitude,
      width: c.width,
      params: ts[0].params,
      seeds: ts.length,
      diverged: ts.filter((r) => r.diverged).length,
      trainAcc: round(medianOrNaN(ts.map((r) => acc(r, 'trainAcc')))),
      valAcc: round(medianOrNaN(ts.map((r) => acc(r, 'valAcc')))),
      finalSharpnessStatic: round(medianOrNaN(ts.filter((r) => !r.diverged && r.final.sharpnessStatic !== null).map((r) => r.final.sharpnessStatic!))),
    };
  });
}

function thresholdBrief(report: ThresholdReport) {
  return report.losses.map((l) => ({
    loss: l.loss,
    reached: l.threshold.reached,
    params: round(l.threshold.params, 1),
    width: round(l.threshold.width, 2),
    gridWidth: l.threshold.gridWidth,
    censoredBelow: l.threshold.censoredBelow,
    nonMonotone: l.threshold.nonMonotone,
    ci: l.threshold.ci ? { lower: round(l.threshold.ci.lower, 1), upper: round(l.threshold.ci.upper, 1), notReached: l.threshold.ci.censored } : null,
    selection: { method: l.selection.method, cells: l.selection.folds.map((f) => f.label) },
    validation: {
      best: round(l.validation.best),
      bestParams: l.validation.bestParams,
      bestCell: l.validation.bestCell,
      smallestParamsWithinTolerance: l.validation.smallestParamsWithinTolerance,
    },
    ratio: l.ratioToStatic
      ? {
          value: round(l.ratioToStatic.value, 3),
          bound: l.ratioToStatic.bound,
          ci: l.ratioToStatic.ci ? { lower: round(l.ratioToStatic.ci.lower, 3), upper: round(l.ratioToStatic.ci.upper, 3) } : null,
          fractionBelowOne: round(l.ratioToStatic.fractionBelowOne, 3),
          verdict: l.ratioToStatic.verdict,
          pairedSeeds: l.ratioToStatic.pairedSeeds,
        }
      : null,
    cells: l.cells.map((c) => ({
      label: c.label,
      control: c.control,
      reached: c.threshold.reached,
      params: round(c.threshold.params, 1),
      ci: c.threshold.ci ? { lower: round(c.threshold.ci.lower, 1), upper: round(c.threshold.ci.upper, 1) } : null,
      nonMonotone: c.threshold.nonMonotone ? { firstMet: c.threshold.nonMonotone.firstMet.width, lostAt: c.threshold.nonMonotone.lostAt.width } : null,
      ratio: c.ratioToStatic
        ? {
            value: round(c.ratioToStatic.value, 3),
            bound: c.ratioToStatic.bound,
            ci: c.ratioToStatic.ci ? { lower: round(c.ratioToStatic.ci.lower, 3), upper: round(c.ratioToStatic.ci.upper, 3) } : null,
            verdict: c.ratioToStatic.verdict,
          }
        : null,
    })),
  }));
}

/** Mean (and median) over seeds of lambda_max at chosen steps, time above 2/eta, per (width, lr). */
function traceTable(records: TrialRecord[]) {
  const out = [];
  for (const lr of uniq(records.map((r) => r.config.lr))) {
    for (const width of uniq(records.map((r) => r.config.width))) {
      const ts = records.filter((r) => r.config.lr === lr && r.config.width === width);
      if (ts.length === 0) continue;
      const steps = ts[0].sharpness.step;
      const at = (s: number) => {
        const v = ts.map((r) => r.sharpness.dynamic[r.sharpness.step.indexOf(s)]).filter((x): x is number => x !== null && x !== undefined);
        return { step: s, mean: round(mean(v), 3), median: round(medianOrNaN(v), 3), n: v.length };
      };
      const marks = [0, 250, 500, 1000, 2000, 5000, steps[steps.length - 1]].filter((s, i, a) => steps.includes(s) && a.indexOf(s) === i);
      const meanCurve = steps.map((s) => at(s).mean ?? NaN);
      const limit = 2 / lr;
      const first = meanCurve.findIndex((v) => v >= 0.9 * limit);
      const above = ts.map((r) => r.sharpness.eosRatio.filter((x) => x !== null && x > 1).length / r.sharpness.step.length);
      out.push({
        lr,
        width,
        params: ts[0].params,
        seeds: ts.length,
        diverged: ts.filter((r) => r.diverged).length,
        limit: round(limit, 3),
        at: marks.map(at),
        maxOfMean: round(Math.max(...meanCurve.filter(Number.isFinite)), 3),
        firstStepMeanAbove90pctLimit: first >= 0 ? steps[first] : null,
        fractionOfSamplesAboveLimit: round(mean(above), 3),
        finalTrainAcc: round(medianOrNaN(ts.map((r) => acc(r, 'trainAcc')))),
        finalValAcc: round(medianOrNaN(ts.map((r) => acc(r, 'valAcc')))),
      });
    }
  }
  return out;
}

/**
 * Thresholds of a results folder as the product computes them now: the grid's criterion (grid.yaml), the data's
 * ceilings (manifest.json), core/thresholds.ts. Not the thresholds.json stored at the time, so that a folder
 * recorded before a change of the statistics is analysed with the current ones.
 */
function thresholdsOf(dir: string, records: TrialRecord[], level?: number): { report: ThresholdReport; name: string } {
  const manifestFile = path.join(dir, MANIFEST_KEY);
  const manifest = existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest) : null;
  const spec = parseGrid(readFileSync(path.join(dir, GRID_KEY), 'utf8'), GRID_KEY);
  const { criterion, options } = thresholdArgsOf(spec.threshold, achievableOf(manifest, records));
  const report = findThresholds(records.map(thresholdInputFromRecord), level === undefined ? criterion : { ...criterion, level }, options);
  return { report, name: manifest?.name ?? path.basename(dir) };
}

/** Per width, seeds that fit on their own, for every cell of every loss. */
function fitTable(report: ThresholdReport) {
  return report.losses.flatMap((l) => l.cells.map((c) => ({ loss: l.loss, cell: c.label, control: c.control, fit: c.curve.map((p) => ({ width: p.width, params: p.params, fit: p.fit, seeds: p.seeds, diverged: p.diverged })) })));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      /** Results folders of thresholds sweeps (repeatable); figures are prefixed with the sweep's name. */
      main: { type: 'string', multiple: true },
      traces: { type: 'string' },
      out: { type: 'string', default: 'docs/figures' },
      numbers: { type: 'string' },
      /** Secondary fixed levels of the grid's metric, e.g. "0.95,0.9": descriptive, beside the grid's criterion. */
      levels: { type: 'string' },
    },
  });
  const out = values.out!;
  mkdirSync(out, { recursive: true });
  const numbers: Record<string, unknown> = {};

  for (const dir of values.main ?? []) {
    const records = readRecords(dir);
    const { report, name } = thresholdsOf(dir, records);
    for (const metric of ['trainAcc', 'valAcc'] as const) {
      await png(out, `${name}-accuracy-${metric === 'trainAcc' ? 'train' : 'val'}.png`, await accuracyChart(records.map(trialRow), report, { metric }));
    }
    for (const loss of ['dce', 'dmse1', 'dmse2'] as LossName[]) {
      for (const lr of uniq(records.filter((r) => r.config.loss === loss).map((r) => r.config.lr))) {
        const periods = uniq(records.filter((r) => r.config.loss === loss).map((r) => r.config.period ?? 0));
        const amplitudes = uniq(records.filter((r) => r.config.loss === loss).map((r) => r.config.amplitude ?? 0));
        if (periods.length * amplitudes.length > 1) await png(out, `${name}-heatmap-val-${loss}-lr${lr}.png`, await heatmapChart(records.map(trialRow), { loss, lr, columns: 7 }));
      }
    }
    const wall = new Map<string, number>();
    for (const r of records) wall.set(`${r.config.width}|${r.config.loss === 'ce' || r.config.loss === 'dce' ? 'ce' : 'mse'}|${r.wallTimeS}`, r.wallTimeS);
    numbers[name] = {
      folder: dir,
      trials: records.length,
      diverged: records.filter((r) => r.diverged).length,
      divergedByLossLr: Object.fromEntries(
        LOSSES.flatMap((l) => uniq(records.map((r) => r.config.lr)).map((lr) => [`${l}@${lr}`, records.filter((r) => r.config.loss === l && r.config.lr === lr && r.diverged).length])),
      ),
      sumOfPackWallTimeS: round([...wall.values()].reduce((a, b) => a + b, 0), 1),
      engines: [...new Set(records.map((r) => `${r.engine.name} v${r.engine.version} ${r.engine.backend}`))],
      criterion: report.criterion,
      level: report.level,
      achievable: report.achievable,
      findings: findingsOf(report),
      thresholds: thresholdBrief(report),
      fit: fitTable(report),
      warnings: report.warnings,
      accuracy: accuracyTable(records),
      secondaryLevels: Object.fromEntries(
        (values.levels ?? '')
          .split(',')
          .filter(Boolean)
          .map(Number)
          .map((level) => {
            const r = thresholdsOf(dir, records, level).report;
            return [String(level), { findings: findingsOf(r), thresholds: thresholdBrief(r) }];
          }),
      ),
    };
  }

  if (values.traces) {
    const records = readRecords(values.traces);
    const widths = uniq(records.map((r) => r.config.width));
    await png(out, 'sharpness-traces.png', await sharpnessChart(records, { loss: 'ce', widths, maxPoints: 200, width: 380, height: 240 }));
    numbers.traces = { trials: records.length, engines: [...new Set(records.map((r) => `${r.engine.name} v${r.engine.version}`))], table: traceTable(records) };
  }
  if (values.numbers) writeFileSync(values.numbers, `${JSON.stringify(numbers, null, 1)}\n`);
}

await main();
