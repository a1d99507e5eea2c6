/**
 * A threshold search against a grid: its cells, the trials of a round (the grid's own trials, so the same ids) and
 * the verdicts of a round's records, by the thresholds' own criterion and cells (core/thresholds/).
 */
import type { DatasetCeilings } from '../data.js';
import { datasetOf, trialsOf } from '../grid/expand.js';
import type { ResolvedGrid } from '../grid/resolve.js';
import { spiralsShape, type GridSpec, type SearchSpec } from '../grid/schema.js';
import { paramCount } from '../model.js';
import { thresholdArgsOf } from '../thresholds.js';
import { allColumns, buildCells, cellKeyOf, cellLabel, medianOver, scratchFor } from '../thresholds/cells.js';
import { levelOf, meets, resolveCriterion, type ThresholdCriterion, type ThresholdInput } from '../thresholds/criterion.js';
import type { SearchCell, SearchPoint, Trial, TrialConfig } from '../types.js';
import { geometryOf, newCell, type RoundRequest, type SearchGeometry } from './bracket.js';

/**
 * What a search needs of its grid, for any dataset: the resolved spec (a file or digits dataset's defaults and
 * content hashes written in, so trial ids are the full grid's), the data's accuracy ceilings and its input
 * dimension. Taken once from resolveGrid when the search is planned and kept in the store, so later rounds never
 * read the data again.
 */
export interface SearchGrid {
  spec: GridSpec;
  ceilings: DatasetCeilings;
  inputDim: number;
}

export function searchGridOf(resolved: Pick<ResolvedGrid, 'spec' | 'ceilings' | 'data'>): SearchGrid {
  const inputDim = resolved.data?.train.d ?? spiralsShape(resolved.spec.dataset)?.inputDim;
  if (inputDim === undefined) throw new Error('searchGridOf: a file or digits dataset must be resolved with its data (resolveGrid)');
  return { spec: resolved.spec, ceilings: resolved.ceilings, inputDim };
}

/** The grid's search settings, criterion and numeric level, and the widths it may train. */
export interface SearchSetup {
  search: SearchSpec;
  criterion: ThresholdCriterion;
  level: number;
  geometry: SearchGeometry;
}

export function searchSetupOf({ spec, ceilings, inputDim }: SearchGrid): SearchSetup {
  if (!spec.search) throw new Error('the grid has no search block');
  const achievable = { trainAcc: ceilings.trainAcc, valAcc: ceilings.valAcc };
  const criterion = resolveCriterion(thresholdArgsOf(spec.threshold, achievable).criterion);
  const classes = datasetOf(spec).classes;
  return {
    search: spec.search,
    criterion,
    level: levelOf(criterion, achievable),
    geometry: geometryOf(spec.grid.width, spec.search.widths, (w) => paramCount(w, classes, inputDim)),
  };
}

/** The cell a trial belongs to: its loss and the criterion's groupBy key, as findThresholds groups it. */
export function cellIdOf(config: Pick<TrialConfig, 'loss' | 'lr' | 'period' | 'amplitude'>, criterion: ThresholdCriterion): string {
  return `${config.loss} ${cellLabel(cellKeyOf(config, criterion.groupBy))}`;
}

/** The grid's trials at one width (trialsOf, so the ids are the full grid's). */
const trialsAt = (spec: GridSpec, width: number): Generator<Trial> => trialsOf({ ...spec, grid: { ...spec.grid, width: [width] } });

/** The search's cells, in the grid's order, each with its trials per width. */
export function searchCellsOf(spec: GridSpec, criterion: ThresholdCriterion): SearchCell[] {
  const cells = new Map<string, SearchCell>();
  for (const t of trialsAt(spec, spec.grid.width[0])) {
    const id = cellIdOf(t.config, criterion);
    const cell = cells.get(id);
    if (cell) cell.trialsPerWidth++;
    else cells.set(id, newCell(id, t.config.loss, cellKeyOf(t.config, criterion.groupBy), 1));
  }
  return [...cells.values()];
}

/** The trials a round's requests ask for, width by width; `byCell`: the trial ids of each cell. */
export function roundTrials(spec: GridSpec, criterion: ThresholdCriterion, requests: readonly RoundRequest[]): { trials: Trial[]; byCell: Map<string, string[]> } {
  const cellsAt = new Map<number, Set<string>>();
  for (const r of requests) for (const w of r.widths) (cellsAt.get(w) ?? cellsAt.set(w, new Set()).get(w)!).add(r.cellId);
  const trials: Trial[] = [];
  const byCell = new Map<string, string[]>();
  for (const [width, wanted] of [...cellsAt.entries()].sort((a, b) => a[0] - b[0])) {
    for (const t of trialsAt(spec, width)) {
      const id = cellIdOf(t.config, criterion);
      if (!wanted.has(id)) continue;
      trials.push(t);
      (byCell.get(id) ?? byCell.set(id, []).get(id)!).push(t.id);
    }
  }
  return { trials, byCell };
}

/**
 * The verdict of every (cell, width) of a round's records: the median over its seeds of the criterion metric
 * meets the level, exactly as findThresholds judges a grid width (diverged trials count as the worst value).
 */
export function judgeRound(records: readonly ThresholdInput[], criterion: ThresholdCriterion, level: number): Map<string, SearchPoint[]> {
  const out = new Map<string, SearchPoint[]>();
  for (const [loss, cells] of buildCells(records, criterion, [])) {
    for (const cell of cells) {
      const scratch = scratchFor(cell.seeds.length);
      const cols = allColumns(cell);
      out.set(
        `${loss} ${cell.label}`,
        cell.widths.map((width, k) => {
          const present = cell.values[k].filter((v) => !Number.isNaN(v));
          const median = medianOver(cell.values[k], cols, scratch);
          const ok = !Number.isNaN(median) && meets(median, level, criterion.direction);
          return {
            width,
            params: cell.params[k],
            median: Number.isFinite(median) ? median : null,
            fit: present.filter((v) => meets(v, level, criterion.direction)).length,
            seeds: present.length,
            meets: ok,
          };
        }),
      );
    }
  }
  return out;
}
