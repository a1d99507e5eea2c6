/**
 * Activities of a threshold search (workflows/search.ts), thin adapters over core/search/. A round's trials are
 * planned into the store as ordinary pack files (plan/packs/, numbered on from the previous round's), so the
 * sweep's own trainPack trains them and finalizeSweep aggregates them; only the bracket logic is the search's.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { codeVersions, datasetOf, GridError, parseGrid, planPacks, resolveGrid, type ResolvedGrid } from '../core/grid/index.js';
import type { Store } from '../core/store.js';
import type { SearchCell, TrialRecord } from '../core/types.js';
import { mapLimit } from '../core/map-limit.js';
import { applyRound, planRound } from '../core/search/bracket.js';
import { judgeRound, roundTrials, searchCellsOf, searchGridOf, searchSetupOf, type SearchGrid } from '../core/search/round.js';
import type { ThresholdInput } from '../core/thresholds.js';
import { gridHash, nameOf, type Manifest, type PackPlan } from '../results/manifest.js';
import { GRID_KEY, MANIFEST_KEY, packPlanKey, recordKey, THRESHOLDS_KEY } from '../results/layout.js';
import { readLocation } from '../storage/read-location.js';
import { readPackSummary } from '../results/pack-summary.js';
import { trialRow, type TrialRow } from '../results/tables.js';
import { thresholdInputOfRow } from '../results/rows.js';
import { packExecutionOf } from './index.js';
import type { PlanInput, SearchActivities, SearchFinishInput, SearchRoundInput } from './contracts.js';

/** search.json: the search's settings, rounds and every cell's bracket (also under `search` in thresholds.json). */
export const SEARCH_KEY = 'search.json';
/** search/rounds/NNNN.json: what one round asked for and the packs it planned. */
export const roundKey = (round: number) => `search/rounds/${String(round).padStart(4, '0')}.json`;
/** search/grid.json: the resolved grid, its data's ceilings and input dimension (core/search/round.ts SearchGrid). */
export const SEARCH_GRID_KEY = 'search/grid.json';

async function gridOf(store: Store): Promise<SearchGrid> {
  const text = await store.getText(SEARCH_GRID_KEY);
  if (text !== null) return JSON.parse(text) as SearchGrid;
  // Searches planned before search/grid.json was written: their grid.yaml, read again.
  const yaml = await store.getText(GRID_KEY);
  if (yaml === null) throw new Error(`${store.uri}: ${SEARCH_GRID_KEY} is missing; was the search planned?`);
  return searchGridOf(await resolveGrid(parseGrid(yaml, GRID_KEY), yaml, GRID_KEY, readLocation));
}

/** A round's rows: its pack summaries, or the records of a pack without one (it failed). */
async function roundRows(store: Store, gridHash: string, from: number, to: number): Promise<TrialRow[]> {
  const packs = Array.from({ length: to - from }, (_, i) => from + i);
  const rows = await mapLimit(packs, 16, async (index) => {
    const summary = await readPackSummary(store, index, gridHash);
    if (summary) return summary.rows;
    const plan = JSON.parse((await store.getText(packPlanKey(index))) ?? 'null') as PackPlan | null;
    const texts = await mapLimit(plan?.trials ?? [], 16, (t) => store.getText(recordKey(t.id)));
    return texts.filter((t): t is string => t !== null).map((t) => trialRow(JSON.parse(t) as TrialRecord));
  });
  return rows.flat();
}

export function searchReport(input: SearchFinishInput, grid: SearchGrid) {
  const setup = searchSetupOf(grid);
  return {
    schema: 'dynsweep.search/1' as const,
    settings: setup.search,
    level: setup.level,
    rounds: input.rounds,
    trials: input.cells.reduce((n, c) => n + c.trials, 0),
    /** Sum over the search's trials of the steps they ran: its cost, to set against a full grid's. */
    trialSteps: input.trialSteps,
    cells: input.cells.map((c: SearchCell) => ({ ...c, bracketRatio: c.lo && c.hi ? c.hi.params / c.lo.params : null })),
  };
}

