/**
 * The markdown a sweep shows in the Temporal web UI as its current details (workflow metadata query), rebuilt from
 * the workflow's state whenever it changes. Pure and deterministic.
 */
import type { ThresholdBrief } from '../activities/contracts.js';
import type { SweepProgress } from './definitions.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function detailsMarkdown(p: SweepProgress, thresholds: Record<string, ThresholdBrief> | null, schedule: string | null): string {
  const lines: string[] = [];
  lines.push(`**${p.name || p.sweepId}** · \`${p.sweepId}\` · **${p.status}**`, '');
  if (p.totalTrials > 0) {
    lines.push(
      '| trials | recorded | failed | diverged | packs |',
      '|---:|---:|---:|---:|---|',
      `| ${p.totalTrials} | ${p.completedTrials} | ${p.failedTrials} | ${p.divergedTrials} | ${p.donePacks}/${p.totalPacks} done, ${p.runningPacks} running |`,
      '',
    );
  }
  if (p.bestValAcc) lines.push(`Best validation accuracy so far: **${pct(p.bestValAcc.value)}** (${p.bestValAcc.label})`, '');
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
