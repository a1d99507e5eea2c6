import { describe, expect, it } from 'vitest';
import { accuracyChart, heatmapChart, sharpnessChart, svgToPng } from '../../report/charts.js';
import { downsampleIndices, representativeWidths } from '../../report/data.js';
import { reportHtml } from '../../report/html.js';
import { REGRESSION_SCHEMA, cellStats, compareRuns, thresholdPointsOf, type RegressionReport, type RunStats } from '../../core/regression.js';
import { uniqueIds } from '../../report/render.js';
import { syntheticRecords, syntheticThresholds } from './report-fixtures.js';
import { trialRow } from '../../results/tables.js';
import { TRACE_SEEDS, TRACE_WIDTHS, traceRows } from '../../report/traces.js';

/** Well-formed enough: every element closed in order, one root <svg>, no stray '<'. */
function balanced(xml: string): boolean {
  const stack: string[] = [];
  let roots = 0;
  for (const m of xml.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:"[^"]*"|'[^']*'|[^'">])*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (close) {
      if (stack.pop() !== name) return false;
    } else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
  }
  const text = xml.replace(/<(\/?)([A-Za-z][\w:.-]*)((?:"[^"]*"|'[^']*'|[^'">])*?)(\/?)>/g, '');
  return stack.length === 0 && roots === 1 && !text.includes('<');
}

function checkSvg(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(balanced(svg)).toBe(true);
  const w = Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)?.[1]);
  const h = Number(/height="(\d+(?:\.\d+)?)"/.exec(svg)?.[1]);
  expect(w).toBeGreaterThan(100);
  expect(h).toBeGreaterThan(50);
  // Nothing to fetch: the only URLs are XML namespace names.
  expect(svg.replace(/xmlns(:\w+)?="[^"]*"/g, '')).not.toMatch(/https?:|href="(?!#)/);
}

const records = syntheticRecords();
const rows = records.map(trialRow);
const thresholds = syntheticThresholds(records);

describe('chart functions', () => {
  it('accuracy vs P: one series per loss, threshold markers on the criterion metric only', async () => {
    const svg = await accuracyChart(rows, thresholds);
    checkSvg(svg);
    for (const loss of ['ce', 'dce', 'mse', 'dmse1']) expect(svg).toContain(`>${loss} (lr=`);
    expect(svg).toContain('training accuracy');
    expect(svg).toContain('parameters P');
    expect(svg).toMatch(/threshold P\*/);
    expect((svg.match(/role-mark layer_3_marks/g) ?? []).length).toBe(1);
    // the bootstrap-interval bars: one horizontal rule per loss that reached the threshold
    const reached = thresholds.losses.filter((l) => l.threshold.reached).length;
    expect(reached).toBeGreaterThan(0);
    const bars = /class="mark-rule role-mark layer_3_marks"[^>]*>(.*?)<\/g>/.exec(svg)![1].match(/<line /g) ?? [];
    expect(bars).toHaveLength(reached);
    const val = await accuracyChart(rows, thresholds, { metric: 'valAcc' });
    checkSvg(val);
    expect(val).toContain('validation accuracy');
    expect(val).toMatch(/class="mark-rule role-mark layer_3_marks"[^>]*\/>/); // the marker layer is empty
  });

  it('sharpness vs step: a panel per learning rate with its 2/eta line, a line per representative width', async () => {
    const svg = await sharpnessChart(records, { loss: 'ce', maxWidths: 3 });
    checkSvg(svg);
    expect(svg).toContain('η = 0.1');
    expect(svg).toContain('η = 1');
    expect((svg.match(/>2\/η</g) ?? []).length).toBe(2);
    for (const w of [2, 8, 32]) expect(svg).toContain(`>${w}</text>`);
    const dyn = await sharpnessChart(records, { loss: 'dce', period: 200, amplitude: 20 });
    expect(dyn).toContain('T=200 A=20');
  });

  it('heatmap: a panel per width over amplitude x period', async () => {
    const svg = await heatmapChart(rows, { loss: 'dce', lr: 1 });
    checkSvg(svg);
    for (const w of [2, 4, 8, 16, 32]) expect(svg).toContain(`>width ${w}<`);
    expect(svg).toContain('amplitude A');
    expect(svg).toContain('period T');
    expect(svg).toContain('η = 1');
  });

  it('returns a small "no data" SVG rather than throwing', async () => {
    for (const svg of [await accuracyChart([], null), await sharpnessChart([]), await heatmapChart(rows, { loss: 'ce' })]) {
      checkSvg(svg);
      expect(svg).toContain('no ');
    }
  });

  it('svgToPng renders a PNG', async () => {
    const png = svgToPng(await accuracyChart(rows, thresholds), { width: 600 });
    expect(Buffer.from(png.subarray(1, 4)).toString()).toBe('PNG');
    expect(new DataView(png.buffer, png.byteOffset).getUint32(16)).toBe(600);
  });

  it('helpers: ids made unique, widths and curves subsampled', () => {
    const a = uniqueIds('<svg><clipPath id="clip1"/><g clip-path="url(#clip1)"/></svg>');
    const id = /id="([^"]+)"/.exec(a)![1];
    expect(id).toMatch(/^c[0-9a-f]{8}-clip1$/);
    expect(a).toContain(`url(#${id})`);
    expect(representativeWidths([2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256], 4)).toEqual([2, 8, 48, 256]);
    const idx = downsampleIndices(801, 150);
    expect(idx.length).toBeLessThanOrEqual(150);
    expect(idx[0]).toBe(0);
    expect(idx[idx.length - 1]).toBe(800);
  });
});

