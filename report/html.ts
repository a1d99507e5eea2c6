/**
 * report.html: one self-contained page (inline CSS and inline SVG charts; no scripts, no external URLs except an
 * optional link to the Temporal web UI) that shows a sweep's results. Built from the sweep's table rows (final
 * metrics of every trial), the full records of the trials whose traces it draws, and thresholds.json.
 */
import type { SweepSummary } from '../results/summary.js';
import { verdictHeadline, type RegressionReport } from '../core/regression.js';
import type { LossThreshold, ThresholdReport } from '../core/thresholds.js';
import { findingsOf } from '../core/thresholds/findings.js';
import { isDynamical, type TrialRecord } from '../core/types.js';
import { accuracyChart, heatmapChart, instabilityPhaseChart, instabilityRasterChart, sharpnessChart } from './charts.js';
import { blowUps, instabilityTable, trialInstability } from './instability.js';
import { SPIKE_RATIO } from '../core/monitor.js';
import { REPORT_MAX_TRIALS } from './traces.js';
import { displayCell, lossesOf, sortedUnique } from './data.js';
import type { TrialRow } from '../results/tables.js';

export interface ReportInput {
  /** Every trial's row (trials.csv), or null above REPORT_MAX_TRIALS (report/traces.ts): then no charts. */
  rows: readonly TrialRow[] | null;
  /** Full records of the trials whose traces are drawn (each loss's display cell, report/traces.ts). */
  traces: readonly TrialRecord[];
  /** thresholds.json (null: not computed yet; the page says so). */
  thresholds: ThresholdReport | null;
  /** summary.json when the sweep has finished. */
  summary?: SweepSummary | null;
  /** regression.json: a scheduled run's verdict against its baseline (absent for plain sweeps). */
  regression?: RegressionReport | null;
  sweepId: string;
  name?: string;
  gridHash?: string;
  /** Trials in the manifest (the grid), when known. */
  totalTrials?: number;
  resultsUri?: string;
  /** Link to the sweep in the Temporal web UI, when known. */
  uiUrl?: string | null;
  /** Default: now. */
  generatedAt?: Date;
}

export function esc(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmtP = (p: number | null | undefined): string =>
  p === null || p === undefined ? '–' : Number.isInteger(p) ? String(p) : p >= 100 ? p.toFixed(0) : p.toPrecision(3);
const fmtNum = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : Number(v.toPrecision(digits)).toString());

function thresholdRow(l: LossThreshold, maxParams: number): string {
  const t = l.threshold;
  const pStar = !t.reached ? `not reached (&gt; ${maxParams})` : `${t.censoredBelow ? '≤ ' : ''}${fmtP(t.params)}`;
  const ci = !t.ci
    ? '–'
    : t.ci.lower === null && t.ci.upper === null
      ? `not reached in ${t.ci.censored} of ${t.ci.replicates} replicates`
      : `${t.ci.lower === null ? `&gt; ${maxParams}` : fmtP(t.ci.lower)} – ${t.ci.upper === null ? `&gt; ${maxParams} (open)` : fmtP(t.ci.upper)}`;
  let ratio = '–';
  const r = l.ratioToStatic;
  if (r) {
    if (r.value !== null) ratio = fmtNum(r.value);
    else if (r.bound) ratio = `${r.bound.relation === '<' ? '&lt;' : '&gt;'} ${fmtNum(r.bound.value)}`;
    else ratio = 'n/a';
    if (r.ci) ratio += ` <span class="ci">[${r.ci.lower === null ? '0' : fmtNum(r.ci.lower)}, ${r.ci.upper === null ? '∞' : fmtNum(r.ci.upper)}]</span>`;
    if (r.fractionBelowOne !== null) ratio += ` <span class="ci">P(&lt;1) = ${fmtNum(r.fractionBelowOne, 2)}</span>`;
    ratio += ` <span class="ci">vs ${esc(r.against)}</span>`;
  }
  const v = l.validation;
  const val = v.best === null ? '–' : `${fmtNum(v.best)} <span class="ci">at P = ${fmtP(v.bestParams)}; within tol. from P = ${fmtP(v.smallestParamsWithinTolerance)}</span>`;
  return (
    `<tr data-loss="${esc(l.loss)}"><th scope="row">${esc(l.loss)}${l.dynamical ? ' <span class="tag">dynamical</span>' : ''}</th>` +
    `<td>${pStar}</td><td>${t.width === null ? '–' : fmtNum(t.width)}</td><td>${ci}</td><td>${ratio}</td><td>${val}</td>` +
    `<td>${esc(selectionOf(l))}</td></tr>`
  );
}

