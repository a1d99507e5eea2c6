/**
 * The report's figures as reusable functions: table rows (final metrics) or trial records (traces), and
 * thresholds.json, in; standalone SVG string out.
 * Built as Vega-Lite specs and rendered in Node (report/render.ts); `svgToPng` turns any of them into a PNG.
 * Every chart aggregates before drawing (medians over seeds, downsampled curves), so its size does not grow with
 * the number of trials. With nothing to draw a chart returns a small SVG that says so.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ThresholdReport } from '../core/thresholds.js';
import { isDynamical, type LossName, type TrialRecord } from '../core/types.js';
import {
  accuracyByWidth,
  accuracyOf,
  cellLabel,
  commonSchedule,
  displayCell,
  groupBy,
  inCell,
  lossesOf,
  medianSharpness,
  representativeWidths,
  sortedUnique,
  type FinalRow,
} from './data.js';
import { emptySvg, renderSpec } from './render.js';
import { TRACE_SEEDS } from './traces.js';
import { phaseRows, rasterRows, type TrialInstability } from './instability.js';
import { median } from '../core/statistics.js';

export { svgToPng, type PngOptions } from './png.js';

/** One colour per loss, stable across charts (static losses dark, their dynamical variants lighter). */
export const LOSS_COLORS: Record<LossName, string> = {
  ce: '#1f4e9c',
  dce: '#4fa3e0',
  mse: '#b3261e',
  dmse1: '#f08a24',
  dmse2: '#e7b416',
};

const METRIC_TITLE = { trainAcc: 'training accuracy', valAcc: 'validation accuracy' } as const;

export interface AccuracyChartOptions {
  /** Which final accuracy to plot. Default 'trainAcc'. */
  metric?: 'trainAcc' | 'valAcc';
  /** Draw the threshold markers (P* and its bootstrap interval at the criterion level). Default: when `metric`
   *  is the criterion's metric. */
  markers?: boolean;
  /** Plot size in pixels. Defaults 340 x 260. */
  width?: number;
  height?: number;
  title?: string;
}

/**
 * Final accuracy against parameter count (log x), one line per loss: median over seeds with a min–max band, drawn
 * for the loss's display cell (the headline cell of the thresholds, see data.displayCell). Threshold markers: a
 * dashed vertical rule at P*, a diamond at (P*, level) and a horizontal bar over the bootstrap interval (an interval
 * open above the grid is drawn to the largest grid P).
 */
