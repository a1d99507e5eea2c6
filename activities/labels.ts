import type { Pack, TrialRecord } from '../core/types.js';

/** Distinct values, in first-seen order, as "a,b,c" (or "a..b (n)" when many). */
function list(values: (number | string | null)[]): string {
  const seen = [...new Set(values.map((v) => (v === null ? '-' : String(v))))];
  return seen.length > 4 ? `${seen[0]}..${seen[seen.length - 1]} (${seen.length})` : seen.join(',');
}

/** What a pack trains, in one short line for the UI: "4 trials · w=8 · ce,dce · lr 0.5 · T 40 · A 3 · seeds 0,1". */
export function packLabel(pack: Pick<Pack, 'width' | 'trials'>): string {
  const cfgs = pack.trials.map((t) => t.config);
  const parts = [`${cfgs.length} trial${cfgs.length === 1 ? '' : 's'}`, `w=${pack.width}`, list(cfgs.map((c) => c.loss)), `lr ${list(cfgs.map((c) => c.lr))}`];
  const periods = cfgs.map((c) => c.period).filter((p) => p !== null);
  if (periods.length > 0) parts.push(`T ${list(periods)}`, `A ${list(cfgs.map((c) => c.amplitude).filter((a) => a !== null))}`);
  parts.push(`seeds ${list(cfgs.map((c) => c.seed))}`, `${cfgs[0]?.steps ?? 0} steps`);
  return parts.join(' · ');
}

/** The best final validation accuracy among records that did not diverge, with the trial's cell. */
export function bestOf(records: TrialRecord[]): { value: number; label: string } | null {
  let best: TrialRecord | null = null;
  for (const r of records) {
    if (r.diverged || !Number.isFinite(r.final.valAcc)) continue;
    if (!best || r.final.valAcc > best.final.valAcc) best = r;
  }
  if (!best) return null;
  const c = best.config;
  const sched = c.period === null ? '' : ` T=${c.period} A=${c.amplitude}`;
  return { value: best.final.valAcc, label: `${c.loss} w=${c.width} lr=${c.lr}${sched} seed ${c.seed}` };
}
