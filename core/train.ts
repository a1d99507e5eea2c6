/**
 * The generic training driver: owns data, initialisation, schedule, cadence, sharpness, divergence and
 * records; the kernel (any engine) only does the linear algebra. All trials of a pack step together.
 *
 * Conventions (documented choices):
 * - "Step s" is the state after s gradient steps. The update from s to s + 1 uses Gamma(s); curves and
 *   sharpness at s use Gamma(s) too, and the final state (s = steps) uses Gamma(steps).
 * - A trial diverges at the first s whose training loss is not finite (seen by an evaluation or by a step).
 *   It stops, its parameters go back to the last evaluated state with a finite loss (its "final" state:
 *   final metrics, artifact and final sharpness all refer to it), and stepsRun = divergedAtStep. Its curves
 *   and sharpness trace simply end; the trace gets no entry for that final state.
 * - Sharpness: when the trained loss equals its static counterpart at s (static losses, A = 1, final
 *   static segment) one eigenproblem serves both, so such a trial's numbers never depend on its pack-mates.
 *   Which measurements are cold, warm or cold-checked depends on the step alone (first and final: cold; a
 *   step s with s / sharpnessEvery a positive multiple of spec.coldEvery: checked), never on pack-mates.
 * - wallTimeS is the pack's wall time (trials run together); stepsPerSecond = stepsRun / wallTimeS.
 */
import type { KernelFactory, KernelTrial, PackKernel } from './kernel.js';
import type {
  Curves,
  EngineHooks,
  EngineName,
  FinalMetrics,
  Pack,
  SharpnessTrace,
  TrialArtifact,
  TrialConfig,
  TrialOutcome,
  TrialRecord,
} from './types.js';
import { TRIAL_RECORD_SCHEMA, lossFamily } from './types.js';
import { generatedData } from './data.js';
import { initParams, paramCount, unflattenParams } from './model.js';
import { classWeights, isStaticAt, scheduleOf, type ScheduleConfig } from './schedule.js';
import { DEFAULT_SHARPNESS_COLD_EVERY, SharpnessTracker } from './sharpness.js';
import { StabilityTracker } from './monitor.js';
import { TrainingGuard } from './guard.js';

export interface EngineIdentity {
  name: EngineName;
  version: string;
}

const PROGRESS_EVERY = 200;

/** null for NaN and +-Infinity, so records stay valid JSON with honest types. */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function abortError(): Error {
  const e = new Error('trainPack aborted');
  e.name = 'AbortError';
  return e;
}

/** Trials of a pack must agree on everything the shared loop depends on. */
function checkPack(pack: Pack): void {
  const c0 = pack.trials[0].config;
  const shared = (c: TrialConfig) =>
    JSON.stringify([c.dataset, c.width, c.steps, c.evalEvery, c.sharpnessEvery, c.sharpness, lossFamily(c.loss)]);
  const key0 = shared(c0);
  for (const t of pack.trials) {
    if (shared(t.config) !== key0) {
      throw new Error(`trainPack: trial ${t.id} differs from ${pack.trials[0].id} in dataset/width/steps/cadence/sharpness/loss family`);
    }
    if (t.config.width !== pack.width) throw new Error(`trainPack: trial ${t.id} width ${t.config.width} != pack width ${pack.width}`);
  }
  if (!(c0.evalEvery >= 1)) throw new Error('trainPack: evalEvery must be >= 1');
  if (!(c0.sharpnessEvery >= 0)) throw new Error('trainPack: sharpnessEvery must be >= 0');
}

function emptyCurves(): Curves {
  return { step: [], trainLoss: [], trainLossStatic: [], trainAcc: [], valLoss: [], valAcc: [] };
}

function emptyTrace(): SharpnessTrace {
  return {
    step: [],
    dynamic: [],
    dynamicResidual: [],
    dynamicResidualKind: [],
    static: [],
    staticResidual: [],
    staticResidualKind: [],
    eosRatio: [],
    coldChecks: { step: [], dynamicWarm: [], dynamicCold: [], staticWarm: [], staticCold: [], mismatch: [] },
    coldMismatches: 0,
  };
}

