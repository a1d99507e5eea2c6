import { describe, expect, it } from 'vitest';
import type { MetricCounter, MetricTags } from '@temporalio/common';
import type { PackRunner } from '../../activities/runner.js';
import type { Pack } from '../../core/types.js';
import type { Store } from '../../core/store.js';
import { meteredRunner, meteredStore, type SweepMetrics } from '../../workers/metrics.js';

/** A counter that remembers what was added, by tags. */
function counter(): MetricCounter & { total: number; adds: [number, MetricTags | undefined][] } {
  const c = {
    total: 0,
    adds: [] as [number, MetricTags | undefined][],
    add(v: number, tags?: MetricTags) {
      c.total += v;
      c.adds.push([v, tags]);
    },
  };
  return c as never;
}
const metrics = () => ({ packsTrained: counter(), trialsTrained: counter(), trialSteps: counter(), storeErrors: counter() });
const pack = (trials: number, steps: number) => ({ trials: Array.from({ length: trials }, () => ({ config: { steps } })) }) as unknown as Pack;

describe('worker metrics at the runner and store seams', () => {
  it('counts trial-steps as progress arrives and the rest at the end, then the pack and its trials', async () => {
    const m = metrics();
    const seenSteps: number[] = [];
    const runner: PackRunner = {
      async run(p, onProgress) {
        for (const step of [100, 250, 250, 400]) {
          onProgress({ step, totalSteps: 500 });
          seenSteps.push(m.trialSteps.total);
        }
        return p.trials.map(() => ({}) as never);
      },
    };
    const out = await meteredRunner(runner, m as SweepMetrics).run(pack(4, 500), () => {}, new AbortController().signal);
    expect(out).toHaveLength(4);
    expect(seenSteps).toEqual([400, 1000, 1000, 1600]);
    expect(m.trialSteps.total).toBe(4 * 500);
    expect(m.packsTrained.total).toBe(1);
    expect(m.trialsTrained.total).toBe(4);
  });

  it('counts the steps a failed pack took, but not the pack', async () => {
    const m = metrics();
    const runner: PackRunner = {
      run(_p, onProgress) {
        onProgress({ step: 200, totalSteps: 500 });
        return Promise.reject(new Error('thread died'));
      },
    };
    await expect(meteredRunner(runner, m as SweepMetrics).run(pack(2, 500), () => {}, new AbortController().signal)).rejects.toThrow('thread died');
    expect(m.trialSteps.total).toBe(400);
    expect(m.packsTrained.total).toBe(0);
  });

  it('counts each failed store operation by op, in child stores too, and passes the error on', async () => {
    const errors = counter();
    const failing = {
      uri: 'mem://x',
      put: () => Promise.reject(new Error('disk full')),
      get: () => Promise.resolve(null),
      getText: () => Promise.reject(new Error('timeout')),
      exists: () => Promise.resolve(true),
      list: () => Promise.resolve([]),
      delete: () => Promise.resolve(),
      child: () => failing,
    } as unknown as Store;
    const s = meteredStore(failing, errors);
    expect(s.uri).toBe('mem://x');
    await expect(s.put('a', 'b')).rejects.toThrow('disk full');
    await expect(s.child('c').getText('d')).rejects.toThrow('timeout');
    expect(await s.exists('a')).toBe(true);
    expect(errors.adds).toEqual([
      [1, { op: 'put' }],
      [1, { op: 'getText' }],
    ]);
  });
});
