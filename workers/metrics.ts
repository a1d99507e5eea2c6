/**
 * Prometheus metrics of a worker process, on one endpoint: Temporal's SDK metrics (temporal_*, from the Rust core's
 * exporter) and ours (dynsweep_*), created on the same runtime's metric meter. Ours count at the seams the
 * activities are built from (the pack runner and the store), so the activities stay as they are.
 */
import { Runtime } from '@temporalio/worker';
import type { MetricCounter, MetricMeter } from '@temporalio/common';
import type { PackRunner } from '../activities/runner.js';
import type { Store } from '../core/store.js';

/** Off unless a port is given: the default exporter address would be one more open port on every worker. */
export interface MetricsConfig {
  /** Serve GET /metrics on this port (0 < port < 65536). */
  port: number;
  /** Interface to bind; default 127.0.0.1 (0.0.0.0 for a scraper on another host, e.g. in a pod). */
  host?: string;
}

export interface SweepMetrics {
  packsTrained: MetricCounter;
  trialsTrained: MetricCounter;
  /** Training steps times the trials that took them: its rate is the worker's trial-steps per second. */
  trialSteps: MetricCounter;
  /** Failed store operations, by `op` (put, get, list, ...). */
  storeErrors: MetricCounter;
}

/** The metric names, as scraped (documented in docs/deploy.md). */
export const METRIC_NAMES = ['dynsweep_packs_trained', 'dynsweep_trials_trained', 'dynsweep_trial_steps', 'dynsweep_store_errors'] as const;

/**
 * Install the process's Temporal runtime with a Prometheus exporter when `config` asks for one (before any
 * connection is made: the runtime is a per-process singleton), and create our counters on its meter. Without a
 * config the counters exist but nothing exports them.
 */
export function setUpMetrics(config: MetricsConfig | undefined): SweepMetrics {
  if (config) {
    const bindAddress = `${config.host ?? '127.0.0.1'}:${config.port}`;
    try {
      Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress } } } });
    } catch (err) {
      throw new Error(`cannot serve metrics on ${bindAddress}: ${(err as Error).message}`, { cause: err });
    }
  }
  const meter: MetricMeter = Runtime.instance().metricMeter;
  const [packs, trials, steps, storeErrors] = METRIC_NAMES;
  return {
    packsTrained: meter.createCounter(packs, 'packs', 'Packs this worker trained to the end (packs whose trials were all stored before are not counted)'),
    trialsTrained: meter.createCounter(trials, 'trials', 'Trials this worker trained to the end'),
    trialSteps: meter.createCounter(steps, 'steps', 'Training steps times the trials taking them; rate() is trial-steps per second'),
    storeErrors: meter.createCounter(storeErrors, 'errors', 'Store operations that failed (each attempt), by op'),
  };
}

/** A pack runner that counts packs, trials and trial-steps as they are trained. */
export function meteredRunner(runner: PackRunner, m: SweepMetrics): PackRunner {
  return {
    async run(pack, onProgress, signal) {
      const trials = pack.trials.length;
      let counted = 0;
      const countTo = (step: number) => {
        if (step <= counted) return;
        m.trialSteps.add((step - counted) * trials);
        counted = step;
      };
      const outcomes = await runner.run(
        pack,
        (p) => {
          countTo(p.step);
          onProgress(p);
        },
        signal,
      );
      countTo(pack.trials[0]?.config.steps ?? counted);
      m.packsTrained.add(1);
      m.trialsTrained.add(outcomes.length);
      return outcomes;
    },
  };
}

/** A store whose failed operations are counted by op (the error still propagates), its child stores too. */
export function meteredStore(store: Store, errors: MetricCounter): Store {
  // A proxy rather than a method list: every operation the Store interface has, now or later, is counted.
  return new Proxy(store, {
    get(target, op, receiver) {
      const value: unknown = Reflect.get(target, op, receiver);
      if (typeof value !== 'function') return value;
      if (op === 'child') return (prefix: string) => meteredStore(target.child(prefix), errors);
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.catch((err: unknown) => {
          errors.add(1, { op: String(op) });
          throw err;
        });
      };
    },
  });
}
