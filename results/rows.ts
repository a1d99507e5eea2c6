/**
 * A sweep's table rows, pack by pack, as finalize and the CLI read them: from each pack's summary when it has one,
 * else from whatever records the pack has (a failed pack, a cancelled or still running sweep). Streaming: memory is
 * a window of packs.
 */
import type { Store } from '../core/store.js';
import type { ThresholdInput } from '../core/thresholds.js';
import type { TrialRecord } from '../core/types.js';
import { mapLimit, mapOrdered } from '../core/map-limit.js';
import { packIndices, readPackPlan, type Manifest } from './manifest.js';
import { recordKey } from './layout.js';
import { readPackSummary } from './pack-summary.js';
import { trialRow, type TrialRow } from './tables.js';

export interface PackRows {
  index: number;
  rows: TrialRow[];
  /** Trials of the pack without a readable record; `message` says why when it is not simply missing. */
  missing: { trialId: string; message: string | null }[];
}

/** Packs read at once. */
const WINDOW = 32;

export async function packRows(store: Store, manifest: Manifest, index: number): Promise<PackRows> {
  const summary = await readPackSummary(store, index, manifest.gridHash);
  if (summary) return { index, rows: summary.rows, missing: [] };
  const plan = await readPackPlan(store, manifest, index);
  if (!plan) throw new Error(`${store.uri}: pack ${index} of ${manifest.packCount} has no plan file`);
  const rows: TrialRow[] = [];
  const missing: PackRows['missing'] = [];
  const texts = await mapLimit(plan.trials, 16, (t) => store.getText(recordKey(t.id)));
  texts.forEach((text, i) => {
    const trialId = plan.trials[i].id;
    if (text === null) {
      missing.push({ trialId, message: null });
      return;
    }
    try {
      rows.push(trialRow(JSON.parse(text) as TrialRecord));
    } catch (err) {
      missing.push({ trialId, message: `corrupt record ${recordKey(trialId)}: ${(err as Error).message}` });
    }
  });
  return { index, rows, missing };
}

/** Every pack's rows, in plan order. */
export function sweepRows(store: Store, manifest: Manifest): AsyncGenerator<PackRows> {
  return mapOrdered(packIndices(manifest.packCount), WINDOW, (i) => packRows(store, manifest, i));
}

/** What findThresholds reads of a trial, from its row. */
export function thresholdInputOfRow(r: TrialRow): ThresholdInput {
  return {
    loss: r.loss,
    width: r.width,
    params: r.params,
    seed: r.seed,
    lr: r.lr,
    period: r.period,
    amplitude: r.amplitude,
    diverged: r.diverged,
    final: { trainAcc: r.trainAcc, valAcc: r.valAcc, trainLoss: r.trainLoss, trainLossStatic: r.trainLossStatic, valLoss: r.valLoss },
  };
}