export async function accuracyChart(
  finals: readonly FinalRow[],
  thresholds: ThresholdReport | null,
  opts: AccuracyChartOptions = {},
): Promise<string> {
  const metric = opts.metric ?? 'trainAcc';
  const title = opts.title ?? `Final ${METRIC_TITLE[metric]} vs parameter count`;
  const markers = opts.markers ?? thresholds?.criterion.metric === metric;
  const rows: Record<string, unknown>[] = [];
  const domain: string[] = [];
  const range: string[] = [];
  for (const loss of lossesOf(finals)) {
    const cell = displayCell(loss, finals, thresholds);
    const label = cellLabel(cell);
    const series = label ? `${loss} (${label})` : loss;
    const mine = finals.filter((r) => r.loss === loss && inCell(r, cell));
    if (mine.length === 0) continue;
    domain.push(series);
    range.push(LOSS_COLORS[loss]);
    const summary = accuracyByWidth(mine, metric);
    for (const s of summary) rows.push({ kind: 'curve', series, loss, ...s });
    const t = thresholds?.losses.find((l) => l.loss === loss)?.threshold;
    if (markers && thresholds && t?.reached && t.params !== null) {
      const maxP = finals.reduce((m, r) => (r.loss === loss ? Math.max(m, r.params) : m), 0);
      rows.push({
        kind: 'threshold',
        series,
        loss,
        params: t.params,
        level: thresholds.criterion.level,
        lower: t.ci?.lower ?? maxP,
        upper: t.ci ? (t.ci.upper ?? maxP) : t.params,
      });
    }
  }
  if (rows.length === 0) return emptySvg(title);
  const curve = { filter: "datum.kind === 'curve'" };
  const thr = { filter: "datum.kind === 'threshold'" };
  const gridParams = sortedUnique(finals.map((r) => r.params));
  const x = {
    field: 'params',
    type: 'quantitative',
    scale: { type: 'log', nice: false },
    axis: { values: gridParams, labelOverlap: 'greedy', grid: true },
    title: 'parameters P (log scale; ticks at the grid widths)',
  } as const;
  const color = { field: 'series', type: 'nominal', scale: { domain, range }, title: 'loss (cell)', legend: { symbolOpacity: 1 } } as const;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: title,
      subtitle: markers ? ['median over seeds, band: min–max;', '◆ threshold P* with its bootstrap interval'] : 'median over seeds, band: min–max',
    },
    width: opts.width ?? 340,
    height: opts.height ?? 260,
    data: { values: rows },
    layer: [
      {
        transform: [curve],
        mark: { type: 'area', opacity: 0.15 },
        encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color },
      },
      {
        transform: [curve],
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: 'median', type: 'quantitative', scale: { domain: [0, 1] }, title: `${METRIC_TITLE[metric]} (median over seeds)` },
          color,
        },
      },
      { transform: [thr], mark: { type: 'rule', strokeDash: [4, 3], opacity: 0.7 }, encoding: { x, color } },
      {
        transform: [thr],
        mark: { type: 'rule', strokeWidth: 3 },
        encoding: { x: { ...x, field: 'lower' }, x2: { field: 'upper' }, y: { field: 'level', type: 'quantitative' }, color },
      },
      {
        transform: [thr],
        mark: { type: 'point', shape: 'diamond', filled: true, size: 90, stroke: 'black', strokeWidth: 0.5 },
        encoding: { x, y: { field: 'level', type: 'quantitative' }, color },
      },
    ],
  };
  return renderSpec(spec as TopLevelSpec);
}

export interface SharpnessChartOptions {
  /** Loss whose trials are drawn. Default: the first loss present (LOSSES order). */
  loss?: LossName;
  /** Schedule of a dynamical loss (default: the pair with the most trials); ignored for static losses. */
  period?: number | null;
  amplitude?: number | null;
  /** Widths to draw. Default: up to `maxWidths` spread over the grid's widths. */
  widths?: number[];
  /** Default 4. */
  maxWidths?: number;
  /** Curve points per line (downsampling). Default 150. */
  maxPoints?: number;
  /** lambda_max of the trained loss ('dynamic', default) or of its static counterpart. */
  which?: 'dynamic' | 'static';
  /** Size of each panel. Defaults 260 x 180. */
  width?: number;
  height?: number;
  title?: string;
}

/**
 * Sharpness lambda_max against step (log y), one panel per learning rate with the stability limit 2/eta as a
 * dashed line, one line per width: the median over seeds at each recorded step (non-positive values are dropped).
 */
