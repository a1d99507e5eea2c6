import cliProgress from 'cli-progress';
import type { SweepProgress, SweepResult } from '../workflows/definitions.js';

/** A live progress bar on stderr (stdout stays clean for --json). */
export class ProgressView {
  private bar: cliProgress.SingleBar | null = null;

  /** `inFlight`: fractional trials done inside running packs (from heartbeats). */
  update(p: SweepProgress, inFlight = 0): void {
    if (p.totalTrials === 0) return;
    const done = p.completedTrials + p.failedTrials;
    const payload = { done, failed: p.failedTrials, diverged: p.divergedTrials, packs: `${p.donePacks}/${p.totalPacks}`, status: p.status };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: '{bar} {done}/{total} trials | {rate} | ETA {eta_formatted} | failed {failed} | diverged {diverged} | packs {packs} | {status}',
          etaBuffer: 20,
          noTTYOutput: true,
          notTTYSchedule: 5000,
          hideCursor: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(p.totalTrials, 0, { ...payload, rate: '…' });
    }
    const elapsed = Math.max(1, Date.now() - p.startedAt) / 1000;
    const rate = `${(p.completedTrials / elapsed).toFixed(2)} trials/s`;
    this.bar.update(Math.min(p.totalTrials, done + inFlight), { ...payload, rate });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
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
  return `${lines.join('\n')}\n`;
}