/** Which cell the headline comes from, and how it was chosen. */
function selectionOf(l: LossThreshold): string {
  const s = l.selection;
  if (s.method === 'none') return `none: ${s.note}`;
  const cells = [...new Set(s.folds.map((f) => f.label))].join(' / ');
  return s.method === 'cross-fit' ? `${cells} (cross-fit, ${s.candidates} candidates)` : `${cells} (${s.method})`;
}

function thresholdsTable(report: ThresholdReport): string {
  const c = report.criterion;
  const b = report.bootstrap;
  // The largest P of a loss's grid (where a curve ends): its cells' last curve point.
  const maxParams = (l: LossThreshold) => Math.max(0, ...l.cells.map((cell) => cell.curve.at(-1)?.params ?? 0));
  const rows = report.losses.map((l) => thresholdRow(l, maxParams(l))).join('\n');
  return `<table id="thresholds" class="data">
<caption>Over-parameterization threshold P*: smallest parameter count from which on the median over seeds of <code>${esc(c.metric)}</code>
${c.direction === 'atLeast' ? '≥' : '≤'} ${levelText(report)} (interpolated in log P). Headline per loss: its only candidate cell, the cell
declared in the grid file, or, among several, cross-fitting (each half of the seeds selects, the other estimates); dynamical
cells with A = 1 are controls. ${Math.round(b.confidence * 100)}% ${esc(b.method)} bootstrap intervals over seeds
(${b.replicates} replicates, seeds of a dynamical cell and its static cell resampled together, not-reached replicates kept
as bounds). docs/thresholds.md has the procedure.</caption>
<thead><tr><th>loss</th><th>P*</th><th>width</th><th>${Math.round(b.confidence * 100)}% interval</th><th>ratio to static</th><th>best val. acc.</th><th>headline cell</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

/** Per width, how many seeds of each loss's headline cell fit on their own (losses differ a lot in this). */
function fitTable(report: ThresholdReport): string {
  const cols = report.losses
    .map((l) => ({ l, cell: l.cells.find((c) => c.label === l.selection.folds[0]?.label) }))
    .filter((x): x is { l: LossThreshold; cell: NonNullable<typeof x.cell> } => x.cell !== undefined);
  if (cols.length === 0) return '';
  const widths = sortedUnique(cols.flatMap((c) => c.cell.curve.map((p) => p.width)));
  const rows = widths.map((w) => {
    const tds = cols.map(({ cell }) => {
      const p = cell.curve.find((q) => q.width === w);
      return `<td>${p ? `${p.fit}/${p.seeds}` : '–'}</td>`;
    });
    const params = cols.map(({ cell }) => cell.curve.find((q) => q.width === w)?.params).find((x) => x !== undefined);
    return `<tr><th scope="row">${w}</th><td>${params ?? '–'}</td>${tds.join('')}</tr>`;
  });
  return `<table id="fit-fraction" class="data"><caption>Seeds that fit on their own (their ${esc(report.criterion.metric)} meets the level), per width, in each loss's headline cell.</caption>
<thead><tr><th>width</th><th>P</th>${cols.map(({ l, cell }) => `<th>${esc(l.loss)} <span class="ci">${esc(cell.label)}</span></th>`).join('')}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

function levelText(report: ThresholdReport): string {
  const lvl = Number(report.level.toFixed(5));
  return report.criterion.level === 'achievable' ? `the achievable ${lvl} (what any classifier can reach on this data)` : String(lvl);
}

function metadata(input: ReportInput): string {
  const recs = input.rows ?? [];
  const s = input.summary;
  const engines = sortedStrings(recs.map((r) => `${r.engine} ${r.engineVersion} (${r.backend})`));
  const axis = (xs: (number | null)[]) => sortedUnique(xs.filter((x): x is number => x !== null)).join(', ') || '–';
  const items: [string, string][] = [
    ['sweep', `${esc(input.sweepId)}${input.name ? ` (${esc(input.name)})` : ''}`],
    ['status', esc(s?.status ?? 'running (no summary.json yet)')],
    ['grid hash', `<code>${esc(input.gridHash ?? s?.gridHash ?? '–')}</code>`],
    [
      'trials',
      `${input.totalTrials ?? s?.trials ?? '?'} in the grid; ${s?.completed ?? recs.length} with records` +
        (s ? `; ${s.failed} failed; ${s.diverged} diverged` : `; ${recs.filter((r) => r.diverged).length} diverged`),
    ],
    ['engine / backend', esc(engines.join('; ') || '–')],
    ['losses', esc(lossesOf(recs).join(', ') || '–')],
    ['widths', axis(recs.map((r) => r.width))],
    ['learning rates', axis(recs.map((r) => r.lr))],
    ['periods', axis(recs.map((r) => r.period))],
    ['amplitudes', axis(recs.map((r) => r.amplitude))],
    ['seeds', `${new Set(recs.map((r) => r.seed)).size}`],
    ['steps', axis(input.traces.map((r) => r.config.steps))],
  ];
  if (input.resultsUri) items.push(['results', `<code>${esc(input.resultsUri)}</code>`]);
  if (input.uiUrl) items.push(['Temporal web UI', `<a href="${esc(input.uiUrl)}">${esc(input.uiUrl)}</a>`]);
  if (s) items.push(['finished', esc(s.finishedAt)]);
  items.push(['report generated', esc((input.generatedAt ?? new Date()).toISOString())]);
  return `<dl id="metadata">${items.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/** A bullet list of the first `shown` items (HTML), then how many more there are and where they are. */
function cappedList(itemsHtml: string[], shown: number, rest: string): string {
  const more = itemsHtml.length > shown ? `<li>… and ${itemsHtml.length - shown} more (${rest})</li>` : '';
  return `<ul>${itemsHtml.slice(0, shown).map((x) => `<li>${x}</li>`).join('')}${more}</ul>`;
}

/** The verdict of a scheduled run against its baseline, with what regressed (regression.json has it all). */
function regressionSection(r: RegressionReport): string {
  const base = r.baseline ? `${esc(r.baseline.sweepId)} (${r.baseline.source === 'pinned' ? 'pinned' : 'last good run'})` : 'none';
  const c = r.criteria;
  return `<section id="regression" data-verdict="${esc(r.verdict)}"><h2>Regression verdict</h2>
<p class="verdict verdict-${esc(r.verdict)}">${esc(verdictHeadline(r))}</p>
<dl class="regression-meta"><dt>schedule</dt><dd>${esc(r.schedule ?? '–')}</dd><dt>baseline</dt><dd>${base}</dd>
<dt>criteria</dt><dd>${esc(c.metrics.join(', '))} outside the baseline's seed range ± ${c.metricTolerance}; thresholds beyond the baseline's interval ± ${c.thresholdTolerance}</dd>
<dt>judged</dt><dd>${esc(r.judgedAt)}</dd></dl>
${r.regressions.length ? `<h3>Regressions</h3>${cappedList(r.regressions.map(esc), 50, 'regression.json')}` : ''}
${r.improvements.length ? `<h3>Improvements</h3>${cappedList(r.improvements.map(esc), 50, 'regression.json')}` : ''}
${r.notes.length ? `<ul class="warnings">${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}</section>`;
}

function sortedStrings(xs: string[]): string[] {
  return [...new Set(xs)].sort();
}

/**
 * Edge-of-stability crossings, loss spikes and blow-ups of the trials whose full records the report reads, when
 * they happen and where in the schedule's period (report/instability.ts; definitions in docs/monitor.md).
 */
async function instabilitySection(all: readonly TrialRow[], records: readonly TrialRecord[]): Promise<string> {
  const trials = trialInstability(records);
  const rows = instabilityTable(all)
    .map(
      (r) =>
        `<tr class="instability-row" data-loss="${esc(r.loss)}" data-lr="${r.lr}"><th scope="row">${esc(r.loss)}</th><td>${r.lr}</td><td>${r.trials}</td>` +
        `<td>${r.crossed}</td><td>${r.crossings}</td><td>${r.firstCrossingStep === null ? '–' : Math.round(r.firstCrossingStep)}</td>` +
        `<td>${r.blowUps}</td><td>${r.spiked}</td><td>${fmtNum(r.maxEos)}</td></tr>`,
    )
    .join('\n');
  const blown = blowUps(trials).map(
    (b) =>
      `${esc(b.label)}: step ${b.step}` +
      (b.phase === null ? ' (loss static there)' : `, phase ${fmtNum(b.phase, 2)} of the period, class ${b.emphasised} emphasised`) +
      `; ${b.crossingsBefore} crossing(s) of 2/η before`,
  );
  return `<section id="instability"><h2>Instability: the edge of stability 2/η</h2>
<table id="instability-table" class="data"><caption>Per loss and learning rate, over all ${all.length} trials with records:
trials whose λmax·η/2 crossed 1 (sharpness above 2/η), crossings, the median step of the first one, blow-ups (non-finite loss) and
loss spikes (static training loss above ${SPIKE_RATIO}× its lowest so far).</caption>
<thead><tr><th>loss</th><th>η</th><th>trials</th><th>crossed 2/η</th><th>crossings</th><th>first crossing (median step)</th><th>blow-ups</th><th>loss spikes</th><th>max λmax·η/2</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<div class="charts">${figure('chart-instability-raster', await instabilityRasterChart(trials), `Each row a trial (of the ${records.length} whose traces the report draws): when it crossed 2/η, spiked and blew up.`)}
${figure('chart-instability-phase', await instabilityPhaseChart(trials), 'Where in the period of the class weights the crossings and blow-ups of the dynamical losses happen.')}</div>
${blown.length ? `<h3>Blow-ups</h3>${cappedList(blown, 20, 'trials.csv has divergedAtStep')}` : ''}</section>`;
}

const figure = (id: string, svg: string, caption: string) =>
  `<figure class="chart" id="${esc(id)}">${svg}<figcaption>${caption}</figcaption></figure>`;

const CSS = `
body{font:14px/1.45 "DejaVu Sans","Liberation Sans",Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f2a44;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.8}
main{padding:12px 28px 40px;max-width:1600px}section{margin:24px 0}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px}
dl#metadata{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}dt{font-weight:bold;color:#555}dd{margin:0}
table.data{border-collapse:collapse;background:#fff;font-size:13px}table.data caption{text-align:left;padding:4px 0 8px;color:#555;max-width:1100px}
table.data th,table.data td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}table.data thead th{background:#eef1f6}
.ci{color:#666;font-size:12px}.tag{font-size:11px;background:#e3f0fb;color:#1f4e9c;border-radius:3px;padding:0 4px;font-weight:normal}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure.chart{margin:0;background:#fff;border:1px solid #e4e4e4;padding:8px;overflow-x:auto}
figure.chart svg{display:block;max-width:none}figcaption{color:#555;font-size:12px;margin-top:4px;max-width:760px}
.notice{background:#fff4e5;border:1px solid #f0c27b;padding:8px 12px}.verdict{font-weight:bold;padding:6px 10px;display:inline-block}
.verdict-pass{background:#e6f4ea;color:#1e6b34}.verdict-regressed{background:#fde8e8;color:#a01818}.verdict-baseline{background:#eef1f6}
dl.regression-meta{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}ul.warnings{color:#8a5a00}code{font-size:12px}
`;

/** The whole page. Charts are rendered here (a few seconds at most: every chart aggregates first). */
export async function reportHtml(input: ReportInput): Promise<string> {
  const { thresholds } = input;
  const rows = input.rows ?? [];
  const losses = lossesOf(rows);
  const criterionMetric = thresholds?.criterion.metric;

  const accuracy = [
    figure('chart-train-acc', await accuracyChart(rows, thresholds, { metric: 'trainAcc' }), 'Final training accuracy per loss against P.'),
    figure('chart-val-acc', await accuracyChart(rows, thresholds, { metric: 'valAcc' }), 'Final validation accuracy per loss against P.'),
  ];
  const sharp: string[] = [];
  for (const loss of losses) {
    const cell = displayCell(loss, rows, thresholds);
    const sched = isDynamical(loss) && 'period' in cell && 'amplitude' in cell ? { period: cell.period, amplitude: cell.amplitude } : {};
    sharp.push(figure(`chart-sharpness-${loss}`, await sharpnessChart(input.traces, { loss, ...sched }), `λmax of ${esc(loss)} (the trained loss) during training.`));
  }
  const heat: string[] = [];
  for (const loss of losses.filter(isDynamical)) {
    for (const lr of sortedUnique(rows.filter((r) => r.loss === loss).map((r) => r.lr))) {
      heat.push(figure(`chart-heatmap-${loss}-${lr}`, await heatmapChart(rows, { loss, lr }), `Validation accuracy of ${esc(loss)} at η = ${lr}.`));
    }
  }

  const s = input.summary;
  const notices: string[] = [];
  if (input.rows === null) notices.push(`This sweep has more than ${REPORT_MAX_TRIALS} trials: the report shows thresholds only (trials.csv and trials.parquet have every trial).`);
  if (!s) notices.push('This sweep has not finished: the report shows the trials recorded so far.');
  else if (s.status !== 'completed') notices.push(`This sweep ended <b>${esc(s.status)}</b>: ${s.completed} of ${s.trials} trials have records.`);
  const regression = input.regression ?? null;
  if (regression?.verdict === 'regressed') notices.push(`<b>Regressed</b> against its baseline: ${esc(verdictHeadline(regression))}.`);
  const warnings = thresholds?.warnings ?? [];
  const failures = s?.failures ?? [];
  const title = `dynsweep report — ${input.name ?? input.sweepId}`;

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><header><h1>${esc(title)}</h1><p>Dynamical loss sweep: accuracy, sharpness and over-parameterization thresholds</p></header>
<main>
${notices.map((n) => `<p class="notice">${n}</p>`).join('\n')}
${thresholds ? `<section id="findings"><h2>Findings</h2><ul>${findingsOf(thresholds).map((f) => `<li>${esc(f)}</li>`).join('')}</ul></section>` : ''}
<section id="sweep"><h2>Sweep</h2>${metadata(input)}</section>
${regression ? regressionSection(regression) : ''}
<section id="threshold-section"><h2>Thresholds</h2>
${thresholds ? thresholdsTable(thresholds) + fitTable(thresholds) : '<p>thresholds.json is not available yet.</p>'}
${warnings.length ? `<ul class="warnings">${warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}</section>
<section id="accuracy"><h2>Accuracy against parameter count</h2><div class="charts">${accuracy.join('\n')}</div>
<p class="ci">Each loss is drawn for its headline cell (the first fold's cell when cross-fitted); markers on the ${esc(criterionMetric ?? 'criterion')} chart.</p></section>
<section id="sharpness"><h2>Sharpness against step</h2><div class="charts">${sharp.join('\n') || '<p>No trials.</p>'}</div></section>
${await instabilitySection(rows, input.traces)}
<section id="heatmaps"><h2>Validation accuracy over amplitude × period</h2><div class="charts">${heat.join('\n') || '<p>No dynamical losses in this sweep.</p>'}</div></section>
${failures.length ? `<section id="failures"><h2>Failures</h2>${cappedList(failures.map((f) => `<code>${esc(f.trialId)}</code>: ${esc(f.message)}`), 20, 'summary.json')}</section>` : ''}
</main></body></html>
`;
}
