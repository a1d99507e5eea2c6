/**
 * Replays a threshold search against a finished full-grid sweep's records (docs/search.md, "Measured"): the
 * search's own code (core/search/) asks for widths, the grid's stored records answer (so only `widths: listed`
 * can be replayed), and the trial-steps of the widths it asked for are set against the grid's.
 *   node dist/tools/search-replay.js <sweep results folder> [factor] [rungs] [precision]
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseGrid, resolveGrid } from '../core/grid/index.js';
import { runSearch } from '../core/search/bracket.js';
import { judgeRound, searchCellsOf, searchGridOf, searchSetupOf } from '../core/search/round.js';
import { findThresholds, thresholdArgsOf, thresholdInputFromRecord } from '../core/thresholds.js';
import type { TrialRecord } from '../core/types.js';
import { readLocation } from '../storage/read-location.js';

const [folder, factor = '4', rungs = '3', precision = '0.1'] = process.argv.slice(2);
const text = readFileSync(path.join(folder, 'grid.yaml'), 'utf8');
const yaml = `${text}\nsearch: { kind: threshold, widths: listed, factor: ${factor}, rungs: ${rungs}, precision: ${precision} }\n`;
const { spec, ceilings, data } = await resolveGrid(parseGrid(yaml, 'grid.yaml'), yaml, path.join(folder, 'grid.yaml'), readLocation);
const setup = searchSetupOf(searchGridOf({ spec, ceilings, data }));
const records = readdirSync(path.join(folder, 'trials')).map((f) => JSON.parse(readFileSync(path.join(folder, 'trials', f), 'utf8')) as TrialRecord);
const inputs = records.map(thresholdInputFromRecord);
const asked = new Set<string>();
const out = runSearch(searchCellsOf(spec, setup.criterion), setup.search, setup.geometry, (requests) => {
  const wanted = new Set(requests.flatMap((r) => r.widths.map((w) => `${r.cellId}@${w}`)));
  const round = inputs.filter((r, i) => {
    const key = `${r.loss} ${[...judgeRound([r], setup.criterion, setup.level).keys()][0].slice(r.loss.length + 1)}@${r.width}`;
    if (!wanted.has(key)) return false;
    asked.add(records[i].trialId);
    return true;
  });
  return judgeRound(round, setup.criterion, setup.level);
});
const { criterion, options } = thresholdArgsOf(spec.threshold, { trainAcc: setup.level, valAcc: setup.level });
const mine = records.filter((r) => asked.has(r.trialId));
const steps = (rs: TrialRecord[]) => rs.reduce((n, r) => n + r.stepsRun, 0);
const full = findThresholds(inputs, criterion, options);
const searched = findThresholds(mine.map(thresholdInputFromRecord), criterion, options);
console.log(JSON.stringify({
  settings: setup.search,
  trials: { search: mine.length, grid: records.length },
  trialSteps: { search: steps(mine), grid: steps(records), ratio: steps(mine) / steps(records) },
  rounds: out.rounds,
  cells: out.cells.map((c) => ({ id: c.id, outcome: c.outcome, lo: c.lo?.width ?? null, hi: c.hi?.width ?? null, widths: c.widths, nonMonotone: c.nonMonotone })),
  thresholds: full.losses.map((l, i) => ({ loss: l.loss, grid: { params: l.threshold.params, ci: l.threshold.ci && [l.threshold.ci.lower, l.threshold.ci.upper] }, search: { params: searched.losses[i].threshold.params } })),
}, null, 1));
