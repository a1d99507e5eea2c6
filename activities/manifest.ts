import { contentHash } from '../core/hash.js';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { codeVersions, datasetOf, parseGrid, planPacks, trialsOf, type CodeVersions, type GridSpec } from '../core/grid/index.js';
import type { Store } from '../core/store.js';
import type { Pack, Trial, TrialRecord } from '../core/types.js';
import { datasetCeilings, type DatasetCeilings } from '../core/data.js';

/** `manifest.json`: every trial of the sweep and the packs they are trained in. */
export interface Manifest {
  schema: 'dynsweep.manifest/1';
  sweepId: string;
  name: string;
  /** Hash of the validated grid (defaults filled in): equal grids, equal hashes. */
  gridHash: string;
  /** The engine, data-generator and initialisation versions hashed into every trial id (with each trial's config). */
  versions: CodeVersions;
  /**
   * The best accuracy any classifier can reach on the sweep's training and validation sets (every trial's
   * `config.dataset`), with the conflicting points that keep it below 1 (core/data.ts datasetCeilings): what
   * threshold level 'achievable' means. Absent in manifests written before it was recorded (see achievableOf).
   */
  achievable?: DatasetCeilings;
  trials: Trial[];
  packs: { index: number; width: number; trialIds: string[] }[];
}

export const MANIFEST_KEY = 'manifest.json';
export const GRID_KEY = 'grid.yaml';

export function nameOf(spec: GridSpec, file: string): string {
  if (spec.name) return spec.name;
  const base = file.split(/[\\/]/).pop() ?? 'sweep';
  return base.replace(/\.ya?ml$/i, '').replace(/[^A-Za-z0-9._-]/g, '-') || 'sweep';
}

export function gridHash(spec: GridSpec): string {
  return contentHash(spec, 12);
}

/** Trials expanded between two calls of buildManifest's `progress` (about a tenth of a second). */
const PROGRESS_EVERY = 5_000;

/**
 * Parse the grid, expand it and plan its packs: linear in the trials. Every PROGRESS_EVERY trials it calls
 * `progress` and yields to the event loop, so that an activity's heartbeats go out while a big grid expands (about
 * 25 microseconds a trial: half a minute at 1,000,000 trials).
 */
export async function buildManifest(
  sweepId: string,
  gridYaml: string,
  gridFile: string,
  progress: (trials: number) => void = () => {},
): Promise<{ manifest: Manifest; spec: GridSpec; packs: Pack[] }> {
  const spec = parseGrid(gridYaml, gridFile);
  const trials: Trial[] = [];
  for (const trial of trialsOf(spec)) {
    if (trials.push(trial) % PROGRESS_EVERY === 0) {
      progress(trials.length);
      await yieldToEventLoop();
    }
  }
  const packs = planPacks(trials, spec.execution.packSize);
  progress(trials.length);
  return {
    spec,
    packs,
    manifest: {
      schema: 'dynsweep.manifest/1',
      sweepId,
      name: nameOf(spec, gridFile),
      gridHash: gridHash(spec),
      achievable: datasetCeilings(datasetOf(spec)),
      versions: codeVersions({ engine: spec.engine, init: spec.model.init }),
      trials,
      packs: packs.map((p) => ({ index: p.index, width: p.width, trialIds: p.trials.map((t) => t.id) })),
    },
  };
}

/**
 * findThresholds' `achievable` option: the sweep's data ceilings from its manifest, else (older manifests, or
 * none) recomputed from the dataset its trials or records carry; undefined when there is neither.
 */
export function achievableOf(
  manifest: Pick<Manifest, 'achievable' | 'trials'> | null,
  records: readonly Pick<TrialRecord, 'config'>[] = [],
): { trainAcc: number; valAcc: number } | undefined {
  const dataset = manifest?.trials[0]?.config.dataset ?? records[0]?.config.dataset;
  const c = manifest?.achievable ?? (dataset ? datasetCeilings(dataset) : undefined);
  return c && { trainAcc: c.trainAcc, valAcc: c.valAcc };
}

export async function readManifest(store: Store): Promise<Manifest> {
  const text = await store.getText(MANIFEST_KEY);
  if (text === null) throw new Error(`${store.uri}: ${MANIFEST_KEY} is missing; was the sweep planned?`);
  return JSON.parse(text) as Manifest;
}

export function packOf(manifest: Manifest, index: number): Pack | undefined {
  const def = manifest.packs[index];
  if (!def) return undefined;
  const byId = new Map(manifest.trials.map((t) => [t.id, t]));
  return { index, width: def.width, trials: def.trialIds.map((id) => byId.get(id)!) };
}

export const recordKey = (trialId: string) => `trials/${trialId}.json`;
export const artifactKey = (trialId: string) => `artifacts/${trialId}.json`;
