import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import type { PackRunner } from '../../activities/runner.js';
import { createReferenceEngine } from '../../core/engines/index.js';
import type { Store } from '../../core/store.js';
import type { TrialRecord } from '../../core/types.js';
import { packPlanKey, packSummaryKey, recordKey, SUMMARY_KEY } from '../../results/layout.js';
import type { PackSummary } from '../../results/pack-summary.js';
import type { SweepSummary } from '../../results/summary.js';
import { trialRow } from '../../results/tables.js';
import { LocalStore } from '../../storage/local.js';
import { withRetries } from '../../storage/retry.js';
import { OutcomeSpool } from '../../storage/spool.js';
import { InvalidKeyError } from '../../storage/keys.js';
import { tinyGrid } from '../support/cli.js';

/** trainPack and finalizeSweep against a real local store, with the reference engine in-process. */

const GRID = tinyGrid({ name: 'tp', steps: 60, widths: '[2, 3]', losses: '[ce]', seeds: '[0, 1]', extra: 'execution:\n  packSize: 2\n' });

function counting(): PackRunner & { runs: number } {
  const engine = createReferenceEngine();
  const r = { runs: 0, run: (pack: Parameters<PackRunner['run']>[0]) => (r.runs++, engine.trainPack(pack)) };
  return r;
}

async function planned(store: Store, runner: PackRunner, spool?: OutcomeSpool) {
  const activities = createActivities({ openStore: () => store, runner, spool });
  const env = new MockActivityEnvironment();
  const plan = await env.run(activities.planSweep, { resultsUri: store.uri, sweepId: 's', gridYaml: GRID, gridFile: 'g.yaml' });
  const train = (packIndex: number) => new MockActivityEnvironment().run(activities.trainPack, { resultsUri: store.uri, sweepId: 's', packIndex, gridHash: plan.gridHash });
  const finalize = () =>
    new MockActivityEnvironment().run(activities.finalizeSweep, { resultsUri: store.uri, sweepId: 's', gridHash: plan.gridHash, failures: [], cancelled: false });
  return { plan, train, finalize };
}

const tmpStore = () => new LocalStore(mkdtempSync(path.join(os.tmpdir(), 'dynsweep-train-pack-')), { fsync: false });

describe('trainPack', () => {
  it('writes records, artifacts and a pack summary of their rows; a retry trains nothing again', async () => {
    const store = tmpStore();
    const runner = counting();
    const { plan, train } = await planned(store, runner);
    expect(plan.packCount).toBe(2);
    const out = await train(0);
    expect(out).toMatchObject({ packIndex: 0, completed: 2, reused: 0 });
    const summary = JSON.parse((await store.getText(packSummaryKey(0)))!) as PackSummary;
    const records = await Promise.all(summary.rows.map(async (r) => JSON.parse((await store.getText(recordKey(r.trialId)))!) as TrialRecord));
    expect(summary.rows).toEqual(records.map(trialRow));
    expect(await store.exists(records[0].artifactKey)).toBe(true);
    expect(await train(0)).toMatchObject({ completed: 2, reused: 2 });
    expect(runner.runs).toBe(1);
  });

  it('trains a trial again whose record is corrupt', async () => {
    const store = tmpStore();
    const runner = counting();
    const { train } = await planned(store, runner);
    await train(0);
    const [row] = (JSON.parse((await store.getText(packSummaryKey(0)))!) as PackSummary).rows;
    const numbers = (text: string | null) => {
      const { wallTimeS: _w, stepsPerSecond: _s, ...rest } = JSON.parse(text!) as TrialRecord;
      return rest;
    };
    const good = numbers(await store.getText(recordKey(row.trialId)));
    await store.put(recordKey(row.trialId), '{"torn');
    expect(await train(0)).toMatchObject({ completed: 2, reused: 1 });
    expect(numbers(await store.getText(recordKey(row.trialId)))).toEqual(good); // the same numbers again
  });

  it('keeps trained outcomes in the spool while the store refuses them, and writes them on the next attempt without training', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-spool-'));
    const real = tmpStore();
    let down = false;
    const flaky: Store = { ...real, uri: real.uri, put: (k, b, c) => (down && k.startsWith('trials/') ? Promise.reject(new Error('connection refused')) : real.put(k, b, c)), putStream: real.putStream.bind(real), get: real.get.bind(real), getText: real.getText.bind(real), exists: real.exists.bind(real), list: real.list.bind(real), delete: real.delete.bind(real), child: real.child.bind(real) };
    const runner = counting();
    const { train } = await planned(flaky, runner, new OutcomeSpool(dir));
    down = true;
    await expect(train(1)).rejects.toThrow(/connection refused/);
    expect(readdirSync(dir)).toHaveLength(1);
    down = false;
    expect(await train(1)).toMatchObject({ completed: 2, reused: 0 });
    expect(runner.runs).toBe(1); // trained once: the second attempt wrote the spooled outcomes
    expect(readdirSync(dir)).toHaveLength(0);
  });

  it('refuses a pack planned for other code versions (a mixed fleet), retryably, saying which', async () => {
    const store = tmpStore();
    const { train } = await planned(store, counting());
    const file = path.join(store.root, ...packPlanKey(0).split('/'));
    const plan = JSON.parse(readFileSync(file, 'utf8'));
    plan.versions.engineVersion = 'from-another-build';
    writeFileSync(file, JSON.stringify(plan));
    const err = await train(0).catch((e: unknown) => e as { type?: string; nonRetryable?: boolean; message: string });
    expect(err).toMatchObject({ type: 'VersionMismatch', nonRetryable: false });
    expect(err.message).toMatch(/planned for engineVersion from-another-build; this worker has engineVersion /);
  });
});

