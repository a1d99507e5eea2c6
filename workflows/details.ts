/**
 * The markdown a sweep shows in the Temporal web UI as its current details (workflow metadata query), rebuilt from
 * the workflow's state whenever it changes. Pure and deterministic.
 */
import type { ThresholdBrief } from '../activities/contracts.js';
import type { SweepProgress } from './definitions.js';
import { fmtRatio, type MonitorView } from './monitor.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The instability monitor: trials beyond 2/eta now (packs in flight), crossings and blow-ups so far, the worst cells. */
export function monitorMarkdown(m: MonitorView): string[] {
  const { live, total } = m;
  const lines = [
    '**Instability** (edge of stability: λmax·η/2 > 1 is beyond 2/η)',
    '',
    '| above 2/η now | training now | crossed 2/η | crossings | diverged | loss spikes | max λmax·η/2 |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    `| ${live.aboveNow} | ${live.trials} | ${total.crossed} of ${total.trials} | ${total.crossings} | ${total.diverged} | ${total.spiked} | ${fmtRatio(total.maxEos)} |`,
  ];
  if (total.top.length > 0) {
    lines.push('', 'Most unstable cells:', '', '| cell | trials | max λmax·η/2 | crossings | diverged | above now |', '|---|---:|---:|---:|---:|---:|');
    for (const c of total.top) lines.push(`| ${c.label} | ${c.trials} | ${fmtRatio(c.maxEos)} | ${c.crossings} | ${c.diverged} | ${c.aboveNow} |`);
  }
  return lines;
}

export function detailsMarkdown(p: SweepProgress, thresholds: Record<string, ThresholdBrief> | null, schedule: string | null): string {
  const lines: string[] = [];
  lines.push(`**${p.name || p.sweepId}** · \`${p.sweepId}\` · **${p.status}**`, '');
  if (p.totalTrials > 0) {
    lines.push(
      '| trials | recorded | diverged | packs |',
      '|---:|---:|---:|---|',
      `| ${p.totalTrials} | ${p.completedTrials} | ${p.divergedTrials} | ${p.donePacks}/${p.totalPacks} done (${p.failedPacks} failed), ${p.runningPacks} running |`,
      '',
    );
  }
  if (p.bestValAcc) lines.push(`Best validation accuracy so far: **${pct(p.bestValAcc.value)}** (${p.bestValAcc.label})`, '');
  if (p.monitor && p.monitor.total.trials > 0) lines.push(...monitorMarkdown(p.monitor), '');
  if (thresholds && Object.keys(thresholds).length > 0) {
    lines.push('| loss | threshold P* | width |', '|---|---:|---:|');
    for (const [loss, t] of Object.entries(thresholds)) {
      lines.push(t.reached ? `| ${loss} | ${Math.round(t.params!)} | ${t.width!.toFixed(1)} |` : `| ${loss} | not reached | |`);
    }
    lines.push('');
  }
  if (schedule) {
    const r = p.regression;
    lines.push(`Schedule **${schedule}** · verdict: ${r ? `**${r.headline}**` : '_pending (judged after finalize)_'}`);
    if (r && r.regressions.length > 0) {
      for (const line of r.regressions) lines.push(`- ${line}`);
      if (r.regressionCount > r.regressions.length) lines.push(`- … ${r.regressionCount - r.regressions.length} more in regression.json`);
    }
    lines.push('');
  }
  lines.push(`Results: \`${p.resultsUri}\` (summary.json, thresholds.json${schedule ? ', regression.json' : ''})`);
  lines.push(`Terminal: \`sweep status ${p.sweepId}\``);
  return lines.join('\n');
}
