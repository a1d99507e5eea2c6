import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { startTemporal, type TemporalServer } from '../support/servers.js';
import { cleanEnv, lastJson, runCli, startWorker, type WorkerProcess } from '../support/cli.js';

/** A grid that trains well in about a second; `steps` cut to 100 is the planted regression. */
function nightlyGrid(steps: number, finalStaticSteps: number): string {
  return `name: nightly
dataset:
  pointsPerClass: 20
  revolutions: 2
training:
  steps: ${steps}
  finalStaticSteps: ${finalStaticSteps}
  evalEvery: 50
  sharpnessEvery: 0
grid:
  width: [8, 32]
  lr: [1.0]
  loss: [ce, dce]
  period: [40]
  amplitude: [3]
  seed: [0, 1]
threshold:
  level: 0.9
  bootstrap: 200
`;
}

const STATUS = defineSearchAttributeKey('SweepStatus', SearchAttributeType.KEYWORD);
const VERDICT = defineSearchAttributeKey('SweepVerdict', SearchAttributeType.KEYWORD);
const NAME = defineSearchAttributeKey('SweepName', SearchAttributeType.KEYWORD);

interface TriggerOut {
  sweepId: string;
  workflowId: string;
  status: string;
  resultsUri: string;
  verdict: string | null;
  regression: { verdict: string; baselineSweepId: string | null; headline: string; regressions: string[] } | null;
}