describe('report.html', () => {
  it('is one self-contained page with every section and a thresholds row per loss', async () => {
    const html = await reportHtml({ rows, traces: records, thresholds, sweepId: 'syn-1', name: 'synthetic', gridHash: 'abc123', uiUrl: 'http://localhost:8233/x' });
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/<script|<link|src=|@import/);
    const urls = html.replace(/xmlns(:\w+)?="[^"]*"/g, '').match(/https?:\/\/[^"'<\s]+/g) ?? [];
    expect(urls.every((u) => u.startsWith('http://localhost:8233/'))).toBe(true);
    expect((html.match(/<tr data-loss=/g) ?? []).length).toBe(4);
    for (const id of ['chart-train-acc', 'chart-val-acc', 'chart-sharpness-ce', 'chart-sharpness-dmse1', 'chart-heatmap-dce-0.1', 'chart-heatmap-dmse1-1']) {
      expect(html).toContain(`id="${id}"`);
    }
    expect(html).toContain('abc123');
    expect(html).toContain('not finished');
    // ids stay unique across the inlined charts
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("shows a scheduled run's verdict: what regressed, against which baseline, and a notice when it regressed", async () => {
    const stats = (recs: typeof records, sweepId: string): RunStats => ({
      sweepId,
      gridHash: 'abc123',
      cells: cellStats(recs.map(trialRow)),
      thresholds: thresholdPointsOf(thresholds),
      failedTrials: 0,
    });
    // The candidate lost validation accuracy in one cell (every seed of dce at the smallest width).
    const w0 = Math.min(...records.map((r) => r.config.width));
    const worse = records.map((r) =>
      r.config.loss === 'dce' && r.config.width === w0 ? { ...r, final: { ...r.final, valAcc: (r.final.valAcc ?? 0) - 0.3 } } : r,
    );
    const judged = (cmp: ReturnType<typeof compareRuns>): RegressionReport => ({
      schema: REGRESSION_SCHEMA,
      sweepId: 'nightly-2',
      schedule: 'nightly',
      baseline: { sweepId: 'nightly-1', resultsUri: '/store/nightly-1', source: 'last-good' },
      ...cmp,
      judgedAt: '2026-11-29T03:00:00.000Z',
    });
    const regressed = judged(compareRuns(stats(records, 'nightly-1'), stats(worse, 'nightly-2')));
    expect(regressed.verdict).toBe('regressed');
    const html = await reportHtml({ rows: worse.map(trialRow), traces: worse, thresholds, sweepId: 'nightly-2', regression: regressed });
    expect(html).toContain('<section id="regression" data-verdict="regressed">');
    expect(html).toMatch(/<p class="notice"><b>Regressed<\/b> against its baseline: REGRESSED vs nightly-1/);
    expect(html).toContain('nightly-1 (last good run)');
    expect(regressed.regressions.length).toBeGreaterThan(0);
    for (const line of regressed.regressions.slice(0, 50)) expect(html).toContain(line.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));

    const passed = judged(compareRuns(stats(records, 'nightly-1'), stats(records, 'nightly-2')));
    expect(passed.verdict).toBe('pass');
    const ok = await reportHtml({ rows, traces: records, thresholds, sweepId: 'nightly-2', regression: passed });
    expect(ok).toContain('<section id="regression" data-verdict="pass">');
    expect(ok).not.toContain('Regressed</b>');
    // A plain sweep has no verdict section.
    expect(await reportHtml({ rows, traces: records, thresholds, sweepId: 'plain' })).not.toContain('id="regression"');
  });

  it('stays fast and small for thousands of trials', { timeout: 60_000 }, async () => {
    const big = syntheticRecords({
      widths: [2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256],
      lrs: [0.1, 1],
      losses: ['ce', 'dce', 'mse', 'dmse1', 'dmse2'],
      periods: [500, 2000, 5000],
      amplitudes: [1, 5, 20, 70],
      seeds: [0, 1, 2, 3, 4],
      steps: 20000,
      sharpnessEvery: 25,
    });
    expect(big.length).toBeGreaterThan(5000);
    const th = syntheticThresholds(big);
    const t0 = Date.now();
    const html = await reportHtml({ rows: big.map(trialRow), traces: big, thresholds: th, sweepId: 'big' });
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(30_000);
    expect(html.length).toBeLessThan(3_000_000);
    console.log(`report of ${big.length} trials: ${ms} ms, ${(html.length / 1e6).toFixed(2)} MB`);
  });
});

describe('the traces a report reads', () => {
  it('are bounded by losses x lrs x widths x seeds, whatever the sweep size: the smallest seeds of each width', () => {
    const big = syntheticRecords({ losses: ['ce'], lrs: [0.5, 1], widths: [2, 4, 8, 16, 32, 64], seeds: Array.from({ length: 40 }, (_, i) => 39 - i) }).map(trialRow);
    const picked = traceRows(big, null);
    expect(picked).toHaveLength(2 * TRACE_WIDTHS * TRACE_SEEDS);
    expect(new Set(picked.map((r) => r.seed))).toEqual(new Set(Array.from({ length: TRACE_SEEDS }, (_, i) => i)));
  });
});