export async function trainPack(
  pack: Pack,
  factory: KernelFactory,
  engine: EngineIdentity,
  hooks: EngineHooks = {},
): Promise<TrialOutcome[]> {
  const t0 = performance.now();
  const trials = pack.trials;
  if (trials.length === 0) return [];
  checkPack(pack);
  const c0 = trials[0].config;
  const { steps, evalEvery, sharpnessEvery, sharpness: spec } = c0;
  const width = pack.width;
  const { train, validation } = hooks.data ?? generatedData(c0.dataset);
  const C = train.classes;
  const K = trials.length;
  const P = paramCount(width, C, train.d);
  const schedules: ScheduleConfig[] = trials.map((t) => scheduleOf(t.config));
  const kernelTrials: KernelTrial[] = trials.map((t) => ({
    loss: t.config.loss,
    lr: t.config.lr,
    theta: initParams(width, C, t.config.init, t.config.seed, train.d),
  }));
  const kernel: PackKernel = await factory({ width, train, validation, trials: kernelTrials });
  try {
    if (kernel.size !== K || kernel.paramCount !== P) throw new Error('trainPack: kernel size or parameter count mismatch');

    const gam = new Float64Array(K * C);
    const ones = new Float64Array(K * C).fill(1);
    const active = new Uint8Array(K).fill(1);
    const curves = trials.map(emptyCurves);
    const traces = trials.map(emptyTrace);
    const divergedAt: (number | null)[] = trials.map(() => null);
    // The instability monitor reads what is new in the traces at each progress report (none without a hook).
    const monitor = new StabilityTracker(K);
    const stability = () => monitor.observe(traces, curves, divergedAt);
    const stepsRun = new Array<number>(K).fill(0);
    // Last evaluated state with a finite loss: where a diverging trial returns to.
    const snapshot: Float64Array[] = kernelTrials.map((t) => Float64Array.from(t.theta));
    const snapStep = new Array<number>(K).fill(0);
    // Opt-in (training.guard): absent, nothing below changes a number.
    const guard = trials.some((t) => t.config.guard)
      ? new TrainingGuard(kernel, trials.map((t, k) => ({ guard: t.config.guard, lr: t.config.lr, theta: kernelTrials[k].theta })))
      : null;
    const tracker = new SharpnessTracker(kernel, spec);

    const gammasAt = (k: number, s: number) => classWeights(s, schedules[k], gam.subarray(k * C, (k + 1) * C));
    /** Trained loss equals its static counterpart at s (so one eigenproblem serves both). */
    const staticAt = (k: number, s: number) => trials[k].config.loss === 'mse' || isStaticAt(s, schedules[k]);
    const anyActive = () => active.some((a) => a === 1);

    const diverge = (k: number, s: number) => {
      active[k] = 0;
      divergedAt[k] = s;
      stepsRun[k] = s;
      kernel.setParams(k, snapshot[k]);
    };

    /** Curves at state s for active trials (gam holds Gamma(s)); returns whether anyone diverged. */
    const record = (s: number): boolean => {
      const tr = kernel.evaluate('train', gam);
      const va = kernel.evaluate('validation', ones);
      let diverged = false;
      for (let k = 0; k < K; k++) {
        if (!active[k]) continue;
        if (!Number.isFinite(tr.loss[k])) {
          if (guard?.rescue(k, s, tr.loss[k])) continue;
          diverge(k, s);
          diverged = true;
          continue;
        }
        const c = curves[k];
        c.step.push(s);
        c.trainLoss.push(tr.loss[k]);
        c.trainLossStatic.push(tr.lossStatic[k]);
        c.trainAcc.push(tr.acc[k]);
        c.valLoss.push(finiteOrNull(va.lossStatic[k]));
        c.valAcc.push(va.acc[k]);
        snapshot[k] = kernel.getParams(k);
        snapStep[k] = s;
      }
      return diverged;
    };

    /**
     * lambda_max (dynamic with gam, and static) for every trial; trial k is "at" state sOf(k); `all`: diverged
     * trials count too (the final measurement, cold for Lanczos: a function of the final parameters alone,
     * recomputable from the artifact), otherwise only active ones are computed. See core/sharpness.ts.
     * `check`: a warm Lanczos measurement is also checked (spec.coldEvery).
     */
    const measure = (sOf: (k: number) => number, all: boolean, check = false) => {
      const need = all ? new Uint8Array(K).fill(1) : Uint8Array.from(active);
      const coincide = Uint8Array.from(trials, (_, k) => (staticAt(k, sOf(k)) ? 1 : 0));
      return tracker.measure({ gammas: gam, ones, need, coincide, cold: all, check });
    };

    const recordSharpness = (k: number, s: number, m: ReturnType<typeof measure>) => {
      const st = m.stat(k);
      const tr = traces[k];
      const lam = m.dyn.lambda[k];
      tr.step.push(s);
      tr.dynamic.push(finiteOrNull(lam));
      tr.dynamicResidual.push(finiteOrNull(m.dyn.residual[k]));
      tr.dynamicResidualKind.push(m.dyn.residualKind[k]);
      tr.static.push(finiteOrNull(st.lambda[k]));
      tr.staticResidual.push(finiteOrNull(st.residual[k]));
      tr.staticResidualKind.push(st.residualKind[k]);
      tr.eosRatio.push(finiteOrNull((lam * trials[k].config.lr) / 2));
      const dc = m.dyn.check;
      const sc = st.check;
      if (dc && sc) {
        const ch = tr.coldChecks;
        const mismatch = dc.mismatch[k] === 1 || sc.mismatch[k] === 1;
        ch.step.push(s);
        ch.dynamicWarm.push(finiteOrNull(dc.warm[k]));
        ch.dynamicCold.push(finiteOrNull(dc.cold[k]));
        ch.staticWarm.push(finiteOrNull(sc.warm[k]));
        ch.staticCold.push(finiteOrNull(sc.cold[k]));
        ch.mismatch.push(mismatch);
        if (mismatch) tr.coldMismatches++;
      }
    };

    /** Measurement at step s (> 0) that is checked cold: every coldEvery-th one, a function of s alone. */
    const coldEvery = spec.coldEvery ?? DEFAULT_SHARPNESS_COLD_EVERY;
    const checkAt = (s: number) => coldEvery > 0 && s > 0 && (s / sharpnessEvery) % coldEvery === 0;

    for (let s = 0; s < steps && anyActive(); s++) {
      if (hooks.signal?.aborted) throw abortError();
      for (let k = 0; k < K; k++) gammasAt(k, s);
      if (s % evalEvery === 0) record(s);
      if (sharpnessEvery > 0 && s % sharpnessEvery === 0 && anyActive()) {
        const m = measure(() => s, false, checkAt(s));
        for (let k = 0; k < K; k++) if (active[k]) recordSharpness(k, s, m);
      }
      if (!anyActive()) break;
      guard?.beforeStep(s, active);
      const loss = kernel.step(gam, active);
      for (let k = 0; k < K; k++) {
        if (!active[k]) continue;
        const verdict = guard ? guard.afterStep(k, s, loss[k]) : 'ok';
        if (verdict === 'restored') stepsRun[k] = s + 1;
        else if (verdict === 'exhausted') diverge(k, s);
        else if (Number.isFinite(loss[k])) stepsRun[k] = s + 1;
        else diverge(k, s);
      }
      if ((s + 1) % PROGRESS_EVERY === 0) hooks.onProgress?.({ step: s + 1, totalSteps: steps, stability: stability() });
    }
    if (hooks.signal?.aborted) throw abortError();

    // Final state: s = steps for trials still running, the snapshot for diverged ones.
    const finalStep = (k: number) => (active[k] ? steps : snapStep[k]);
    for (let k = 0; k < K; k++) gammasAt(k, finalStep(k));
    if (record(steps)) for (let k = 0; k < K; k++) gammasAt(k, finalStep(k)); // someone diverged at the very end
    const tr = kernel.evaluate('train', gam);
    const va = kernel.evaluate('validation', ones);
    const m = measure(finalStep, true);
    for (let k = 0; k < K; k++) if (active[k]) recordSharpness(k, steps, m);
    hooks.onProgress?.({ step: steps, totalSteps: steps, stability: stability() });

    const wallTimeS = (performance.now() - t0) / 1000;
    const trainRows = Array.from({ length: train.n }, (_, i) => Array.from(train.x.subarray(i * train.d, (i + 1) * train.d)));
    const trainLabels = Array.from(train.y);
    return trials.map((trial, k): TrialOutcome => {
      const dyn = finiteOrNull(m.dyn.lambda[k]);
      const stat = finiteOrNull(m.stat(k).lambda[k]);
      const final: FinalMetrics = {
        trainLoss: finiteOrNull(tr.loss[k]),
        trainLossStatic: finiteOrNull(tr.lossStatic[k]),
        trainAcc: tr.acc[k],
        valLoss: finiteOrNull(va.lossStatic[k]),
        valAcc: va.acc[k],
        sharpnessDynamic: dyn,
        sharpnessStatic: stat,
      };
      const record: TrialRecord = {
        schema: TRIAL_RECORD_SCHEMA,
        trialId: trial.id,
        config: trial.config,
        engine: { name: engine.name, version: engine.version, backend: kernel.backend },
        params: P,
        curves: curves[k],
        sharpness: traces[k],
        final,
        diverged: divergedAt[k] !== null,
        divergedAtStep: divergedAt[k],
        stepsRun: stepsRun[k],
        wallTimeS,
        stepsPerSecond: wallTimeS > 0 ? stepsRun[k] / wallTimeS : 0,
        artifactKey: `artifacts/${trial.id}.json`,
        ...(guard?.logOf(k) ? { guard: guard.logOf(k) } : {}),
      };
      const artifact: TrialArtifact = {
        ...unflattenParams(kernel.getParams(k), width, C, train.d),
        train: { x: trainRows, y: trainLabels },
        loss: trial.config.loss,
        gamma: Array.from(gam.subarray(k * C, (k + 1) * C)),
        finalSharpness: { static: stat, dynamic: dyn },
      };
      return { record, artifact };
    });
  } finally {
    kernel.dispose();
  }
}
