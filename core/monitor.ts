/**
 * The instability monitor's per-trial analysis (pure): crossings of the stability limit 2/eta, loss spikes and
 * divergence, read from a trial's sharpness trace and curves. One scan serves both users: the live monitor, which
 * advances it incrementally while a pack trains (StabilityTracker, called from the trainer's progress hook), and the
 * report, which runs it over finished records (instabilityOf). Definitions (documented in docs/monitor.md):
 * - a crossing is a finite sharpness sample with lambda_max * eta / 2 > 1 whose previous finite sample was <= 1 (the
 *   first finite sample counts when it is already above); non-finite samples leave the state as it was;
 * - a loss spike is an evaluation whose static training loss exceeds both SPIKE_RATIO times the lowest finite value
 *   before it and that value plus SPIKE_MIN_RISE; consecutive such evaluations are one spike. The static loss is used
 *   because the dynamical one rises and falls with the class weights by design.
 */
import { isStaticAt, scheduleOf } from './schedule.js';
import type { Curves, SharpnessTrace, TrialConfig, TrialRecord, TrialStability } from './types.js';

/** The edge-of-stability ratio above which gradient descent is locally unstable (SCIENCE.md "Sharpness"). */
export const EOS_LIMIT = 1;
/** A loss spike: the static training loss above this multiple of its lowest value so far ... */
export const SPIKE_RATIO = 2;
/** ... and at least this much above it (so noise on a loss near zero is not a spike). */
export const SPIKE_MIN_RISE = 0.01;

export interface InstabilityEvents {
  /** Upward crossings of 2/eta: the sample's step and ratio. */
  crossings: { step: number; eos: number }[];
  /** Loss spikes: the first evaluation of each, with its static training loss. */
  spikes: { step: number; loss: number }[];
  /** First step whose loss was not finite (the blow-up), or null. */
  divergedAt: number | null;
}

/** A trial's cell, the label the monitor ranks and shows: its configuration less the seed ("dce w=8 lr=2 T=40 A=3"). */
export function trialCell(c: Pick<TrialConfig, 'loss' | 'width' | 'lr' | 'period' | 'amplitude'>): string {
  return `${c.loss} w=${c.width} lr=${c.lr}${c.period === null ? '' : ` T=${c.period} A=${c.amplitude}`}`;
}

export function emptyStability(): TrialStability {
  return { step: null, sharpness: null, eos: null, maxEos: null, crossings: 0, spikes: 0, divergedAt: null };
}

/** The scan of one trial; `advance` reads only the samples appended since its last call. */
class TrialScan {
  private sharpSeen = 0;
  private lossSeen = 0;
  private above = false;
  private minLoss = Infinity;
  private inSpike = false;
  readonly stability = emptyStability();

  advance(trace: SharpnessTrace, curves: Curves, divergedAt: number | null, events?: InstabilityEvents): void {
    const st = this.stability;
    for (; this.sharpSeen < trace.step.length; this.sharpSeen++) {
      const eos = trace.eosRatio[this.sharpSeen];
      if (eos === null) continue;
      const step = trace.step[this.sharpSeen];
      st.step = step;
      st.sharpness = trace.dynamic[this.sharpSeen];
      st.eos = eos;
      if (st.maxEos === null || eos > st.maxEos) st.maxEos = eos;
      const above = eos > EOS_LIMIT;
      if (above && !this.above) {
        st.crossings++;
        events?.crossings.push({ step, eos });
      }
      this.above = above;
    }
    for (; this.lossSeen < curves.step.length; this.lossSeen++) {
      const loss = curves.trainLossStatic[this.lossSeen];
      if (!Number.isFinite(loss)) continue;
      const spiking = loss > Math.max(SPIKE_RATIO * this.minLoss, this.minLoss + SPIKE_MIN_RISE);
      if (spiking && !this.inSpike) {
        st.spikes++;
        events?.spikes.push({ step: curves.step[this.lossSeen], loss });
      }
      this.inSpike = spiking;
      if (loss < this.minLoss) this.minLoss = loss;
    }
    st.divergedAt = divergedAt;
  }
}

/**
 * The live monitor of a pack's trials: `observe` is called with the trainer's growing traces and curves (any
 * cadence; each call reads only what is new) and returns a copy of every trial's numbers so far.
 */
export class StabilityTracker {
  private readonly scans: TrialScan[];

  constructor(trials: number) {
    this.scans = Array.from({ length: trials }, () => new TrialScan());
  }

  observe(traces: readonly SharpnessTrace[], curves: readonly Curves[], divergedAt: readonly (number | null)[]): TrialStability[] {
    return this.scans.map((scan, k) => {
      scan.advance(traces[k], curves[k], divergedAt[k]);
      return { ...scan.stability };
    });
  }
}

/** A finished trial's numbers and events, from its record: the same scan the live monitor ran. */
export function instabilityOf(record: Pick<TrialRecord, 'sharpness' | 'curves' | 'divergedAtStep'>): {
  stability: TrialStability;
  events: InstabilityEvents;
} {
  const scan = new TrialScan();
  const events: InstabilityEvents = { crossings: [], spikes: [], divergedAt: record.divergedAtStep };
  scan.advance(record.sharpness, record.curves, record.divergedAtStep, events);
  return { stability: scan.stability, events };
}

export interface SchedulePosition {
  /** (step mod T) / T, in [0, 1): 0.5 is the middle of the period, where the emphasised class weighs A. */
  phase: number;
  /** The emphasised class floor(step / T) mod C. */
  emphasised: number;
}

/**
 * Where `step` falls in the trial's class-weight schedule (core/schedule.ts), or null where the trained loss is
 * static there (static losses, A = 1, the final static segment): no period to be in.
 */
export function schedulePosition(step: number, config: TrialConfig): SchedulePosition | null {
  const cfg = scheduleOf(config);
  if (isStaticAt(step, cfg)) return null;
  const T = cfg.period as number;
  const m = Math.floor(step / T);
  return { phase: (step - m * T) / T, emphasised: m % cfg.classes };
}
