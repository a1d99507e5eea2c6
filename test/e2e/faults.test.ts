import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { startTemporal, type TemporalServer } from '../support/servers.js';
import { cleanEnv, lastJson, runCli, startWorker, tinyGrid, type WorkerProcess } from '../support/cli.js';

const workflowsPath = path.resolve('dist/workflows/index.js');

/** Runtime faults on the real server: a killed worker, history limits, replay determinism. */
describe('runtime faults and history', () => {
  let temporal: TemporalServer;
  let env: NodeJS.ProcessEnv;
  let connection: Connection;
  let client: Client;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-faults-'));
  const store = path.join(dir, 'store');
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    temporal = await startTemporal();
    env = cleanEnv({ ...temporal.env(), SWEEP_STORE: store });
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await connection?.close();
    await temporal?.stop();
  });

  it('retries the packs of a killed worker on another one and loses no trial', { timeout: 400_000 }, async () => {
    const grid = path.join(dir, 'kill.yaml');
    // Packs long enough to be caught mid-training; a short heartbeat timeout notices the dead worker fast.
    writeFileSync(
      grid,
      tinyGrid({ name: 'kill', steps: 10000, widths: '[32, 48]', losses: '[ce, dce]', seeds: '[0, 1]', extra: 'execution:\n  packSize: 2\n  heartbeatTimeoutS: 5\n' }),
    );
    const first = await startWorker(env, ['--concurrency', '2']);
    workers.push(first);
    const started = lastJson<{ sweepId: string; workflowId: string; trials: number }>(await runCli(['start', grid, '--json'], env));
    const handle = client.workflow.getHandle(started.workflowId);

    // Kill the worker once it is training (a pending activity that has started).
    for (let i = 0; ; i++) {
      const desc = await handle.describe();
      const pending = (desc.raw.pendingActivities ?? []).filter(
        (a) => a.activityType?.name === 'trainPack' && /STARTED|^2$/.test(String(a.state)),
      );
      if (pending.length > 0) break;
      if (i > 600) throw new Error('no pack started');
      await new Promise((r) => setTimeout(r, 100));
    }
    first.kill();
    workers.push(await startWorker(env));

    const run = await runCli(['status', started.sweepId, '--watch', '--json'], env, 90_000).catch(async (err: Error) => {
      const d = await handle.describe();
      const h = await handle.fetchHistory();
      throw new Error(`${err.message}\npending: ${JSON.stringify(d.raw.pendingActivities)}\nhistory: ${JSON.stringify((h.events ?? []).map((e) => e.eventType))}`);
    });
    expect(run.code, run.stderr).toBe(0);
    expect(lastJson(run)).toMatchObject({ status: 'completed', completed: started.trials, failed: 0 });
    const records = readdirSync(path.join(store, started.sweepId, 'trials'));
    expect(records).toHaveLength(started.trials);

    // The history shows the retry: some pack completed on a later attempt after a heartbeat timeout.
    const history = await handle.fetchHistory();
    const attempts = (history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);

    // And it replays deterministically against the current workflow code.
    await Worker.runReplayHistory({ workflowsPath }, history, started.workflowId);
  });

  it('continues as new before history grows large, keeping counts across runs', async () => {
    const gridText = tinyGrid({ name: 'roll', steps: 100, widths: '[2, 3, 4]', losses: '[ce, mse]', seeds: '[0, 1]', extra: 'execution:\n  packSize: 1\n  maxConcurrentPacks: 2\n' });
    if (workers.length === 0 || workers.every((w) => w.child.exitCode !== null)) workers.push(await startWorker(env));
    const workflowId = 'sweep-roll-test';
    const handle = await client.workflow.start('sweepWorkflow', {
      taskQueue: 'dynsweep-control',
      workflowId,
      args: [{ sweepId: 'roll-test', resultsUri: path.join(store, 'roll-test'), gridYaml: gridText, gridFile: 'roll.yaml', historyBudget: 40 }],
    });
    const result = (await handle.result()) as { completed: number; trials: number; status: string };
    expect(result).toMatchObject({ status: 'completed', trials: 12, completed: 12 });
    const runs: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(w.status.name);
    expect(runs.filter((s) => s === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(1);
    expect(runs).toContain('COMPLETED');
    await Worker.runReplayHistory({ workflowsPath }, await client.workflow.getHandle(workflowId, handle.firstExecutionRunId).fetchHistory(), workflowId);
  });

  it('records a trial that diverges as a result, not a failure', async () => {
    const grid = path.join(dir, 'diverge.yaml');
    writeFileSync(grid, tinyGrid({ name: 'diverge', steps: 100, widths: '[4]', losses: '[mse]', seeds: '[0]' }).replace('lr: [0.5]', 'lr: [0.5, 500]'));
    if (workers.every((w) => w.child.exitCode !== null)) workers.push(await startWorker(env));
    const run = await runCli(['start', grid, '--wait', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const out = lastJson<{ completed: number; failed: number; diverged: number }>(run);
    expect(out).toMatchObject({ completed: 2, failed: 0, diverged: 1 });
  });

  it('re-planning a sweep id with another grid trains the new grid, not the cached manifest', async () => {
    if (workers.every((w) => w.child.exitCode !== null)) workers.push(await startWorker(env));
    const grid = path.join(dir, 'replan.yaml');
    const run = async (widths: string) => {
      writeFileSync(grid, tinyGrid({ name: 'replan', steps: 60, widths, losses: '[ce]', seeds: '[0]' }));
      const r = await runCli(['start', grid, '--wait', '--json', '--id', 'replan'], env);
      expect(r.code, r.stderr).toBe(0);
      return lastJson<{ trials: number; completed: number }>(r);
    };
    expect(await run('[2, 3]')).toMatchObject({ trials: 2, completed: 2 });
    // Same worker, same results folder, another grid: every new trial must be trained and recorded.
    expect(await run('[4, 5, 6]')).toMatchObject({ trials: 3, completed: 3 });
    const widths = readdirSync(path.join(store, 'replan', 'trials')).map(
      (f) => (JSON.parse(readFileSync(path.join(store, 'replan', 'trials', f), 'utf8')) as { config: { width: number } }).config.width,
    );
    expect(widths.sort()).toEqual([2, 3, 4, 5, 6]);
  });
});