export async function sharpnessChart(records: readonly TrialRecord[], opts: SharpnessChartOptions = {}): Promise<string> {
  const loss = opts.loss ?? lossesOf(records.map((r) => r.config))[0];
  const which = opts.which ?? 'dynamic';
  let mine = records.filter((r) => r.config.loss === loss);
  let schedule = '';
  if (loss && isDynamical(loss)) {
    const def = commonSchedule(mine.map((r) => r.config));
    const period = opts.period !== undefined ? opts.period : def.period;
    const amplitude = opts.amplitude !== undefined ? opts.amplitude : def.amplitude;
    mine = mine.filter((r) => r.config.period === period && r.config.amplitude === amplitude);
    schedule = `, T=${period} A=${amplitude}`;
  }
  const title = opts.title ?? `Sharpness λmax (${which}) vs step — ${loss ?? 'no loss'}${schedule}`;
  const widths = opts.widths ?? representativeWidths(mine.map((r) => r.config.width), opts.maxWidths ?? 4);
  const rows: Record<string, unknown>[] = [];
  for (const [lr, trials] of groupBy(mine, (r) => r.config.lr)) {
    let any = false;
    for (const w of widths) {
      const group = trials.filter((r) => r.config.width === w);
      for (const p of medianSharpness(group, which, opts.maxPoints ?? 150)) {
        rows.push({ kind: 'trace', lr, width: w, step: p.step, lambda: p.median, trials: p.trials });
        any = true;
      }
    }
    if (any) rows.push({ kind: 'limit', lr, lambda: 2 / lr });
  }
  if (rows.length === 0) return emptySvg(title, 'no sharpness samples');
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: `median over seeds per width (the report reads at most ${TRACE_SEEDS} seeds a width); dashed: 2/η (stability limit)` },
    data: { values: rows },
    facet: { column: { field: 'lr', type: 'ordinal', header: { labelExpr: "'η = ' + datum.value", title: null } } },
    spec: {
      width: opts.width ?? 260,
      height: opts.height ?? 180,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'trace'" }],
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            x: { field: 'step', type: 'quantitative', title: 'step' },
            y: { field: 'lambda', type: 'quantitative', scale: { type: 'log' }, title: 'λmax (log scale)' },
            color: { field: 'width', type: 'ordinal', scale: { scheme: 'viridis' }, title: 'width' },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'limit'" }],
          mark: { type: 'rule', strokeDash: [6, 4], color: 'black' },
          encoding: { y: { field: 'lambda', type: 'quantitative' } },
        },
        {
          transform: [{ filter: "datum.kind === 'limit'" }],
          mark: { type: 'text', align: 'right', dy: -6, x: { expr: 'width' }, fontSize: 10 },
          encoding: { y: { field: 'lambda', type: 'quantitative' }, text: { value: '2/η' } },
        },
      ],
    },
  };
  return renderSpec(spec as TopLevelSpec);
}

export interface HeatmapChartOptions {
  /** A dynamical loss. */
  loss: LossName;
  /** Learning rate to draw. Default: the smallest present. */
  lr?: number;
  /** Panels per row. Default 4. */
  columns?: number;
  title?: string;
}

/**
 * Validation accuracy (median over seeds) over amplitude (y) x period (x), one panel per width, for one dynamical
 * loss at one learning rate. Amplitude 1 (if in the grid) is the static control.
 */
export async function heatmapChart(records: readonly FinalRow[], opts: HeatmapChartOptions): Promise<string> {
  const all = records.filter((r) => r.loss === opts.loss && r.period !== null && r.amplitude !== null);
  const lr = opts.lr ?? sortedUnique(all.map((r) => r.lr))[0];
  const mine = all.filter((r) => r.lr === lr);
  const title = opts.title ?? `Validation accuracy over amplitude × period — ${opts.loss}, η = ${lr ?? '-'}`;
  if (mine.length === 0) return emptySvg(title);
  const rows = [...groupBy(mine, (r) => `${r.width}|${r.period}|${r.amplitude}`).values()].map((ts) => ({
    width: ts[0].width,
    params: ts[0].params,
    period: ts[0].period,
    amplitude: ts[0].amplitude,
    seeds: ts.length,
    median: median(ts.map((r) => accuracyOf(r, 'valAcc'))),
  }));
  const lo = Math.min(...rows.map((r) => r.median));
  const hi = Math.max(...rows.map((r) => r.median));
  const mid = (lo + hi) / 2;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: 'median over seeds; one panel per width' },
    data: { values: rows },
    columns: opts.columns ?? 4,
    facet: { field: 'width', type: 'ordinal', sort: 'ascending', header: { labelExpr: "'width ' + datum.value", title: null } },
    spec: {
      width: { step: 40 },
      height: { step: 24 },
      layer: [
        {
          mark: { type: 'rect' },
          encoding: {
            x: { field: 'period', type: 'ordinal', sort: 'ascending', title: 'period T' },
            y: { field: 'amplitude', type: 'ordinal', sort: 'descending', title: 'amplitude A' },
            color: {
              field: 'median',
              type: 'quantitative',
              scale: { scheme: 'viridis', domain: [lo, hi === lo ? lo + 1e-6 : hi] },
              title: 'val. acc.',
            },
          },
        },
        {
          mark: { type: 'text', fontSize: 9 },
          encoding: {
            x: { field: 'period', type: 'ordinal', sort: 'ascending' },
            y: { field: 'amplitude', type: 'ordinal', sort: 'descending' },
            text: { field: 'median', type: 'quantitative', format: '.2f' },
            color: { condition: { test: `datum.median < ${mid}`, value: 'white' }, value: 'black' },
          },
        },
      ],
    },
  };
  return renderSpec(spec as TopLevelSpec);
}

