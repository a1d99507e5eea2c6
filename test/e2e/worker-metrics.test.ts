import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { freePort, startTemporal, type TemporalServer } from '../support/servers.js';
import { cleanEnv, lastJson, runCli, startWorker, tinyGrid, type WorkerProcess } from '../support/cli.js';

/** The value of one sample of a Prometheus text exposition, summed over the series that carry `labels`. */
function sample(exposition: string, name: string, labels = ''): number | undefined {
  const lines = exposition.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  const matching = lines.filter((l) => l.includes(labels));
  return matching.length === 0 ? undefined : matching.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** A worker with metrics on and one store root: what it serves on /metrics, and what it refuses to write. */
describe('worker metrics and store roots', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-metrics-'));
  const store = path.join(dir, 'store');
  let temporal: TemporalServer;
  let worker: WorkerProcess;
  let env: NodeJS.ProcessEnv;
  let metricsUrl: string;
  const scrape = async () => (await fetch(metricsUrl)).text();

  beforeAll(async () => {
    temporal = await startTemporal();
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    env = cleanEnv({ ...temporal.env(), SWEEP_STORE: store });
    worker = await startWorker({ ...env, SWEEP_METRICS_PORT: String(port) }, ['--concurrency', '1']);
  }, 180_000);

  afterAll(async () => {
    await worker?.stop();
    await temporal?.stop();
  });

  it('serves Temporal metrics and counts the packs, trials and trial-steps it trained', async () => {
    expect(worker.log()).toContain(`metrics on ${metricsUrl}`);
    const grid = path.join(dir, 'grid.yaml');
    writeFileSync(grid, tinyGrid({ name: 'metrics', widths: '[2, 4]', losses: '[ce, dce]', steps: 200, extra: 'execution:\n  packSize: 2\n' }));
    const run = await runCli(['start', grid, '--wait', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const out = lastJson<{ sweepId: string; trials: number; completed: number }>(run);
    expect(out.completed).toBe(out.trials);

    // The packs the workflow trained, from its history.
    const conn = await Connection.connect({ address: temporal.address });
    const history = await new Client({ connection: conn }).workflow.getHandle(`sweep-${out.sweepId}`).fetchHistory();
    await conn.close();
    const packs = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainPack').length;
    expect(packs).toBeGreaterThan(1);

    const text = await scrape();
    expect(sample(text, 'dynsweep_packs_trained')).toBe(packs);
    expect(sample(text, 'dynsweep_trials_trained')).toBe(out.trials);
    expect(sample(text, 'dynsweep_trial_steps')).toBe(out.trials * 200);
    expect(text).toMatch(/^# HELP dynsweep_trial_steps /m);
    // Temporal's own, on the same endpoint.
    expect(sample(text, 'temporal_activity_execution_latency_count', 'activity_type="trainPack"')).toBe(packs);
    expect(text).toMatch(/^temporal_worker_task_slots_available\{/m);
  }, 300_000);

  it('counts failed store writes', async () => {
    // A file where the trial artifacts' folder should be: every artifact write of this sweep fails.
    mkdirSync(path.join(store, 'broken'), { recursive: true });
    writeFileSync(path.join(store, 'broken', 'artifacts'), 'not a folder');
    const grid = path.join(dir, 'broken.yaml');
    writeFileSync(grid, tinyGrid({ name: 'broken', widths: '[2]', losses: '[ce]', seeds: '[0]', steps: 100, extra: 'execution:\n  maxAttempts: 1\n' }));
    const before = sample(await scrape(), 'dynsweep_store_errors', 'op="put"') ?? 0;
    const start = await runCli(['start', grid, '--id', 'broken'], env);
    expect(start.code, start.stderr).toBe(0);
    // However the sweep goes on to record the failure, the failed writes are counted as they happen.
    let after = before;
    for (let i = 0; i < 120 && after <= before; i++) {
      await new Promise((r) => setTimeout(r, 500));
      after = sample(await scrape(), 'dynsweep_store_errors', 'op="put"') ?? 0;
    }
    expect(after).toBeGreaterThan(before);
    await runCli(['cancel', 'broken'], env, 60_000);
  }, 120_000);

  it('refuses a results location outside its roots, saying how to allow it, and writes nothing there', async () => {
    const outside = path.join(dir, 'elsewhere');
    const grid = path.join(dir, 'outside.yaml');
    writeFileSync(grid, tinyGrid({ name: 'outside', widths: '[2]', losses: '[ce]', seeds: '[0]', steps: 100 }));
    const run = await runCli(['start', grid, '--wait', '--store', outside], env, 120_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`this worker does not write to ${path.join(outside, 'outside-')}`);
    expect(run.stderr).toContain(`it writes only under ${store}. To allow it, add its root to SWEEP_STORE_ALLOW`);
    expect(existsSync(outside) ? readdirSync(outside) : []).toEqual([]);
  }, 180_000);
});
