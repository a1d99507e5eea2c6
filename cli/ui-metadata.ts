/**
 * What the Temporal web UI shows for a sweep before any worker runs: a one-line static summary and markdown static
 * details (the live counts come from the workflow's current details), and its search attributes.
 */
import type { SearchAttributePair } from '@temporalio/common';
import type { GridSpec } from '../core/grid/index.js';
import { isDynamical } from '../core/types.js';
import { GRID_HASH_KEY, SWEEP_NAME_KEY, SWEEP_STATUS_KEY, SWEEP_VERDICT_KEY } from '../workflows/definitions.js';

function distinct<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function range(values: number[]): string {
  const v = distinct(values).sort((a, b) => a - b);
  return v.length <= 4 ? v.join(', ') : `${v[0]}…${v[v.length - 1]} (${v.length})`;
}

export interface SweepMeta {
  name: string;
  gridHash: string;
  gridFile: string;
  /** Everything below is read from the grid's axes, never from its expanded trials. */
  spec: GridSpec;
  trials: number;
}

export function staticSummary(m: SweepMeta, schedule?: string): string {
  const g = m.spec.grid;
  const head = schedule ? `scheduled sweep ${schedule}` : `sweep ${m.name}`;
  return `${head}: ${m.trials} trials · ${g.loss.join(',')} · widths ${range(g.width)} · grid ${m.gridHash.slice(0, 8)}`;
}

export function staticDetails(m: SweepMeta, where: { resultsUri: string; sweepId?: string; schedule?: { name: string; cron: string } }): string {
  const g = m.spec.grid;
  const lines = [
    `**${m.name}** from \`${m.gridFile}\` · grid hash \`${m.gridHash}\``,
    '',
    `- trials: ${m.trials} · steps ${m.spec.training.steps} · engine ${m.spec.engine}`,
    `- losses: ${g.loss.join(', ')}`,
    `- widths: ${range(g.width)} · lr: ${range(g.lr)} · seeds: ${range(g.seed)}`,
  ];
  if (g.loss.some(isDynamical)) lines.push(`- periods T: ${range(g.period ?? [])} · amplitudes A: ${range(g.amplitude ?? [])}`);
  if (where.schedule) {
    lines.push(
      `- schedule **${where.schedule.name}** (cron \`${where.schedule.cron}\`): each run is judged against the baseline (regression.json)`,
      `- results: \`${where.resultsUri}/<sweep id>\` · verdicts: \`sweep regressions ${where.schedule.name}\``,
    );
  } else {
    lines.push(`- results: \`${where.resultsUri}\``, `- follow in a terminal: \`sweep status ${where.sweepId} --watch\``);
  }
  return lines.join('\n');
}

export function sweepSearchAttributes(m: Pick<SweepMeta, 'name' | 'gridHash'>, scheduled: boolean): SearchAttributePair[] {
  const pairs: SearchAttributePair[] = [
    { key: SWEEP_NAME_KEY, value: m.name },
    { key: GRID_HASH_KEY, value: m.gridHash },
    { key: SWEEP_STATUS_KEY, value: scheduled ? 'scheduled' : 'planning' },
  ];
  if (scheduled) pairs.push({ key: SWEEP_VERDICT_KEY, value: 'pending' });
  return pairs;
}

/** A start/create that failed because the server lacks our search attributes (retried without them). */
export function isSearchAttributeError(err: unknown): string | null {
  const e = err as Error;
  const why = `${e.message}: ${(e.cause as Error | undefined)?.message ?? ''}`;
  return /search attribute/i.test(why) ? why : null;
}
