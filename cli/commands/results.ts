import type { Argv } from 'yargs';
import { rowsToCsv, type TrialRow } from '../../results/tables.js';
import { briefOf } from '../../results/summary.js';
import { loadResults } from '../../report/load.js';
import { CliError, EXIT_FAILED, handler } from '../errors.js';
import { locateResults, withResultsSource, type ResultsArgs } from '../results-source.js';

export const builder = (y: Argv) =>
  withResultsSource(y).option('format', {
    choices: ['table', 'csv', 'json'] as const,
    default: 'table' as const,
    describe: 'table: the main columns, aligned; csv: every column of trials.csv; json: one object {sweepId, status, trials: [rows], thresholds}',
  });

interface Args extends ResultsArgs {
  format: 'table' | 'csv' | 'json';
}

const num = (v: number | null, digits = 3) => (v === null ? '-' : Number(v.toPrecision(digits)).toString());

/** The main columns, aligned, one line per trial. */
export function renderTable(rows: readonly TrialRow[]): string {
  const head = ['trial', 'loss', 'width', 'P', 'lr', 'T', 'A', 'seed', 'trainAcc', 'valAcc', 'λmax', 'diverged'];
  const body = rows.map((r) => [
    r.trialId.slice(0, 12),
    r.loss,
    String(r.width),
    String(r.params),
    String(r.lr),
    r.period === null ? '-' : String(r.period),
    r.amplitude === null ? '-' : String(r.amplitude),
    String(r.seed),
    num(r.trainAcc),
    num(r.valAcc),
    num(r.sharpnessDynamic),
    r.diverged ? `at ${r.divergedAtStep}` : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n') + '\n';
}

export const handle = handler(async (args: Args) => {
  const loc = await locateResults(args);
  const results = await loadResults(loc.store, { sweepId: loc.sweepId }).catch((err: Error) => {
    throw new CliError(err.message, EXIT_FAILED);
  });
  const rows = results.rows;
  const status = results.summary?.status ?? 'running';
  if (args.format === 'csv') {
    process.stdout.write(rowsToCsv(rows));
  } else if (args.format === 'json') {
    const thresholds = results.thresholds ? briefOf(results.thresholds) : null;
    process.stdout.write(`${JSON.stringify({ sweepId: results.sweepId, resultsUri: results.uri, status, total: results.totalTrials, trials: rows, thresholds })}\n`);
  } else {
    process.stdout.write(renderTable(rows));
    process.stdout.write(`${rows.length} of ${results.totalTrials ?? '?'} trials recorded (${status}); results: ${results.uri}\n`);
  }
});
