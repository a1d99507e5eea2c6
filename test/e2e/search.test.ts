import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { lastJson, runCli, type CliRun } from '../support/cli.js';
import { startStack, type TestStack } from '../support/stack.js';
import type { SearchProgress } from '../../activities/contracts.js';
import type { ThresholdReport } from '../../core/thresholds.js';
import type { SearchCell, TrialRecord } from '../../core/types.js';
import { progressQuery } from '../../workflows/definitions.js';

const workflowsPath = path.resolve('dist/workflows/index.js');

/**
 * ce and dce on small spirals (50 points per arm, one full turn), 4,000 steps at lr 1, two seeds, the widths listed:
 * ce first reaches a median training accuracy of 0.94 at width 8 (6: 0.77), dce at 12 (8: 0.90). Sharpness every
 * 4th step only makes each trial last long enough (about half a second) for a round to be seen while it trains; it
 * does not change a number of the training. One trial per pack, so a round is several packs.
 */
const gridOf = (name: string, search: string) => `name: ${name}
dataset:
  pointsPerClass: 50
  revolutions: 2
training:
  steps: 4000
  finalStaticSteps: 50
  evalEvery: 50
  sharpnessEvery: 4
grid:
  width: [2, 3, 4, 6, 8, 12, 16, 24, 32]
  lr: [1]
  loss: [ce, dce]
  period: [40]
  amplitude: [3]
  seed: [0, 1]
threshold:
  level: 0.94
  bootstrap: 200
execution:
  packSize: 1
${search}`;