/** Nightly regression sweeps on a real Temporal dev server: schedule, trigger, judge, regressions, UI metadata. */
describe('scheduled regression sweeps', { timeout: 300_000 }, () => {
  let temporal: TemporalServer;
  let env: NodeJS.ProcessEnv;
  let worker: WorkerProcess;
  let connection: Connection;
  let client: Client;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-schedule-'));
  const store = path.join(dir, 'store');
  const grid = path.join(dir, 'nightly.yaml');
  const runs: TriggerOut[] = [];

  beforeAll(async () => {
    temporal = await startTemporal({ searchAttributes: { SweepName: 'Keyword', GridHash: 'Keyword', SweepStatus: 'Keyword', SweepVerdict: 'Keyword' } });
    env = cleanEnv({ ...temporal.env(), SWEEP_STORE: store });
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
    worker = await startWorker(env);
    writeFileSync(grid, nightlyGrid(3000, 100));
  });
  afterAll(async () => {
    await worker?.stop();
    await connection?.close();
    await temporal?.stop();
  });

  const cli = (args: string[]) => runCli(args, env, 120_000);

  it('creates a schedule, lists, describes, pauses and unpauses it; rejects a bad cron', async () => {
    const created = await cli(['schedule', 'create', 'nightly', grid, '--cron', '0 3 1 1 *', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const view = lastJson<{ name: string; cron: string; paused: boolean; nextRuns: string[]; store: string; trials: number }>(created);
    expect(view).toMatchObject({ name: 'nightly', cron: '0 3 1 1 *', paused: false, store, trials: 8 });
    expect(new Date(view.nextRuns[0]).getTime()).toBeGreaterThan(Date.now());

    const again = await cli(['schedule', 'create', 'nightly', grid, '--cron', '0 3 1 1 *']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists/);
    const bad = await cli(['schedule', 'create', 'bad', grid, '--cron', 'every full moon']);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/--cron/);

    // Listing goes through visibility, which is eventually consistent: wait until the server lists it.
    for (let i = 0; i < 300; i++) {
      const ids: string[] = [];
      for await (const s of client.schedule.list()) ids.push(s.scheduleId);
      if (ids.includes('nightly')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const listed = await cli(['schedule', 'list', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(lastJson<{ schedules: { name: string; cron: string }[] }>(listed).schedules).toEqual([expect.objectContaining({ name: 'nightly', cron: '0 3 1 1 *' })]);

    expect((await cli(['schedule', 'pause', 'nightly', '--note', 'maintenance'])).code).toBe(0);
    const desc = lastJson<{ paused: boolean; note: string }>(await cli(['schedule', 'describe', 'nightly', '--json']));
    expect(desc).toMatchObject({ paused: true, note: 'maintenance' });
    expect((await client.schedule.getHandle('nightly').describe()).state.paused).toBe(true);
    expect((await cli(['schedule', 'unpause', 'nightly'])).code).toBe(0);
    const text = await cli(['schedule', 'describe', 'nightly']);
    expect(text.stdout).toMatch(/schedule nightly: active/);
    expect(text.stdout).toMatch(/cron: +0 3 1 1 \*/);
  });

  it('a first triggered run is the baseline; an unchanged rerun passes', async () => {
    for (const expected of ['baseline', 'pass']) {
      const run = await cli(['schedule', 'trigger', 'nightly', '--wait', '--json']);
      expect(run.code, run.stderr).toBe(0);
      const out = lastJson<TriggerOut>(run);
      runs.push(out);
      expect(out.sweepId).toMatch(/^nightly-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(out).toMatchObject({ status: 'completed', verdict: expected, workflowId: `sweep-${out.sweepId}`, resultsUri: path.join(store, out.sweepId) });
      const report = JSON.parse(readFileSync(path.join(store, out.sweepId, 'regression.json'), 'utf8'));
      expect(report).toMatchObject({ schema: 'dynsweep.regression/1', sweepId: out.sweepId, schedule: 'nightly', verdict: expected });
      expect(existsSync(path.join(store, out.sweepId, 'cells.json'))).toBe(true);
      // report.html is rendered again once judged, with the verdict in it.
      expect(readFileSync(path.join(store, out.sweepId, 'report.html'), 'utf8')).toContain(`<section id="regression" data-verdict="${expected}">`);
      expect(existsSync(path.join(store, 'schedules', 'nightly', 'runs', `${out.sweepId}.json`))).toBe(true);
    }
    const [first, second] = runs;
    expect(second.sweepId).not.toBe(first.sweepId);
    expect(second.regression).toMatchObject({ verdict: 'pass', baselineSweepId: first.sweepId, regressions: [] });
    const report = JSON.parse(readFileSync(path.join(store, second.sweepId, 'regression.json'), 'utf8'));
    expect(report.baseline).toMatchObject({ sweepId: first.sweepId, source: 'last-good' });
    expect(report.counts).toMatchObject({ cellsCompared: 4, cellsRegressed: 0, lossesCompared: 2, thresholdsRegressed: 0 });

    const verdicts = await cli(['regressions', 'nightly', '--json']);
    expect(verdicts.code, verdicts.stdout).toBe(0);
    expect(lastJson<{ regressed: boolean }>(verdicts).regressed).toBe(false);
    // `sweep status` finds a scheduled run by its id (the workflow upserted its memo).
    const status = await cli(['status', second.sweepId, '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(lastJson(status)).toMatchObject({ status: 'completed', resultsUri: second.resultsUri });
  });

  it('shows UI metadata through the Temporal API: summaries, details, search attributes, activity summaries', async () => {
    const second = runs[1];
    const handle = client.workflow.getHandle(second.workflowId);
    const desc = await handle.describe();
    expect(await desc.staticSummary()).toMatch(/^scheduled sweep nightly: 8 trials · ce,dce · widths 8, 32 · grid [0-9a-f]{8}$/);
    expect(await desc.staticDetails()).toContain('schedule **nightly**');
    expect(desc.typedSearchAttributes.get(STATUS)).toBe('completed');
    expect(desc.typedSearchAttributes.get(VERDICT)).toBe('pass');
    expect(desc.typedSearchAttributes.get(NAME)).toBe('nightly');
    expect(desc.memo).toMatchObject({ sweepId: second.sweepId, resultsUri: second.resultsUri, schedule: 'nightly' });

    // Current details: what the web UI asks the workflow for (a query, answered by the worker).
    const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toContain('**completed**');
    expect(meta.currentDetails).toMatch(/\| 8 \| 8 \| 0 \| 2\/2 done \(0 failed\), 0 running \|/);
    expect(meta.currentDetails).toMatch(/Best validation accuracy so far: \*\*\d+\.\d%\*\* \((ce|dce) w=\d+/);
    expect(meta.currentDetails).toMatch(/verdict: \*\*pass vs nightly-/);
    expect(meta.currentDetails).toContain(second.resultsUri);

    // Each activity says what it does.
    const history = await handle.fetchHistory();
    const summaries = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => {
        const p = e.userMetadata?.summary;
        return `${e.activityTaskScheduledEventAttributes!.activityType!.name}: ${p ? defaultPayloadConverter.fromPayload<string>(p) : '(none)'}`;
      });
    expect(summaries).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^planSweep: plan .*nightly\.yaml into packs$/),
        // The workflow knows a pack by its index (the plan is in the store); what it trains is in its heartbeats.
        'trainPack: pack 1/2',
        'trainPack: pack 2/2',
        expect.stringMatching(/^finalizeSweep: /),
        expect.stringMatching(/^judgeSweep: judge nightly-.* against the baseline of schedule nightly$/),
      ]),
    );

    // Visibility: the runs are searchable by status and verdict.
    const find = async (query: string, expected: number) => {
      for (let i = 0; i < 150; i++) {
        const ids: string[] = [];
        for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
        if (ids.length >= expected || i === 149) return ids.sort();
        await new Promise((r) => setTimeout(r, 200));
      }
      return [];
    };
    expect(await find(`SweepStatus = "completed" AND TemporalScheduledById = "nightly"`, runs.length)).toEqual(runs.map((r) => r.workflowId).sort());
    expect(await find(`SweepVerdict = "pass"`, 1)).toEqual([second.workflowId]);

    // A plain `sweep start` carries a static summary and moves SweepStatus to completed too.
    const plain = path.join(dir, 'plain.yaml');
    writeFileSync(plain, nightlyGrid(200, 50).replace('name: nightly', 'name: plain').replace('width: [8, 32]', 'width: [4]'));
    const started = await cli(['start', plain, '--wait', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const pd = await client.workflow.getHandle(lastJson<{ workflowId: string }>(started).workflowId).describe();
    expect(await pd.staticSummary()).toMatch(/^sweep plain: 4 trials/);
    expect(await pd.staticDetails()).toContain('sweep status plain-');
    expect(pd.typedSearchAttributes.get(STATUS)).toBe('completed');
    expect(pd.typedSearchAttributes.get(VERDICT)).toBeUndefined();

    // Search attributes survive continue-as-new: the last run still moves SweepStatus to completed.
    const rollGrid = nightlyGrid(100, 20).replace('name: nightly', 'name: roll').replace('width: [8, 32]', 'width: [2, 3, 4]') + 'execution:\n  packSize: 1\n  maxConcurrentPacks: 2\n';
    const roll = await client.workflow.start('sweepWorkflow', {
      taskQueue: 'dynsweep-control',
      workflowId: 'sweep-roll',
      args: [{ sweepId: 'roll', resultsUri: path.join(store, 'roll'), gridYaml: rollGrid, gridFile: 'roll.yaml', historyBudget: 40 }],
      typedSearchAttributes: [
        { key: NAME, value: 'roll' },
        { key: STATUS, value: 'planning' },
      ],
    });
    expect(await roll.result()).toMatchObject({ status: 'completed', completed: 12 });
    const rd = await client.workflow.getHandle('sweep-roll').describe();
    expect(rd.runId).not.toBe(roll.firstExecutionRunId);
    expect(rd.typedSearchAttributes.get(STATUS)).toBe('completed');
    expect(rd.typedSearchAttributes.get(NAME)).toBe('roll');
  });

  it('catches a planted regression (training cut to 100 steps) and names the regressed cells', async () => {
    const cut = path.join(dir, 'nightly-cut.yaml');
    writeFileSync(cut, nightlyGrid(100, 20));
    const updated = await cli(['schedule', 'update', 'nightly', '--grid', cut]);
    expect(updated.code, updated.stderr).toBe(0);

    const run = await cli(['schedule', 'trigger', 'nightly', '--wait', '--json']);
    expect(run.code, run.stdout).toBe(1);
    const out = lastJson<TriggerOut>(run);
    runs.push(out);
    expect(out).toMatchObject({ status: 'completed', verdict: 'regressed' });
    expect(out.regression!.baselineSweepId).toBe(runs[1].sweepId);

    const verdicts = await cli(['regressions', 'nightly']);
    expect(verdicts.code, verdicts.stdout).toBe(1);
    expect(verdicts.stdout).toContain(`latest run ${out.sweepId} REGRESSED`);
    for (const cell of ['ce w=32 lr=1', 'dce w=32 lr=1 T=40 A=3']) expect(verdicts.stdout).toMatch(new RegExp(`- ${cell.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: valAcc 0\\.\\d+ below`));
    expect(verdicts.stdout).toMatch(/- ce threshold P\* not reached above the baseline interval/);
    const json = lastJson<{ regressed: boolean; schedules: { schedule: string; latest: { sweepId: string; verdict: string }; regressions: string[] }[] }>(
      await cli(['regressions', '--json']),
    );
    expect(json.regressed).toBe(true);
    expect(json.schedules[0]).toMatchObject({ schedule: 'nightly', latest: { sweepId: out.sweepId, verdict: 'regressed' } });
    expect(json.schedules[0].regressions.length).toBeGreaterThanOrEqual(4);
    const html = readFileSync(path.join(store, out.sweepId, 'report.html'), 'utf8');
    expect(html).toContain('<section id="regression" data-verdict="regressed">');
    expect(html).toContain(`<b>Regressed</b> against its baseline: REGRESSED vs ${runs[1].sweepId}`);
    expect(html).toMatch(/<li>ce w=32 lr=1[^<]*: valAcc 0\.\d+ below/);

    const desc = await client.workflow.getHandle(out.workflowId).describe();
    expect(desc.typedSearchAttributes.get(VERDICT)).toBe('regressed');
    const meta = await client.workflow.getHandle(out.workflowId).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toMatch(/verdict: \*\*REGRESSED vs nightly-/);
    expect(meta.currentDetails).toMatch(/- (ce|dce) w=\d+ lr=1.*valAcc/);
  });

  it('pins and unpins a baseline; deletes the schedule and keeps the verdicts', async () => {
    const [first, , regressed] = runs;
    const pinned = await cli(['baseline', 'pin', first.sweepId, '--json']);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(lastJson(pinned)).toMatchObject({ schedule: 'nightly', sweepId: first.sweepId, resultsUri: first.resultsUri });
    expect(JSON.parse(readFileSync(path.join(store, 'schedules', 'nightly', 'baseline.json'), 'utf8')).sweepId).toBe(first.sweepId);
    const describe = lastJson<{ baseline: { sweepId: string } | null; verdicts: { sweepId: string; verdict: string }[] }>(
      await cli(['schedule', 'describe', 'nightly', '--json']),
    );
    expect(describe.baseline?.sweepId).toBe(first.sweepId);
    expect(describe.verdicts.map((v) => v.verdict)).toEqual(['baseline', 'pass', 'regressed']);
    expect((await cli(['baseline', 'pin', 'no-such-sweep', '--schedule', 'nightly'])).code).toBe(1);
    expect((await cli(['baseline', 'unpin', 'nightly'])).code).toBe(0);
    expect(existsSync(path.join(store, 'schedules', 'nightly', 'baseline.json'))).toBe(false);

    const deleted = await cli(['schedule', 'delete', 'nightly']);
    expect(deleted.code, deleted.stderr).toBe(0);
    await expect(client.schedule.getHandle('nightly').describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    const gone = await cli(['schedule', 'describe', 'nightly']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no schedule nightly/);
    // The verdicts live in the store: CI still sees the regression.
    const after = await cli(['regressions', 'nightly']);
    expect(after.code).toBe(1);
    expect(after.stdout).toContain(regressed.sweepId);
    expect(after.stdout).toContain(`schedule nightly (baseline: ${runs[1].sweepId})`);
  });
});
