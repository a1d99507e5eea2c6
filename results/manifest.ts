/**
 * The plan of a sweep in its store: manifest.json (constant size) and one file per pack (results/layout.ts).
 * Planning streams: packs are expanded one at a time and written as they come, so neither the planner's memory
 * nor anything a workflow carries grows with the trial count, and a worker reads only the pack it trains.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { contentHash } from '../core/hash.js';
import { codeVersions, packsOf, parseGrid, resolveGrid, type CodeVersions, type GridSpec } from '../core/grid/index.js';
import { readLocation } from '../storage/read-location.js';
import type { Store } from '../core/store.js';
import type { DatasetSpec, Pack, Trial, TrialRecord } from '../core/types.js';
import { datasetCeilings, type DatasetCeilings } from '../core/data.js';
import { mapOrdered } from '../core/map-limit.js';
import { GRID_KEY, MANIFEST_KEY, packPlanKey } from './layout.js';

/** `manifest.json`: what was planned, at a glance; the trials themselves are in the pack files. */
export interface Manifest {
  schema: 'dynsweep.manifest/2';
  sweepId: string;
  name: string;
  /** Hash of the validated grid (defaults filled in): equal grids, equal hashes. */
  gridHash: string;
  /** The engine, data-generator and initialisation versions hashed into every trial id (with each trial's config). */
  versions: CodeVersions;
  /** The dataset every trial trains on (the grid's one dataset): for a file dataset, where it was read and its content hashes. */
  dataset: DatasetSpec;
  /**
   * The best accuracy any classifier can reach on the sweep's training and validation sets, with the conflicting
   * points that keep it below 1 (core/data.ts datasetCeilings): what threshold level 'achievable' means.
   */
  achievable: DatasetCeilings;
  totalTrials: number;
  /** Packs 0 .. packCount - 1, each in plan/packs/. */
  packCount: number;
}

/** plan/packs/NNNNNN.json: one pack's trials, with what a worker must match to train them. */
export interface PackPlan extends Pack {
  schema: 'dynsweep.pack/1';
  gridHash: string;
  versions: CodeVersions;
}

/** Manifests written before the plan was split into pack files: every trial and pack inline. */
interface ManifestV1 {
  schema: 'dynsweep.manifest/1';
  sweepId: string;
  name: string;
  gridHash: string;
  versions?: CodeVersions;
  achievable?: DatasetCeilings;
  trials: Trial[];
  packs: { index: number; width: number; trialIds: string[] }[];
}

export function nameOf(spec: GridSpec, file: string): string {
  if (spec.name) return spec.name;
  const base = file.split(/[\\/]/).pop() ?? 'sweep';
  return base.replace(/\.ya?ml$/i, '').replace(/[^A-Za-z0-9._-]/g, '-') || 'sweep';
}

export function gridHash(spec: GridSpec): string {
  return contentHash(spec, 12);
}

/** Pack files written at once while planning (store round trips overlap; memory stays a window of packs). */
const PLAN_WRITE_WINDOW = 16;

/**
 * Parse the grid, then expand and write its packs one at a time (linear in the trials; `progress` is called
 * with the trials planned so far after every pack, and the event loop is yielded so heartbeats go out), then
 * grid.yaml and manifest.json last: a manifest means the whole plan is in the store.
 */