describe('finalizeSweep', () => {
  it('reports a corrupt record as a failure of its trial, and finishes the sweep', async () => {
    const store = tmpStore();
    const { train, finalize } = await planned(store, counting());
    await train(0);
    await train(1);
    // Pack 1 loses its summary and one record is torn: its rows come from its records, the torn one is reported.
    const [torn] = (JSON.parse((await store.getText(packSummaryKey(1)))!) as PackSummary).rows;
    await store.delete(packSummaryKey(1));
    await store.put(recordKey(torn.trialId), 'not json');
    const out = await finalize();
    expect(out).toMatchObject({ completed: 3, failed: 1 });
    const summary = JSON.parse((await store.getText(SUMMARY_KEY))!) as SweepSummary;
    expect(summary.status).toBe('failed');
    expect(summary.failures).toEqual([{ trialId: torn.trialId, packIndex: 1, message: expect.stringMatching(/^corrupt record trials\//) }]);
    const csv = (await store.getText('trials.csv'))!.trim().split('\n');
    expect(csv).toHaveLength(1 + 3);
  });
});

describe('a store that outlasts outages (storage/retry.ts)', () => {
  it('retries transient errors with backoff, fails permanent ones at once, and gives up after its budget', async () => {
    let fails = 2;
    const waits: number[] = [];
    const base = tmpStore();
    const store = withRetries(
      { ...base, uri: base.uri, getText: async (k: string) => (fails-- > 0 ? Promise.reject(new Error('ECONNREFUSED')) : base.getText(k)) } as Store,
      { initialMs: 1, maxMs: 4, budgetMs: 1_000, onRetry: (_e, _op, _n, ms) => waits.push(ms) },
    );
    expect(await store.getText('missing.json')).toBeNull();
    expect(waits).toEqual([1, 2]);
    const permanent = withRetries({ ...base, uri: base.uri, getText: () => Promise.reject(new InvalidKeyError('a//b', 'bad')) } as Store, {
      onRetry: () => waits.push(-1),
    });
    await expect(permanent.getText('x')).rejects.toThrow(InvalidKeyError);
    expect(waits).not.toContain(-1);
    const down = withRetries({ ...base, uri: base.uri, getText: () => Promise.reject(new Error('ECONNREFUSED')) } as Store, { initialMs: 5, budgetMs: 30 });
    const t0 = Date.now();
    await expect(down.getText('x')).rejects.toThrow('ECONNREFUSED');
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
