import { parseGrid } from '../core/grid/index.js';
import type { Store } from '../core/store.js';
import { findThresholds, thresholdArgsOf, thresholdInputFromRecord } from '../core/thresholds.js';
import type { TrialRecord } from '../core/types.js';
import type { FinalizeInput, FinalizeOutput } from './contracts.js';
import { briefOf, SUMMARY_KEY, THRESHOLDS_KEY, type SweepSummary } from './summary.js';
import { achievableOf, GRID_KEY, recordKey, type Manifest } from './manifest.js';
import { writeTables } from './tables.js';
import { findingsOf } from '../core/thresholds/findings.js';
import { writeReport } from '../report/write.js';
import { mapLimit } from '../core/map-limit.js';

/** Aggregate the records in the store (never history) into thresholds.json and summary.json. */
export async function finalizeResults(
  store: Store,
  manifest: Manifest,
  input: FinalizeInput,
  onRead: (recordsRead: number) => void = () => {},
): Promise<FinalizeOutput> {
  const spec = parseGrid((await store.getText(GRID_KEY)) ?? '', GRID_KEY);
  let read = 0;
  const texts = await mapLimit(manifest.trials, 32, async (t) => {
    const text = await store.getText(recordKey(t.id));
    if (++read % 100 === 0) onRead(read);
    return text;
  });
  const records = texts.filter((t): t is string => t !== null).map((t) => JSON.parse(t) as TrialRecord);

  // What level 'achievable' stands for: the data's ceilings, recorded in the manifest.
  const { criterion, options } = thresholdArgsOf(spec.threshold, achievableOf(manifest, records));
  const report = findThresholds(records.map(thresholdInputFromRecord), criterion, options);
  await store.put(THRESHOLDS_KEY, JSON.stringify(report, null, 2), 'application/json');

  const packOfTrial = new Map<string, number>();
  for (const p of manifest.packs) for (const id of p.trialIds) packOfTrial.set(id, p.index);
  const messageOfPack = new Map(input.failures.map((f) => [f.packIndex, f.message]));
  const failures = manifest.trials
    .filter((_, i) => texts[i] === null)
    .map((t) => {
      const packIndex = packOfTrial.get(t.id) ?? null;
      const message = (packIndex !== null && messageOfPack.get(packIndex)) || (input.cancelled ? 'cancelled' : 'no record');
      return { trialId: t.id, packIndex, message };
    });

  const thresholds = briefOf(report);
  const findings = findingsOf(report);
  const summary: SweepSummary = {
    schema: 'dynsweep.summary/1',
    sweepId: input.sweepId,
    name: manifest.name,
    gridHash: manifest.gridHash,
    status: input.cancelled ? 'cancelled' : failures.length > 0 ? 'failed' : 'completed',
    trials: manifest.trials.length,
    completed: records.length,
    failed: failures.length,
    diverged: records.filter((r) => r.diverged).length,
    failures,
    thresholds,
    findings,
    finishedAt: new Date().toISOString(),
  };
  // trials.csv / trials.parquet and report.html (activities/tables.ts, report/), before summary.json so that a
  // summary means everything is there. A report that fails to render must not fail the sweep: its data is stored.
  await writeTables(store, records);
  onRead(records.length);
  try {
    await writeReport(store, {
      records,
      thresholds: report,
      summary,
      sweepId: input.sweepId,
      name: manifest.name,
      gridHash: manifest.gridHash,
      totalTrials: manifest.trials.length,
      resultsUri: store.uri,
    });
  } catch (err) {
    console.error(`sweep ${input.sweepId}: report.html not written: ${(err as Error).stack ?? String(err)}`);
  }
  await store.put(SUMMARY_KEY, JSON.stringify(summary, null, 2), 'application/json');
  return { completed: summary.completed, failed: summary.failed, diverged: summary.diverged, thresholds, findings };
}
