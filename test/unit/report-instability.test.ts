import { describe, expect, it } from 'vitest';
import { instabilityPhaseChart, instabilityRasterChart } from '../../report/charts.js';
import { blowUps, instabilityTable, phaseRows, rasterRows, trialInstability } from '../../report/instability.js';
import type { TrialConfig, TrialRecord } from '../../core/types.js';
import { reportHtml } from '../../report/html.js';
import { trialRow } from '../../results/tables.js';
import { syntheticRecords } from './report-fixtures.js';
import { trialConfig } from './science-helpers.js';

/** A record with ratios at steps 0, 10, 20, ... (lr 1) and static losses at steps 0, 5, 10, ... */
function record(config: TrialConfig, eos: (number | null)[], loss: number[], divergedAtStep: number | null): TrialRecord {
  const base = syntheticRecords({ losses: ['ce'], widths: [2], lrs: [1], seeds: [0] })[0];
  const step = eos.map((_, i) => 10 * i);
  const dynamic = eos.map((e) => (e === null ? null : (2 * e) / config.lr));
  const lstep = loss.map((_, i) => 5 * i);
  return {
    ...base,
    trialId: `t-${config.loss}-${config.seed}`,
    config,
    diverged: divergedAtStep !== null,
    divergedAtStep,
    curves: { step: lstep, trainLoss: loss, trainLossStatic: loss, trainAcc: lstep.map(() => 0.5), valLoss: lstep.map(() => 1), valAcc: lstep.map(() => 0.5) },
    sharpness: { ...base.sharpness, step, dynamic, static: dynamic, eosRatio: eos, dynamicResidual: step.map(() => 0), staticResidual: step.map(() => 0) },
  };
}

const dce = trialConfig({ loss: 'dce', lr: 1, period: 40, amplitude: 3, steps: 200, finalStaticSteps: 50, seed: 0 });
const ce = trialConfig({ loss: 'ce', lr: 1, steps: 200, seed: 0 });
const calm = trialConfig({ ...dce, seed: 1 });
const records = [
  // Crossings at steps 10, 50, 70; spikes at 15, 30, 40; blow-up at 85.
  record(dce, [0.5, 1.2, 1.5, 0.9, null, 1.1, 1.0, 2.0], [1.0, 0.5, 0.2, 0.5, 0.45, 0.1, 0.205, 0.19, 0.5], 85),
  record(calm, [0.2, 0.4, 0.6], [1, 0.5, 0.3], null),
  // A static loss: a crossing at step 10 has no place in a period.
  record(ce, [0.9, 1.3, 0.8], [1, 0.5], null),
];

describe('report-time instability analysis', () => {
  const trials = trialInstability(records);

  it('tabulates per loss and learning rate: trials that crossed, crossings, first crossing, blow-ups, spikes', () => {
    expect(instabilityTable(records.map(trialRow))).toEqual([
      { loss: 'ce', lr: 1, trials: 1, crossed: 1, crossings: 1, firstCrossingStep: 10, blowUps: 0, spiked: 0, maxEos: 1.3 },
      { loss: 'dce', lr: 1, trials: 2, crossed: 1, crossings: 3, firstCrossingStep: 10, blowUps: 1, spiked: 1, maxEos: 2 },
    ]);
  });

  it('places crossings and blow-ups in the period: phase bins and the emphasised class', () => {
    // T = 40, C = 3: step 10 -> phase 0.25, class 0; 50 -> 0.25, class 1; 70 -> 0.75, class 1; 85 -> 0.125, class 2.
    const rows = phaseRows(trials).sort((a, b) => a.kind.localeCompare(b.kind) || a.emphasised - b.emphasised || a.bin0 - b.bin0);
    expect(rows).toEqual([
      { loss: 'dce', kind: 'blow-up', emphasised: 2, bin0: 0.1, bin1: 0.2, count: 1 },
      { loss: 'dce', kind: 'crossing', emphasised: 0, bin0: 0.2, bin1: 0.3, count: 1 },
      { loss: 'dce', kind: 'crossing', emphasised: 1, bin0: 0.2, bin1: 0.3, count: 1 },
      { loss: 'dce', kind: 'crossing', emphasised: 1, bin0: 0.7, bin1: 0.8, count: 1 },
    ]);
    expect(blowUps(trials)).toEqual([{ label: 'dce w=6 lr=1 T=40 A=3 seed 0', step: 85, phase: 0.125, emphasised: 2, crossingsBefore: 3 }]);
  });

  it('draws trials with events one per row (blow-ups first), at most the cap', () => {
    const { rows, shown, withEvents } = rasterRows(trials);
    expect({ shown, withEvents }).toEqual({ shown: 2, withEvents: 2 });
    expect([...new Set(rows.map((r) => r.trial))]).toEqual(['dce w=6 lr=1 T=40 A=3 seed 0', 'ce w=6 lr=1 seed 0']);
    expect(rows.filter((r) => r.trial.startsWith('dce')).map((r) => `${r.kind}@${r.step}`)).toEqual([
      'crossing@10',
      'crossing@50',
      'crossing@70',
      'spike@15',
      'spike@30',
      'spike@40',
      'blow-up@85',
    ]);
    expect(rasterRows(trials, 1).shown).toBe(1);
  });

  it('renders both charts as SVG, and says so when there is nothing to draw', async () => {
    const raster = await instabilityRasterChart(trials);
    const phase = await instabilityPhaseChart(trials);
    for (const svg of [raster, phase]) {
      expect(svg.startsWith('<svg')).toBe(true);
      expect((svg.match(/<path/g) ?? []).length).toBeGreaterThan(5);
    }
    expect(raster).toContain('dce w=6 lr=1 T=40 A=3 seed 0');
    expect(phase).toContain('class 1');
    const quiet = trialInstability([records[1]]);
    expect(await instabilityRasterChart(quiet)).toContain('no trial crossed 2/η');
    expect(await instabilityPhaseChart(quiet)).toContain('no crossing or blow-up');
  });

  it('is a section of report.html: the table per loss and learning rate, both charts, the blow-ups', async () => {
    const html = await reportHtml({ rows: records.map(trialRow), traces: records, thresholds: null, sweepId: 'instability-1' });
    const section = html.slice(html.indexOf('<section id="instability">'), html.indexOf('</section>', html.indexOf('<section id="instability">')));
    expect(section).toContain('<table id="instability-table"');
    expect(section.match(/<tr class="instability-row" data-loss="(\w+)" data-lr="1">/g)).toEqual([
      '<tr class="instability-row" data-loss="ce" data-lr="1">',
      '<tr class="instability-row" data-loss="dce" data-lr="1">',
    ]);
    expect(section).toContain('id="chart-instability-raster"');
    expect(section).toContain('id="chart-instability-phase"');
    expect(section).toContain('dce w=6 lr=1 T=40 A=3 seed 0: step 85, phase 0.13 of the period, class 2 emphasised; 3 crossing(s) of 2/η before');
  });
});
