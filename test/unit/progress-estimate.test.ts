import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { etaOf, rateOf } from '../../cli/render.js';
import { trialsInFlight } from '../../cli/sweep-run.js';

/** A workflow handle whose describe() reports these pending activities, as the server does. */
function handleWith(pending: { type: string; details?: unknown }[]): WorkflowHandle {
  const pendingActivities = pending.map((a) => ({
    activityType: { name: a.type },
    heartbeatDetails: a.details === undefined ? undefined : { payloads: [defaultPayloadConverter.toPayload(a.details)] },
  }));
  return { describe: async () => ({ raw: { pendingActivities } }) } as unknown as WorkflowHandle;
}

describe('progress estimate from in-pack heartbeats', () => {
  it('counts the fraction of each running pack its heartbeat reports, and nothing else', async () => {
    const handle = handleWith([
      { type: 'trainPack', details: { pack: 0, step: 1500, totalSteps: 3000, trials: 16 } },
      { type: 'trainPack', details: { pack: 1, step: 750, totalSteps: 3000, trials: 8 } },
      { type: 'trainPack', details: { pack: 2, step: 0, totalSteps: 3000, trials: 16 } },
      { type: 'trainPack' }, // started, no heartbeat yet
      { type: 'finalizeSweep', details: { read: 10 } },
    ]);
    expect(await trialsInFlight(handle)).toBe(16 * 0.5 + 8 * 0.25);
  });

  it('never counts a pack past its trials (a heartbeat after the last step)', async () => {
    expect(await trialsInFlight(handleWith([{ type: 'trainPack', details: { step: 3100, totalSteps: 3000, trials: 4 } }]))).toBe(4);
  });

  it('gives an ETA while the only pack is still running, instead of waiting for it to end', async () => {
    // One pack of 16 trials, half-way after 60 s: no trial is complete, yet the pace is known.
    const inFlight = await trialsInFlight(handleWith([{ type: 'trainPack', details: { step: 1000, totalSteps: 2000, trials: 16 } }]));
    expect(etaOf(60, 0 + inFlight, 16)).toBe('1m00s');
    expect(rateOf(60, inFlight)).toBe('0.13 trials/s');
  });

  it('shows nothing until something has moved', () => {
    expect(etaOf(120, 0, 16)).toBe('…');
    expect(rateOf(120, 0)).toBe('…');
  });
});
