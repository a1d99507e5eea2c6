import type { Argv } from 'yargs';
import { progressQuery, type SweepProgress } from '../../workflows/definitions.js';
import { EXIT_FAILED, EXIT_OK, handler } from '../errors.js';
import { withConnection, withJson, type ConnectionArgs } from '../options.js';
import { monitorLines, ProgressView, renderResult } from '../render.js';
import { followSweep, readSummary, summaryToResult, withTimeout } from '../sweep-run.js';
import { connect, describeSweep, workflowUrl } from '../temporal.js';
import { SEARCH_CELL_COLUMNS, searchCellRow } from '../../workflows/search-details.js';
import type { SearchProgress } from '../../activities/contracts.js';

export const builder = (y: Argv) =>
  withJson(withConnection(y))
    .positional('sweepId', { type: 'string', demandOption: true })
    .option('watch', { type: 'boolean', default: false, describe: 'Show a live progress bar until the sweep ends' });

interface StatusArgs extends ConnectionArgs {
  sweepId: string;
  json: boolean;
  watch: boolean;
}

export const handle = handler(async (args: StatusArgs) => {
  const target = await connect(args);
  try {
    const { workflowId, handle, desc } = await describeSweep(target, args.sweepId);
    const progress: SweepProgress | null = await withTimeout(handle.query(progressQuery), 5000).catch(() => null);
    const uiUrl = workflowUrl(target, workflowId);
    const resultsUri = (desc.memo?.resultsUri as string | undefined) ?? progress?.resultsUri ?? null;
    const summary = resultsUri ? await readSummary(resultsUri).catch(() => null) : null;

    if (args.watch && desc.status.name === 'RUNNING' && resultsUri) {
      const result = await followSweep(handle, resultsUri, !args.json);
      // The progress line has the monitor's counts; the end adds its cells (while the workflow still answers).
      const monitor = (await withTimeout(handle.query(progressQuery), 3000).catch(() => null))?.monitor;
      const cells = monitor && monitor.total.trials > 0 ? `${monitorLines(monitor).join('\n')}\n` : '';
      process.stdout.write(args.json ? `${JSON.stringify({ ...result, workflowId, uiUrl, monitor: monitor ?? null })}\n` : renderResult(result, uiUrl) + cells);
      return result.status === 'completed' ? EXIT_OK : EXIT_FAILED;
    }
    const out = {
      sweepId: args.sweepId,
      workflowId,
      workflowStatus: desc.status.name,
      status: summary?.status ?? progress?.status ?? desc.status.name.toLowerCase(),
      trials: progress?.totalTrials ?? summary?.trials ?? null,
      completed: summary?.completed ?? progress?.completedTrials ?? null,
      failed: summary?.failed ?? null,
      failedPacks: progress?.failedPacks ?? null,
      diverged: summary?.diverged ?? progress?.divergedTrials ?? null,
      resultsUri,
      uiUrl,
      thresholds: summary?.thresholds ?? null,
      /** The live instability monitor (workflows/monitor.ts), while the workflow answers queries. */
      monitor: progress?.monitor ?? null,
      ...(progress?.search ? { search: progress.search } : {}),
    };
    const monitorText = out.monitor && out.monitor.total.trials > 0 ? `${monitorLines(out.monitor).join('\n')}\n` : '';
    if (args.json) {
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return out.status === 'failed' ? EXIT_FAILED : EXIT_OK;
    }
    if (progress?.search) process.stdout.write(searchRows(progress.search));
    if (summary && resultsUri) {
      process.stdout.write(renderResult(summaryToResult(summary, resultsUri), uiUrl) + monitorText);
    } else {
      if (progress) {
        const view = new ProgressView();
        view.update(progress);
        view.stop();
      }
      process.stdout.write(`sweep ${args.sweepId}: ${out.status} (${out.completed ?? '?'}/${out.trials ?? '?'} trials)\nweb UI: ${uiUrl}\n${monitorText}`);
    }
    return out.status === 'failed' ? EXIT_FAILED : EXIT_OK;
  } finally {
    await target.connection.close();
  }
});

/** A threshold search's rounds and cells, one line each (the web UI shows the same as markdown). */
export function searchRows(s: SearchProgress): string {
  const trials = s.rounds.reduce((n, r) => n + r.trials, 0);
  const head = `threshold search: round ${s.round} of at most ${s.maxRounds}, ${s.open}/${s.cells.length} cells open, ${trials} trials, ${s.trialSteps} trial-steps judged\n`;
  const rounds = s.rounds.map((r) => `  round ${r.round}: ${r.cells} cells, ${r.widths} widths, ${r.trials} trials\n`).join('');
  const rows = [SEARCH_CELL_COLUMNS, ...s.cells.map(searchCellRow)];
  const widths = SEARCH_CELL_COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return head + rounds + rows.map((r) => `  ${r.map((v, i) => v.padEnd(widths[i])).join('  ')}\n`).join('');
}
