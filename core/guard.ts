/**
 * The opt-in safety guard of core/train.ts (grid.yaml `training.guard`, core/grid/schema.ts guardSchema): a trial
 * whose training loss becomes non-finite, or exceeds `lossJump` times the loss of its last good state, goes back to
 * that state (kept in memory every `every` steps) and continues with its learning rate times `lrFactor`, at most
 * `maxInterventions` times; the next fault is the caller's to record as divergence. The schedule's clock does not
 * rewind: the trial continues from the step after the fault with the restored parameters. Trials without a guard
 * are never touched, so their numbers are exactly those of training without this module.
 */
import type { PackKernel } from './kernel.js';
import type { GuardLog, GuardSpec } from './types.js';

interface Guarded {
  spec: GuardSpec;
  lr: number;
  /** Last good state: its parameters, step and training loss. */
  good: Float64Array;
  goodStep: number;
  goodLoss: number;
  /** Parameters taken before the step at `pendingStep`, good once that step's loss passes. */
  pending: Float64Array | null;
  pendingStep: number;
  log: GuardLog;
}

export type GuardVerdict = 'ok' | 'restored' | 'exhausted';

export class TrainingGuard {
  private readonly trials: (Guarded | null)[];

  constructor(
    private readonly kernel: PackKernel,
    trials: readonly { guard?: GuardSpec; lr: number; theta: Float64Array }[],
  ) {
    if (trials.some((t) => t.guard) && !kernel.setLearningRate) throw new Error(`training.guard: the ${kernel.backend} kernel cannot change a learning rate`);
    this.trials = trials.map((t) =>
      t.guard
        ? { spec: t.guard, lr: t.lr, good: Float64Array.from(t.theta), goodStep: 0, goodLoss: NaN, pending: null, pendingStep: -1, log: { interventions: [], finalLr: t.lr } }
        : null,
    );
  }

  /** Before the step at s: every `every` steps, keep the current parameters as the next candidate good state. */
  beforeStep(s: number, active: Uint8Array): void {
    this.trials.forEach((g, k) => {
      if (g && active[k] && s % g.spec.every === 0) {
        g.pending = this.kernel.getParams(k);
        g.pendingStep = s;
      }
    });
  }

  /** After the step at s, whose training loss (at state s) was `loss`: a fault is handled, or the budget is spent. */
  afterStep(k: number, s: number, loss: number): GuardVerdict {
    const g = this.trials[k];
    if (!g) return 'ok';
    const faulty = !Number.isFinite(loss) || (Number.isFinite(g.goodLoss) && loss > g.spec.lossJump * g.goodLoss);
    if (faulty) return this.intervene(g, k, s, loss);
    if (g.pending && g.pendingStep === s) {
      g.good = g.pending;
      g.goodStep = s;
      g.goodLoss = loss;
      g.pending = null;
    }
    return 'ok';
  }

  /** A non-finite loss seen by an evaluation at state s: restored (true), or the budget is spent (false). */
  rescue(k: number, s: number, loss: number): boolean {
    const g = this.trials[k];
    return g !== null && this.intervene(g, k, s, loss) === 'restored';
  }

  private intervene(g: Guarded, k: number, s: number, loss: number): GuardVerdict {
    if (g.log.interventions.length >= g.spec.maxInterventions) return 'exhausted';
    g.lr *= g.spec.lrFactor;
    this.kernel.setParams(k, g.good);
    this.kernel.setLearningRate!(k, g.lr);
    g.pending = null;
    g.log.interventions.push({ step: s, loss: Number.isFinite(loss) ? loss : null, restoredToStep: g.goodStep, lr: g.lr });
    g.log.finalLr = g.lr;
    return 'restored';
  }

  /** The record's `guard` for trial k (undefined: the trial has no guard). */
  logOf(k: number): GuardLog | undefined {
    const g = this.trials[k];
    return g ? { interventions: [...g.log.interventions], finalLr: g.log.finalLr } : undefined;
  }
}
