import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Argv } from 'yargs';
import { reportHtml } from '../../report/html.js';
import { loadResults } from '../../report/load.js';
import { REPORT_KEY, reportInputOf } from '../../report/write.js';
import { CliError, EXIT_FAILED, handler } from '../errors.js';
import { withJson } from '../options.js';
import { locateResults, withResultsSource, type ResultsArgs } from '../results-source.js';

export const builder = (y: Argv) =>
  withJson(withResultsSource(y))
    .option('out', { type: 'string', default: 'report.html', describe: 'Where to write the HTML file' })
    .option('save', { type: 'boolean', default: true, describe: 'Also store it as report.html in the results (--no-save: only --out)' });

interface Args extends ResultsArgs {
  out: string;
  save: boolean;
  json: boolean;
}

export const handle = handler(async (args: Args) => {
  const loc = await locateResults(args);
  const results = await loadResults(loc.store, { sweepId: loc.sweepId }).catch((err: Error) => {
    throw new CliError(err.message, EXIT_FAILED);
  });
  const html = await reportHtml(reportInputOf(results, loc.uiUrl));
  const out = path.resolve(args.out);
  await writeFile(out, html);
  if (args.save) await loc.store.put(REPORT_KEY, html, 'text/html; charset=utf-8');
  const stored = args.save ? `${loc.store.uri.replace(/\/$/, '')}/${REPORT_KEY}` : null;
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ sweepId: results.sweepId, out, stored, trials: results.rows.length, uiUrl: loc.uiUrl })}\n`);
  } else {
    process.stdout.write(`${out}\n`);
    if (stored) process.stderr.write(`also stored as ${stored}\n`);
  }
});