export function createSearchActivities(deps: { openStore(uri: string): Store }): SearchActivities {
  return {
    async planSearch(input: PlanInput) {
      // A file or digits dataset is read and hashed once, here, as planSweep does (results/manifest.ts writePlan).
      let resolved: ResolvedGrid;
      try {
        resolved = await resolveGrid(parseGrid(input.gridYaml, input.gridFile), input.gridYaml, input.gridFile, readLocation);
      } catch (err) {
        if (err instanceof GridError) throw ApplicationFailure.nonRetryable(err.message, 'GridError');
        throw err;
      }
      const { spec } = resolved;
      if (!spec.search) throw ApplicationFailure.nonRetryable(`${input.gridFile}: no search block; start it as a sweep`, 'GridError');
      const store = deps.openStore(input.resultsUri);
      const grid = searchGridOf(resolved);
      await store.put(GRID_KEY, input.gridYaml, 'application/yaml');
      await store.put(SEARCH_GRID_KEY, JSON.stringify(grid), 'application/json');
      const setup = searchSetupOf(grid);
      return {
        name: nameOf(spec, input.gridFile),
        gridHash: gridHash(spec),
        cells: searchCellsOf(spec, setup.criterion),
        precision: setup.search.precision,
        maxRounds: setup.search.maxRounds,
        ...packExecutionOf(spec.execution),
      };
    },

    async searchRound(input: SearchRoundInput) {
      const ctx = Context.current();
      const store = deps.openStore(input.resultsUri);
      const grid = await gridOf(store);
      const { spec } = grid;
      const setup = searchSetupOf(grid);
      let cells = input.cells;
      let judgedTrials = 0;
      let judgedTrialSteps = 0;
      if (input.previous) {
        const { requests, fromPack, toPack } = input.previous;
        const rows = await roundRows(store, input.gridHash, fromPack, toPack);
        ctx.heartbeat({ round: input.round, judged: rows.length });
        const inputs: ThresholdInput[] = rows.map(thresholdInputOfRow);
        cells = applyRound(cells, requests, judgeRound(inputs, setup.criterion, setup.level), setup.geometry);
        judgedTrials = rows.length;
        judgedTrialSteps = rows.reduce((n, r) => n + r.stepsRun, 0);
      }
      const trialsSoFar = cells.reduce((n, c) => n + c.trials, 0);
      const planned = planRound(cells, setup.search, setup.geometry, input.round, trialsSoFar);
      const { trials } = roundTrials(spec, setup.criterion, planned.requests);
      const versions = codeVersions({ engine: spec.engine, init: spec.model.init });
      const packs = planPacks(trials, spec.execution.packSize).map((p) => ({ ...p, index: input.packOffset + p.index }));
      await mapLimit(packs, 16, (p) => {
        const plan: PackPlan = { schema: 'dynsweep.pack/1', gridHash: input.gridHash, versions, ...p };
        return store.put(packPlanKey(p.index), JSON.stringify(plan), 'application/json');
      });
      if (planned.requests.length > 0) {
        const log = { round: input.round, requests: planned.requests, packs: { from: input.packOffset, to: input.packOffset + packs.length }, trials: trials.length };
        await store.put(roundKey(input.round), JSON.stringify(log), 'application/json');
      }
      return {
        cells: planned.cells,
        judgedTrials,
        judgedTrialSteps,
        cellsSearched: planned.requests.length,
        widths: planned.requests.reduce((n, r) => n + r.widths.length, 0),
        trials: trials.length,
        requests: planned.requests,
        packCount: packs.length,
      };
    },

    async finishSearch(input: SearchFinishInput) {
      const store = deps.openStore(input.resultsUri);
      const grid = await gridOf(store);
      const { spec } = grid;
      // The plan finalizeSweep merges: every round's packs, as if one sweep had planned them.
      const manifest: Manifest = {
        schema: 'dynsweep.manifest/2',
        sweepId: input.sweepId,
        name: input.name,
        gridHash: input.gridHash,
        versions: codeVersions({ engine: spec.engine, init: spec.model.init }),
        dataset: datasetOf(spec),
        achievable: grid.ceilings,
        totalTrials: input.cells.reduce((n, c) => n + c.trials, 0),
        packCount: input.packCount,
      };
      await store.put(SEARCH_KEY, JSON.stringify(searchReport(input, grid), null, 2), 'application/json');
      await store.put(MANIFEST_KEY, JSON.stringify(manifest, null, 2), 'application/json');
    },

    async annotateSearch(input: SearchFinishInput) {
      const store = deps.openStore(input.resultsUri);
      const text = await store.getText(THRESHOLDS_KEY);
      if (text === null) throw new Error(`${store.uri}: ${THRESHOLDS_KEY} is missing; was the search finalized?`);
      const report = { ...(JSON.parse(text) as object), search: searchReport(input, await gridOf(store)) };
      await store.put(THRESHOLDS_KEY, JSON.stringify(report, null, 2), 'application/json');
    },
  };
}
