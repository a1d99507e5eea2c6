/**
 * Where everything of one sweep lives in its results store (a folder or s3://bucket/prefix):
 *
 *   grid.yaml                      the grid as submitted
 *   manifest.json                  the sweep at a glance: counts, versions, data ceilings (constant size)
 *   plan/packs/000042.json         pack 42's trials (read by the worker that trains it)
 *   trials/<id>.json               one record per trial (core/types.ts TrialRecord)
 *   artifacts/<id>.json            its full-resolution curves
 *   summaries/packs/000042.json    pack 42's table rows, written after its records (what finalize merges)
 *   thresholds.json, summary.json, trials.csv, trials.parquet, report.html   written by finalize
 */
export const GRID_KEY = 'grid.yaml';
export const MANIFEST_KEY = 'manifest.json';
export const SUMMARY_KEY = 'summary.json';
export const THRESHOLDS_KEY = 'thresholds.json';

const packFile = (index: number) => `${String(index).padStart(6, '0')}.json`;
export const packPlanKey = (index: number) => `plan/packs/${packFile(index)}`;
export const packSummaryKey = (index: number) => `summaries/packs/${packFile(index)}`;
export const recordKey = (trialId: string) => `trials/${trialId}.json`;
export const artifactKey = (trialId: string) => `artifacts/${trialId}.json`;
