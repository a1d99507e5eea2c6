/**
 * Timing of sharpness inside a training run, shared by bench/main.ts and bench/sharpness-overhead.ts: a kernel
 * wrapper that adds up the time in `step` and in each warm measurement (from the first Hessian-vector product
 * after a step up to the next step), and the figures made from it.
 */
import type { KernelFactory, PackKernel } from '../core/kernel.js';

/** What timedFactory adds up (milliseconds; counts). */
export interface Timings {
  /** In kernel.step, and its calls. */
  step: number;
  steps: number;
  /** In warm measurements (first hvp after a step up to the next step), their count, products and time in hvp. */
  sharp: number;
  measurements: number;
  hvps: number;
  hvpTime: number;
}

/** A kernel factory that times step() and each measurement (first hvp after a step up to the next step). */
export function timedFactory(factory: KernelFactory, acc: Timings): KernelFactory {
  return async (init) => {
    const k = await factory(init);
    let since: number | null = null; // start of the current measurement
    let steps = 0;
    let hvpsNow = 0;
    let hvpTimeNow = 0;
    const step: PackKernel['step'] = (g, a) => {
      const t0 = performance.now();
      if (since !== null && steps > 0) {
        acc.sharp += t0 - since; // a measurement between two steps: not the first (before step 1) one
        acc.measurements++;
        acc.hvps += hvpsNow;
        acc.hvpTime += hvpTimeNow;
      }
      since = null;
      hvpsNow = 0;
      hvpTimeNow = 0;
      const r = k.step(g, a);
      acc.step += performance.now() - t0;
      acc.steps++;
      steps++;
      return r;
    };
    const hvp: PackKernel['hvp'] = (v, g, a, o) => {
      const t0 = performance.now();
      if (since === null) since = t0;
      hvpsNow++;
      const r = k.hvp(v, g, a, o);
      hvpTimeNow += performance.now() - t0;
      return r;
    };
    // Everything else (evaluate, gradient, params, the guard's setLearningRate, dispose) is the kernel's own.
    return new Proxy(k, {
      get(target, prop, receiver) {
        if (prop === 'step') return step;
        if (prop === 'hvp') return hvp;
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...x: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
}

/** Timings with nothing added yet. */
export const noTimings = (): Timings => ({ step: 0, steps: 0, sharp: 0, measurements: 0, hvps: 0, hvpTime: 0 });

/**
 * Mean time of a warm measurement over the time of the `every` training steps it serves: the steady-state cost
 * (a run of S steps holds S / every - 1 warm measurements, so its total over its training time understates it).
 */
export const overheadPerMeasurement = (t: Timings, every: number): number => t.sharp / t.measurements / ((every * t.step) / t.steps);

/** A product in training steps: mean time per hvp call (cache fills included) over mean time per step. */
export const productInSteps = (t: Timings): number => t.hvpTime / t.hvps / (t.step / t.steps);
