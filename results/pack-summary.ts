/**
 * summaries/packs/NNNNNN.json: a pack's table rows, written by the worker after the pack's records. Finalize
 * merges these (one small read per pack) instead of reading every record, so aggregation streams and its cost per
 * trial stays flat; a pack without a summary (it failed, or the sweep was cancelled) is read from its records.
 */
import type { Store } from '../core/store.js';
import { packSummaryKey } from './layout.js';
import type { TrialRow } from './tables.js';

export interface PackSummary {
  schema: 'dynsweep.pack-summary/1';
  index: number;
  gridHash: string;
  /** One row per trial of the pack, in the pack's order (every trial has a record when a summary exists). */
  rows: TrialRow[];
}

export async function writePackSummary(store: Store, summary: Omit<PackSummary, 'schema'>): Promise<void> {
  const body: PackSummary = { schema: 'dynsweep.pack-summary/1', ...summary };
  await store.put(packSummaryKey(summary.index), JSON.stringify(body), 'application/json');
}

/** The pack's summary, or null when there is none or it belongs to another plan of this sweep id. */
export async function readPackSummary(store: Store, index: number, gridHash: string): Promise<PackSummary | null> {
  const text = await store.getText(packSummaryKey(index));
  if (text === null) return null;
  try {
    const s = JSON.parse(text) as PackSummary;
    return s.gridHash === gridHash ? s : null;
  } catch {
    return null; // a torn or corrupt summary: the pack's records are read instead
  }
}
