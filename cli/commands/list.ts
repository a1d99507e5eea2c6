import type { Argv } from 'yargs';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { progressQuery, type SweepProgress } from '../../workflows/definitions.js';
import { handler } from '../errors.js';
import { withConnection, withJson, type ConnectionArgs } from '../options.js';
import { readSummary, withTimeout } from '../sweep-run.js';
import { connect, workflowUrl } from '../temporal.js';

export const builder = (y: Argv) =>
  withJson(withConnection(y))
    .option('limit', { type: 'number', default: 50, describe: 'Show at most this many sweeps' })
    .option('query', { type: 'string', describe: "Extra visibility filter, ANDed with the sweep type (e.g. \"ExecutionStatus = 'Running'\")" })
    .option('counts', {
      type: 'boolean',
      default: true,
      describe: 'Trials done/total: asked from running sweeps (progress query, 2 s at most) and read from summary.json of ended ones; --no-counts skips both',
    });

interface Args extends ConnectionArgs {
  json: boolean;
  limit: number;
  query?: string;
  counts: boolean;
}

export interface SweepListEntry {
  sweepId: string;
  name: string | null;
  workflowId: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  resultsUri: string | null;
  done: number | null;
  total: number | null;
  uiUrl: string;
}

async function countsOf(info: WorkflowExecutionInfo, resultsUri: string | null, client: Awaited<ReturnType<typeof connect>>['client']) {
  try {
    if (info.status.name === 'RUNNING') {
      const p: SweepProgress = await withTimeout(client.workflow.getHandle(info.workflowId).query(progressQuery), 2000);
      return { done: p.completedTrials, total: p.totalTrials || null };
    }
    const s = resultsUri ? await withTimeout(readSummary(resultsUri), 3000) : null;
    return s ? { done: s.completed, total: s.trials } : { done: null, total: null };
  } catch {
    return { done: null, total: null };
  }
}

export const handle = handler(async (args: Args) => {
  const target = await connect(args);
  try {
    const query = `WorkflowType = 'sweepWorkflow'${args.query ? ` AND (${args.query})` : ''}`;
    const seen = new Map<string, WorkflowExecutionInfo>();
    // Newest first; a sweep that continued-as-new has several runs: keep the newest.
    for await (const info of target.client.workflow.list({ query })) {
      if (!seen.has(info.workflowId)) seen.set(info.workflowId, info);
      if (seen.size >= args.limit) break;
    }
    const entries: SweepListEntry[] = await Promise.all(
      [...seen.values()].map(async (info) => {
        const memo = info.memo ?? {};
        const resultsUri = typeof memo.resultsUri === 'string' ? memo.resultsUri : null;
        const counts = args.counts ? await countsOf(info, resultsUri, target.client) : { done: null, total: null };
        return {
          sweepId: typeof memo.sweepId === 'string' ? memo.sweepId : info.workflowId.replace(/^sweep-/, ''),
          name: typeof memo.name === 'string' ? memo.name : null,
          workflowId: info.workflowId,
          status: info.status.name,
          startTime: info.startTime.toISOString(),
          closeTime: info.closeTime?.toISOString() ?? null,
          resultsUri,
          ...counts,
          uiUrl: workflowUrl(target, info.workflowId),
        };
      }),
    );
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ sweeps: entries })}\n`);
      return;
    }
    if (entries.length === 0) {
      process.stdout.write(`no sweeps on ${target.address}\n`);
      return;
    }
    const head = ['SWEEP', 'NAME', 'STATUS', 'STARTED', 'TRIALS'];
    const rows = entries.map((e) => [
      e.sweepId,
      e.name ?? '-',
      e.status,
      e.startTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      e.total === null ? (e.done === null ? '-' : `${e.done}/?`) : `${e.done ?? '?'}/${e.total}`,
    ]);
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()}\n`);
  } finally {
    await target.connection.close();
  }
});