const EVENT_STYLE = {
  domain: ['crossing', 'spike', 'blow-up'],
  shapes: ['circle', 'triangle-up', 'cross'],
  colors: ['#1f4e9c', '#f08a24', '#b3261e'],
};

/**
 * Instability over time, one row per trial (those with the most events, at most RASTER_TRIALS, report/instability.ts):
 * a tick at every crossing of 2/eta, a triangle at every loss spike, a cross at the blow-up.
 */
export async function instabilityRasterChart(trials: readonly TrialInstability[], opts: { width?: number; title?: string } = {}): Promise<string> {
  const { rows, shown, withEvents } = rasterRows(trials);
  const title = opts.title ?? 'Crossings of 2/η, loss spikes and blow-ups per trial over time';
  if (rows.length === 0) return emptySvg(title, `no trial crossed 2/η, spiked or blew up (${trials.length} trials)`);
  const order = [...new Set(rows.map((r) => r.trial))];
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: `${shown} of ${withEvents} trials with events (of ${trials.length}), most events first` },
    width: opts.width ?? 520,
    height: { step: 14 },
    data: { values: rows },
    mark: { type: 'point', filled: true, size: 50, opacity: 0.8 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'trial', type: 'nominal', sort: order, title: null, axis: { labelLimit: 260 } },
      shape: { field: 'kind', type: 'nominal', scale: { domain: EVENT_STYLE.domain, range: EVENT_STYLE.shapes }, title: 'event' },
      color: { field: 'kind', type: 'nominal', scale: { domain: EVENT_STYLE.domain, range: EVENT_STYLE.colors }, title: 'event' },
    },
  };
  return renderSpec(spec as TopLevelSpec);
}

/**
 * Where in the schedule's period crossings of 2/eta and blow-ups happen: counts per phase bin of (step mod T)/T,
 * stacked by the class emphasised then, one column per dynamical loss (steps where the loss is static are left out).
 */
export async function instabilityPhaseChart(trials: readonly TrialInstability[], opts: { width?: number; height?: number; title?: string } = {}): Promise<string> {
  const rows = phaseRows(trials).map((r) => ({ ...r, class: `class ${r.emphasised}` }));
  const title = opts.title ?? 'Where in the period: crossings of 2/η and blow-ups by phase (step mod T)/T';
  if (rows.length === 0) return emptySvg(title, 'no crossing or blow-up while a dynamical loss was dynamical');
  const losses = lossesOf(rows);
  const classes = sortedUnique(rows.map((r) => r.emphasised)).map((c) => `class ${c}`);
  // One faceted row per kind of event (a row x column facet mislays cells in the headless renderer).
  const panel = (kind: 'crossing' | 'blow-up', name: string) => ({
    data: { values: rows.filter((r) => r.kind === kind) },
    facet: { column: { field: 'loss', type: 'nominal', sort: losses, title: null } },
    spec: {
      width: opts.width ?? 220,
      height: opts.height ?? 110,
      mark: { type: 'bar', stroke: 'white', strokeWidth: 0.5 },
      encoding: {
        x: { field: 'bin0', type: 'quantitative', scale: { domain: [0, 1] }, title: 'phase (step mod T) / T' },
        x2: { field: 'bin1' },
        y: { field: 'count', type: 'quantitative', aggregate: 'sum', stack: 'zero', title: name },
        color: { field: 'class', type: 'nominal', scale: { domain: classes, scheme: 'set2' }, title: 'emphasised' },
      },
    },
  });
  const kinds = (['crossing', 'blow-up'] as const).filter((k) => rows.some((r) => r.kind === k));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: 'stacked by the emphasised class; the class weighs A at phase 0.5' },
    vconcat: kinds.map((k) => panel(k, k === 'crossing' ? 'crossings of 2/η' : 'blow-ups')),
  };
  return renderSpec(spec as TopLevelSpec);
}