interface SearchThresholds extends ThresholdReport {
  search: { rounds: { round: number; cells: number; widths: number; trials: number }[]; trials: number; trialSteps: number; cells: (SearchCell & { bracketRatio: number | null })[] };
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const recordsIn = (resultsUri: string): TrialRecord[] =>
  readdirSync(path.join(resultsUri, 'trials')).map((f) => readJson<TrialRecord>(path.join(resultsUri, 'trials', f)));

/** The threshold search on the real dev server and a worker process, against the full grid of the same settings. */
describe('threshold search end to end', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack('dynsweep-search-e2e-', ['--concurrency', '2']);
  });
  afterAll(() => stack?.stop());

  it('finds the full grid\'s P* with fewer trial-steps, shows rounds and brackets while it runs, and replays', { timeout: 600_000 }, async () => {
    const { dir, env, client, worker } = stack;
    const searchFile = path.join(dir, 'search.yaml');
    writeFileSync(searchFile, gridOf('search-e2e', 'search: { kind: threshold, widths: listed }\n'));
    const started = await runCli(['start', searchFile, '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const s = lastJson<{ sweepId: string; workflowId: string; resultsUri: string; trials: number }>(started);
    expect(s.trials).toBe(36); // the full grid's count, which the search does not train
    const handle = client.workflow.getHandle(s.workflowId);
    const details = async () => (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';

    // While it runs: the web UI details (and the progress query) show the rounds and a cell's bracket (both ends).
    const bracketRow = /\| (ce|dce) [^|]+ \| searching \| w=\d+ \(P \d+, \d\/2 fit\) \| w=\d+ \(P \d+, \d\/2 fit\) \| \d+\.\d\d× \|/;
    let live: { markdown: string; search: SearchProgress } | null = null;
    const cliWhileRunning: { json: CliRun; text: CliRun }[] = [];
    const sampleCli = (async () => {
      // `sweep status` (JSON, then text) as often as it answers, until the search ends.
      while ((await handle.describe()).status.name === 'RUNNING') {
        const json = await runCli(['status', s.sweepId, '--json'], env);
        const text = await runCli(['status', s.sweepId], env);
        cliWhileRunning.push({ json, text });
      }
    })();
    const deadline = Date.now() + 300_000;
    while (!live) {
      if (Date.now() > deadline) throw new Error(`no bracket seen in the details\n${worker.log().slice(-3000)}`);
      if ((await handle.describe()).status.name !== 'RUNNING') throw new Error(`the search ended before a bracket was seen while it ran:\n${await details()}`);
      const [markdown, progress] = await Promise.all([details(), handle.query(progressQuery)]);
      if (progress.status === 'running' && progress.search && progress.search.rounds.length >= 2 && bracketRow.test(markdown)) live = { markdown, search: progress.search };
      else await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`web UI details while the search ran:\n${live.markdown}`);
    expect(live.markdown).toContain('**Threshold search**');
    expect(live.markdown).toContain('| round | cells | widths | trials |');
    expect(live.markdown).toContain('| 1 | 2 | 6 | 12 |'); // round 1: both cells, the ladder's 3 rungs (32, 8, 2), 2 seeds each
    expect(live.search.rounds[0]).toEqual({ round: 1, cells: 2, widths: 6, trials: 12 });
    expect(live.search.cells.some((c) => c.outcome === null && c.lo && c.hi)).toBe(true);

    // `sweep status --watch --json` follows it to the end, with the search in its result.
    const watch = await runCli(['status', s.sweepId, '--watch', '--json'], env, 300_000);
    expect(watch.code, watch.stderr).toBe(0);
    const result = lastJson<{ status: string; completed: number; search: SearchProgress; monitor: { total: { trials: number } } | null }>(watch);
    expect(result.status).toBe('completed');
    expect(result.search.open).toBe(0);
    expect(result.search.round).toBe(result.search.rounds.length);
    await sampleCli;

    // `sweep status` while it ran: the search (JSON `search`; text rows) at some round, with the rounds so far.
    const running = cliWhileRunning.filter(({ json }) => lastJson<{ workflowStatus: string }>(json).workflowStatus === 'RUNNING');
    expect(running.length, 'no `sweep status` answered while the search ran').toBeGreaterThan(0);
    for (const { json, text } of running) {
      expect(json.code, json.stderr).toBe(0);
      const j = lastJson<{ status: string; search?: SearchProgress }>(json);
      expect(j.search?.cells.map((c) => c.id.split(' ')[0])).toEqual(['ce', 'dce']);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^threshold search: round \d+ of at most 12, [0-2]\/2 cells open, \d+ trials, \d+ trial-steps judged$/m);
      expect(text.stdout).toMatch(/^ {2}cell +state +fails \(lo\) +meets \(hi\) +P_hi\/P_lo +widths +trials$/m);
      if (j.search!.rounds.length > 0) expect(text.stdout).toContain('  round 1: 2 cells, 6 widths, 12 trials');
    }
    console.log(`sweep status while the search ran (${running.length} samples), the last:\n${running.at(-1)!.text.stdout}`);

    // The full grid of the same settings.
    const gridFile = path.join(dir, 'grid.yaml');
    writeFileSync(gridFile, gridOf('search-e2e-grid', ''));
    const full = await runCli(['start', gridFile, '--wait', '--json'], env, 300_000);
    expect(full.code, full.stderr).toBe(0);
    const g = lastJson<{ resultsUri: string; completed: number }>(full);
    expect(g.completed).toBe(36);

    // (a) the same P* per loss as the full grid, inside the grid's bootstrap interval.
    const mine = readJson<SearchThresholds>(path.join(s.resultsUri, 'thresholds.json'));
    const grid = readJson<ThresholdReport>(path.join(g.resultsUri, 'thresholds.json'));
    expect(mine.losses.map((l) => l.loss)).toEqual(['ce', 'dce']);
    for (const loss of ['ce', 'dce'] as const) {
      const a = mine.losses.find((l) => l.loss === loss)!.threshold;
      const b = grid.losses.find((l) => l.loss === loss)!.threshold;
      expect(b.reached, loss).toBe(true);
      expect(a.params, loss).toBe(b.params);
      expect(a.gridWidth, loss).toBe(b.gridWidth);
      expect(a.params!).toBeGreaterThanOrEqual(b.ci!.lower!);
      expect(a.params!).toBeLessThanOrEqual(b.ci!.upper!);
      // The search's bracket is the grid's: adjacent listed widths around the flip.
      const cell = mine.search.cells.find((c) => c.loss === loss)!;
      expect(cell.outcome, loss).toBe('resolved');
      expect([cell.lo!.width, cell.hi!.width], loss).toEqual([b.bracket!.below!.width, b.bracket!.atOrAbove.width]);
    }
    expect(grid.losses.find((l) => l.loss === 'ce')!.threshold.gridWidth).toBe(8);
    expect(grid.losses.find((l) => l.loss === 'dce')!.threshold.gridWidth).toBe(12);

    // (b) fewer trial-steps: the search's own count is the sum over its records, and below the grid's.
    const searchRecords = recordsIn(s.resultsUri);
    const gridRecords = recordsIn(g.resultsUri);
    const steps = (rs: TrialRecord[]) => rs.reduce((n, r) => n + r.stepsRun, 0);
    expect(mine.search.trials).toBe(searchRecords.length);
    expect(mine.search.trialSteps).toBe(steps(searchRecords));
    expect(mine.search.rounds.reduce((n, r) => n + r.trials, 0)).toBe(searchRecords.length);
    // The live instability monitor counted every trial the search trained, as a sweep's does.
    expect(result.monitor?.total.trials).toBe(searchRecords.length);
    expect(steps(gridRecords)).toBe(36 * 4000);
    expect(mine.search.trialSteps).toBeLessThan(steps(gridRecords));
    // Its trials are the grid's own (same ids), so a search and a grid of the same settings share records.
    const gridIds = new Set(gridRecords.map((r) => r.trialId));
    expect(searchRecords.every((r) => gridIds.has(r.trialId))).toBe(true);
    console.log(`search: ${mine.search.trials} trials, ${mine.search.trialSteps} trial-steps in ${mine.search.rounds.length} rounds; full grid: 36 trials, ${steps(gridRecords)} trial-steps`);

    // (d) it replays deterministically against the current workflow code.
    await Worker.runReplayHistory({ workflowsPath }, await handle.fetchHistory(), s.workflowId);
  });

  it('stops its running packs before it finalizes when cancelled', { timeout: 300_000 }, async () => {
    const { dir, env, client } = stack;
    const file = path.join(dir, 'cancel.yaml');
    // Packs far too long to finish: the cancellation must reach them (heartbeats) before the search finalizes.
    writeFileSync(file, gridOf('search-cancel', 'search: threshold\n').replace('steps: 4000', 'steps: 4000000').replace('sharpnessEvery: 4', 'sharpnessEvery: 0').replace('packSize: 1', 'packSize: 1\n  heartbeatTimeoutS: 5'));
    const s = lastJson<{ sweepId: string; workflowId: string }>(await runCli(['start', file, '--json'], env));
    const handle = client.workflow.getHandle(s.workflowId);
    for (let i = 0; ; i++) {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      if (pending.some((a) => a.activityType?.name === 'trainPack' && /STARTED|^2$/.test(String(a.state)))) break;
      if (i > 600) throw new Error('no pack started');
      await new Promise((r) => setTimeout(r, 100));
    }
    const cancel = await runCli(['cancel', s.sweepId, '--wait', '--json'], env, 120_000);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(lastJson(cancel)).toMatchObject({ status: 'cancelled' });
    expect((await handle.describe()).status.name).toBe('CANCELLED');

    // In the history every trainPack ended (cancelled) before finishSearch was scheduled.
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const typeOf = new Map<string, string>();
    for (const e of events) if (e.activityTaskScheduledEventAttributes) typeOf.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    const scheduledOf = (e: (typeof events)[number]) =>
      String((e.activityTaskCanceledEventAttributes ?? e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes)?.scheduledEventId ?? '');
    const packsScheduled = [...typeOf.entries()].filter(([, t]) => t === 'trainPack').map(([id]) => id);
    const packEnds = events.filter((e) => packsScheduled.includes(scheduledOf(e)));
    const finish = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'finishSearch');
    expect(packsScheduled.length).toBeGreaterThan(0);
    expect(packEnds).toHaveLength(packsScheduled.length);
    expect(packEnds.some((e) => e.activityTaskCanceledEventAttributes)).toBe(true);
    expect(Math.max(...packEnds.map((e) => Number(e.eventId)))).toBeLessThan(Number(finish!.eventId));
    await Worker.runReplayHistory({ workflowsPath }, history, s.workflowId);
  });
});
