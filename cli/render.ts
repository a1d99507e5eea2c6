import cliProgress from 'cli-progress';
import type { SweepProgress, SweepResult } from '../workflows/definitions.js';
import { fmtRatio, type MonitorView } from '../workflows/monitor.js';

/** A live progress bar on stderr (stdout stays clean for --json). */
export class ProgressView {
  private bar: cliProgress.SingleBar | null = null;

  /** `inFlight`: fractional trials done inside running packs (from heartbeats). */
  update(p: SweepProgress, inFlight = 0): void {
    if (p.totalTrials === 0) return;
    const done = p.completedTrials;
    const payload = {
      done,
      failed: p.failedPacks,
      diverged: p.divergedTrials,
      packs: `${p.donePacks}/${p.totalPacks}`,
      status: p.status,
      unstable: p.monitor && p.monitor.total.trials > 0 ? ` | ${monitorSummary(p.monitor)}` : '',
    };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: '{bar} {done}/{total} trials | {rate} | ETA {left} | failed packs {failed} | diverged {diverged} | packs {packs} | {status}{unstable}',
          noTTYOutput: true,
          notTTYSchedule: 5000,
          hideCursor: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(p.totalTrials, 0, { ...payload, rate: '…', left: '…' });
    }
    const elapsed = Math.max(1, Date.now() - p.startedAt) / 1000;
    const value = Math.min(p.totalTrials, done + inFlight);
    this.bar.update(value, { ...payload, rate: rateOf(elapsed, value), left: etaOf(elapsed, value, p.totalTrials) });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/** Trials per second so far, in-pack progress included (a long pack moves it before it ends); '…' until then. */
export function rateOf(elapsedS: number, done: number): string {
  return done > 0 ? `${(done / elapsedS).toFixed(2)} trials/s` : '…';
}

/** The instability monitor's counts, short enough for the progress line: trials beyond 2/eta now, crossed and blown up so far. */
export function monitorSummary(m: MonitorView): string {
  return `above 2/η ${m.live.aboveNow}/${m.live.trials} now | crossed ${m.total.crossed}/${m.total.trials} | blow-ups ${m.total.diverged}`;
}

/** The instability monitor as a few lines of text: the counts, then the most unstable cells. */
export function monitorLines(m: MonitorView): string[] {
  const { live, total } = m;
  const lines = [
    `instability: ${live.aboveNow} of ${live.trials} training trials above 2/η now; ${total.crossed} of ${total.trials} crossed it ` +
      `(${total.crossings} crossings), ${total.diverged} diverged, ${total.spiked} with loss spikes; max λmax·η/2 ${fmtRatio(total.maxEos)}`,
  ];
  if (total.top.length > 0) {
    lines.push(`  ${'most unstable cells'.padEnd(32)} ${'trials'.padStart(6)} ${'max λη/2'.padStart(9)} ${'crossings'.padStart(9)} ${'diverged'.padStart(8)} ${'above now'.padStart(9)}`);
    for (const c of total.top) {
      lines.push(
        `  ${c.label.padEnd(32)} ${String(c.trials).padStart(6)} ${fmtRatio(c.maxEos).padStart(9)} ${String(c.crossings).padStart(9)} ${String(c.diverged).padStart(8)} ${String(c.aboveNow).padStart(9)}`,
      );
    }
  }
  return lines;
}

/** Time left at the sweep's average pace so far (in-pack progress included); '…' until something has moved. */
export function etaOf(elapsedS: number, done: number, total: number): string {
  if (done >= total) return '0s';
  if (!(done > 0)) return '…';
  const left = Math.round((elapsedS * (total - done)) / done);
  if (left < 60) return `${left}s`;
  if (left < 3600) return `${Math.floor(left / 60)}m${String(left % 60).padStart(2, '0')}s`;
  return `${Math.floor(left / 3600)}h${String(Math.floor((left % 3600) / 60)).padStart(2, '0')}m`;
}

export function renderResult(r: SweepResult, uiUrl: string): string {
  const lines = [
    `sweep ${r.sweepId}: ${r.status} — ${r.completed}/${r.trials} trials recorded, ${r.failed} failed, ${r.diverged} diverged`,
    `results: ${r.resultsUri}`,
    `report:  ${r.resultsUri.replace(/\/$/, '')}/report.html`,
    `web UI:  ${uiUrl}`,
    '',
    'over-parameterization threshold (smallest network that fits the training set):',
    `  ${'loss'.padEnd(6)} ${'params P*'.padStart(10)} ${'width'.padStart(8)}`,
  ];
  for (const [loss, t] of Object.entries(r.thresholds)) {
    lines.push(
      t.reached
        ? `  ${loss.padEnd(6)} ${t.params!.toFixed(0).padStart(10)} ${t.width!.toFixed(1).padStart(8)}`
        : `  ${loss.padEnd(6)} ${'not reached'.padStart(10)}`,
    );
  }
  if (r.findings?.length) lines.push('', 'findings:', ...r.findings.map((f) => `  ${f}`));
  return `${lines.join('\n')}\n`;
}
