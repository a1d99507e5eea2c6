/**
 * Figures and numbers of docs/reproduction.md, produced by the product's own code: the records and
 * thresholds.json a sweep wrote, the report's chart functions (report/charts.ts, vega-lite -> SVG) and svgToPng,
 * and core/thresholds.ts for per-learning-rate thresholds.
 *
 *   node dist/tools/figures.js --main <results folder> --traces <results folder> --out docs/figures \
 *     --numbers docs/figures/reproduction-numbers.json
 *
 * A results folder is a sweep's folder in a local store (<store>/<sweepId>: trials/, thresholds.json).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { accuracyChart, heatmapChart, sharpnessChart, svgToPng } from '../report/charts.js';
import { findThresholds, thresholdInputFromRecord, type ThresholdReport } from '../core/thresholds.js';
import { LOSSES, type LossName, type TrialRecord } from '../core/types.js';
import { median } from '../core/statistics.js';
import { achievableOf, MANIFEST_KEY, type Manifest } from '../activities/manifest.js';

function readRecords(dir: string): TrialRecord[] {
  const t = path.join(dir, 'trials');
  return readdirSync(t)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(t, f), 'utf8')) as TrialRecord);
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
    cells: l.cells.map((c) => ({ label: c.label, reached: c.threshold.reached, params: round(c.threshold.params, 1), ratio: round(c.ratioToStatic?.value ?? null, 3) })),
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      main: { type: 'string' },
      traces: { type: 'string' },
      out: { type: 'string', default: 'docs/figures' },
      numbers: { type: 'string' },
      /** Extra criterion levels (same metric) to report besides the grid's, e.g. "0.95,0.9". */
      levels: { type: 'string' },
    },
  });
  const out = values.out!;
  mkdirSync(out, { recursive: true });
  const numbers: Record<string, unknown> = {};

  if (values.main) {
    const records = readRecords(values.main);
    const thresholds = JSON.parse(readFileSync(path.join(values.main, 'thresholds.json'), 'utf8')) as ThresholdReport;
    const crit = thresholds.criterion;
    // What level 'achievable' stands for: the data's ceilings from manifest.json, else recomputed from the records.
    const manifestFile = path.join(values.main, MANIFEST_KEY);
    const manifest = existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest) : null;
    const achievable = achievableOf(manifest, records);
    const byLr: Record<string, ReturnType<typeof thresholdBrief>> = {};
    for (const lr of uniq(records.map((r) => r.config.lr))) {
      const mine = records.filter((r) => r.config.lr === lr);
      const rep = findThresholds(mine.map(thresholdInputFromRecord), crit, {
        bootstrap: thresholds.bootstrap.replicates,
        confidence: thresholds.bootstrap.confidence,
        valTolerance: thresholds.valTolerance,
        achievable,
      });
      byLr[String(lr)] = thresholdBrief(rep);
      for (const metric of ['trainAcc', 'valAcc'] as const) {
        await png(
          out,
          `accuracy-${metric === 'trainAcc' ? 'train' : 'val'}-lr${lr}.png`,
          await accuracyChart(mine, rep, { metric, title: `Final ${metric === 'trainAcc' ? 'training' : 'validation'} accuracy vs P, η = ${lr}` }),
        );
      }
    }
    await png(out, 'accuracy-train.png', await accuracyChart(records, thresholds, { metric: 'trainAcc' }));
    await png(out, 'accuracy-val.png', await accuracyChart(records, thresholds, { metric: 'valAcc' }));
    for (const loss of ['dce', 'dmse1', 'dmse2'] as LossName[]) {
      if (!records.some((r) => r.config.loss === loss)) continue;
      const lrs = uniq(records.map((r) => r.config.lr));
      await png(out, `heatmap-val-${loss}.png`, await heatmapChart(records, { loss, lr: lrs[lrs.length - 1], columns: 7 }));
    }
    const dceRecords = records.filter((r) => r.config.loss === 'dce');
    if (dceRecords.length) {
      const A = Math.max(...dceRecords.map((r) => r.config.amplitude ?? 1));
      const T = Math.min(...dceRecords.map((r) => r.config.period ?? Infinity));
      await png(out, 'sharpness-dce.png', await sharpnessChart(records, { loss: 'dce', period: T, amplitude: A, maxWidths: 3 }));
    }
    const secondary: Record<string, unknown> = {};
    for (const level of (values.levels ?? '').split(',').filter(Boolean).map(Number)) {
      const opts = { bootstrap: thresholds.bootstrap.replicates, confidence: thresholds.bootstrap.confidence, valTolerance: thresholds.valTolerance, achievable };
      const rep = findThresholds(records.map(thresholdInputFromRecord), { ...crit, level }, opts);
      const perLr: Record<string, ReturnType<typeof thresholdBrief>> = {};
      for (const lr of uniq(records.map((r) => r.config.lr))) {
        const mine = records.filter((r) => r.config.lr === lr);
        perLr[String(lr)] = thresholdBrief(findThresholds(mine.map(thresholdInputFromRecord), { ...crit, level }, opts));
      }
      secondary[String(level)] = { all: thresholdBrief(rep), byLr: perLr };
      await png(
        out,
        `accuracy-train-level${level}.png`,
        await accuracyChart(records, rep, { metric: crit.metric === 'valAcc' ? 'valAcc' : 'trainAcc', title: `Final training accuracy vs P, threshold at level ${level}` }),
      );
    }
    const wall = new Map<string, number>();
    for (const r of records) wall.set(`${r.config.width}|${r.config.loss === 'ce' || r.config.loss === 'dce' ? 'ce' : 'mse'}|${r.wallTimeS}`, r.wallTimeS);
    numbers.main = {
      trials: records.length,
      diverged: records.filter((r) => r.diverged).length,
      divergedByLossLr: Object.fromEntries(
        LOSSES.flatMap((l) => uniq(records.map((r) => r.config.lr)).map((lr) => [`${l}@${lr}`, records.filter((r) => r.config.loss === l && r.config.lr === lr && r.diverged).length])),
      ),
      sumOfPackWallTimeS: round([...wall.values()].reduce((a, b) => a + b, 0), 1),
      engines: [...new Set(records.map((r) => `${r.engine.name} v${r.engine.version} ${r.engine.backend}`))],
      criterion: crit,
      thresholds: thresholdBrief(thresholds),
      thresholdsByLr: byLr,
      secondaryLevels: secondary,
      accuracy: accuracyTable(records),
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