export async function writePlan(
  store: Store,
  sweep: { sweepId: string; gridYaml: string; gridFile: string },
  progress: (trials: number) => void = () => {},
): Promise<{ manifest: Manifest; spec: GridSpec }> {
  // A file dataset is read and hashed here as `sweep validate` did: its data-dependent defaults enter the spec (and so the grid hash).
  const { spec, dataset, ceilings } = await resolveGrid(parseGrid(sweep.gridYaml, sweep.gridFile), sweep.gridYaml, sweep.gridFile, readLocation);
  const hash = gridHash(spec);
  const versions = codeVersions({ engine: spec.engine, init: spec.model.init });
  let trials = 0;
  let packCount = 0;
  const plans = (function* () {
    for (const pack of packsOf(spec)) yield { schema: 'dynsweep.pack/1' as const, gridHash: hash, versions, ...pack };
  })();
  for await (const plan of mapOrdered(plans, PLAN_WRITE_WINDOW, async (p) => {
    await store.put(packPlanKey(p.index), JSON.stringify(p), 'application/json');
    return p;
  })) {
    trials += plan.trials.length;
    packCount++;
    progress(trials);
    await yieldToEventLoop();
  }
  const manifest: Manifest = {
    schema: 'dynsweep.manifest/2',
    sweepId: sweep.sweepId,
    name: nameOf(spec, sweep.gridFile),
    gridHash: hash,
    versions,
    dataset,
    achievable: ceilings,
    totalTrials: trials,
    packCount,
  };
  await store.put(GRID_KEY, sweep.gridYaml, 'application/yaml');
  await store.put(MANIFEST_KEY, JSON.stringify(manifest, null, 2), 'application/json');
  return { manifest, spec };
}

/**
 * findThresholds' `achievable` option: the sweep's data ceilings from its manifest, else (no manifest) recomputed
 * from the dataset its records carry; undefined when there is neither.
 */
export function achievableOf(
  manifest: Pick<Manifest, 'achievable'> | null,
  records: readonly Pick<TrialRecord, 'config'>[] = [],
): { trainAcc: number; valAcc: number } | undefined {
  const c = manifest?.achievable ?? (records[0] ? datasetCeilings(records[0].config.dataset) : undefined);
  return c && { trainAcc: c.trainAcc, valAcc: c.valAcc };
}

/** The manifest (older layouts read as today's), or null when the sweep was never planned here. */
export async function readManifest(store: Store): Promise<Manifest | null> {
  const text = await store.getText(MANIFEST_KEY);
  if (text === null) return null;
  const m = JSON.parse(text) as Manifest | ManifestV1;
  if (m.schema === 'dynsweep.manifest/2') return m;
  const dataset = m.trials[0].config.dataset;
  const manifest: Manifest = {
    schema: 'dynsweep.manifest/2',
    sweepId: m.sweepId,
    name: m.name,
    gridHash: m.gridHash,
    versions: m.versions ?? codeVersions(m.trials[0].config),
    dataset,
    achievable: m.achievable ?? datasetCeilings(dataset),
    totalTrials: m.trials.length,
    packCount: m.packs.length,
  };
  inlinePlans.set(manifest, m);
  return manifest;
}

/** The inline packs of manifests read from the older layout, for readPackPlan. */
const inlinePlans = new WeakMap<Manifest, ManifestV1>();

export async function requireManifest(store: Store): Promise<Manifest> {
  const m = await readManifest(store);
  if (!m) throw new Error(`${store.uri}: ${MANIFEST_KEY} is missing; was the sweep planned?`);
  return m;
}

/** One pack's plan, or null when the store has no such pack. */
export async function readPackPlan(store: Store, manifest: Manifest, index: number): Promise<PackPlan | null> {
  const v1 = inlinePlans.get(manifest);
  if (v1) {
    const def = v1.packs[index];
    if (!def) return null;
    const byId = new Map(v1.trials.map((t) => [t.id, t]));
    return { schema: 'dynsweep.pack/1', gridHash: v1.gridHash, versions: manifest.versions, index, width: def.width, trials: def.trialIds.map((id) => byId.get(id)!) };
  }
  const text = await store.getText(packPlanKey(index));
  return text === null ? null : (JSON.parse(text) as PackPlan);
}

/** Indices 0 .. n - 1, lazily. */
export function* packIndices(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/** Every pack's plan in order, `window` reads in flight: memory is the window, not the sweep. */
export function packPlans(store: Store, manifest: Manifest, window = 32): AsyncGenerator<PackPlan> {
  return mapOrdered(packIndices(manifest.packCount), window, async (i) => {
    const plan = await readPackPlan(store, manifest, i);
    if (!plan) throw new Error(`${store.uri}: ${packPlanKey(i)} is missing (the manifest lists ${manifest.packCount} packs)`);
    return plan;
  });
}
