import { Context, ApplicationFailure } from '@temporalio/activity';
import type { Store } from '../core/store.js';
import { codeVersions, GridError, type ExecutionSpec } from '../core/grid/index.js';
import type { TrialOutcome, TrialRecord } from '../core/types.js';
import { mapLimit } from '../core/map-limit.js';
import type { FinalizeInput, PackExecution, PlanInput, SweepActivities, TrainPackInput } from './contracts.js';
import { requireManifest, writePlan, type PackPlan } from '../results/manifest.js';
import { artifactKey, packPlanKey, recordKey } from '../results/layout.js';
import { writePackSummary } from '../results/pack-summary.js';
import { trialRow } from '../results/tables.js';
import type { OutcomeSpool } from '../storage/spool.js';
import type { PackRunner } from './runner.js';
import { finalizeResults } from './finalize.js';
import { bestOf, packLabel } from './labels.js';
import { packMonitor, recordsAggregate } from './monitor.js';

export interface ActivityDeps {
  /** Opens the results store of one sweep (workers: retrying through outages, storage/retry.ts). */
  openStore(uri: string): Store;
  /** Where packs are trained (worker threads in production). */
  runner: PackRunner;
  /** Keeps a trained pack's outcomes on the worker's disk until they are in the store (none: memory only). */
  spool?: OutcomeSpool;
}

/** How often an activity heartbeats whatever it is doing (a store outage can hold a call for minutes). */
const HEARTBEAT_MS = 5_000;

/** Run `work` with a heartbeat every HEARTBEAT_MS, so a slow store never looks like a dead worker. */
async function heartbeating<T>(details: () => unknown, work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(details()), HEARTBEAT_MS);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

/** The record of a trial in the store, or null when it is missing or cannot be read (it is then trained again). */
async function readRecord(store: Store, trialId: string): Promise<TrialRecord | null> {
  const text = await store.getText(recordKey(trialId));
  if (text === null) return null;
  try {
    return JSON.parse(text) as TrialRecord;
  } catch {
    console.warn(`${store.uri}: ${recordKey(trialId)} is corrupt; the trial is trained again`);
    return null;
  }
}

/** The pack as planned, refused when it belongs to another plan or to code with other versions than this worker's. */
async function packToTrain(store: Store, input: TrainPackInput): Promise<PackPlan> {
  const text = await store.getText(packPlanKey(input.packIndex));
  if (text === null) throw ApplicationFailure.nonRetryable(`no pack ${input.packIndex} in ${store.uri} (${packPlanKey(input.packIndex)})`, 'BadPack');
  const plan = JSON.parse(text) as PackPlan;
  if (plan.gridHash !== input.gridHash) {
    throw ApplicationFailure.nonRetryable(`${store.uri}: pack ${input.packIndex} is planned for grid ${plan.gridHash}, not ${input.gridHash}`, 'BadPack');
  }
  const mine = codeVersions(plan.trials[0].config);
  const differ = (Object.keys(mine) as (keyof typeof mine)[]).filter((k) => mine[k] !== plan.versions[k]);
  if (differ.length > 0) {
    // Retryable: another worker of the fleet (the version the sweep was planned with) can take it.
    throw ApplicationFailure.retryable(
      `pack ${input.packIndex} was planned for ${differ.map((k) => `${k} ${plan.versions[k]}`).join(', ')}; this worker has ` +
        `${differ.map((k) => `${k} ${mine[k]}`).join(', ')}: run workers of the version the sweep was planned with, or start the sweep again`,
      'VersionMismatch',
    );
  }
  return plan;
}

/** What the workflow needs of a grid's `execution` block to schedule its packs. */
export function packExecutionOf(ex: ExecutionSpec): PackExecution {
  return {
    taskQueue: ex.taskQueue,
    maxConcurrentPacks: ex.maxConcurrentPacks,
    maxAttempts: ex.maxAttempts,
    heartbeatTimeoutS: ex.heartbeatTimeoutS,
    packTimeoutS: ex.packTimeoutS,
  };
}

/** Activities as thin adapters over the pure core, built from their dependencies. */
export function createActivities(deps: ActivityDeps): SweepActivities {
  return {
    async planSweep(input: PlanInput) {
      const ctx = Context.current();
      const store = deps.openStore(input.resultsUri);
      let planned;
      let last = { trials: 0 };
      try {
        planned = await heartbeating(() => last, () => writePlan(store, input, (trials) => ctx.heartbeat((last = { trials }))));
      } catch (err) {
        if (err instanceof GridError) throw ApplicationFailure.nonRetryable(err.message, 'GridError');
        throw err;
      }
      const { manifest, spec } = planned;
      return {
        name: manifest.name,
        gridHash: manifest.gridHash,
        totalTrials: manifest.totalTrials,
        packCount: manifest.packCount,
        ...packExecutionOf(spec.execution),
      };
    },

    async trainPack(input: TrainPackInput) {
      const ctx = Context.current();
      const store = deps.openStore(input.resultsUri);
      // Heartbeats go out every few seconds throughout, besides training progress: a store outage can hold any
      // read or write here for minutes (storage/retry.ts), and that is not a dead worker.
      let last: object = { pack: input.packIndex };
      return heartbeating(() => last, async () => {
        const pack = await packToTrain(store, input);

        // Records are written last, so an existing record means the trial is complete: a retry skips it.
        const records = await mapLimit(pack.trials, 16, (t) => readRecord(store, t.id));
        const todo = pack.trials.filter((_, i) => records[i] === null);
        const describe = packLabel(pack);
        last = { pack: pack.index, step: 0, totalSteps: pack.trials[0].config.steps, trials: todo.length, describe };
        ctx.heartbeat(last);

        if (todo.length > 0) {
          const spooled = await deps.spool?.load(input.resultsUri, input.gridHash, pack.index);
          const todoIds = new Set(todo.map((t) => t.id));
          let outcomes: TrialOutcome[];
          if (spooled && spooled.length === todo.length && spooled.every((o) => todoIds.has(o.record.trialId))) {
            outcomes = spooled;
          } else {
            const monitor = packMonitor(ctx, pack.index, todo.map((t) => t.config), input.monitorEveryS);
            outcomes = await deps.runner.run(
              { index: pack.index, width: pack.width, trials: todo },
              (p) => {
                ctx.heartbeat((last = { pack: pack.index, ...p, trials: todo.length, describe }));
                monitor.progress(p);
              },
              ctx.cancellationSignal,
            );
            await monitor.close();
            await deps.spool?.save(input.resultsUri, input.gridHash, pack.index, outcomes);
          }
          // Trials are written concurrently (a pack's worth of fsyncs or S3 round trips adds up); within a trial the
          // artifact goes first, so a record always has its artifact.
          last = { ...last, writing: outcomes.length };
          await mapLimit(outcomes, 8, async ({ record, artifact }) => {
            await store.put(artifactKey(record.trialId), JSON.stringify(artifact), 'application/json');
            await store.put(recordKey(record.trialId), JSON.stringify(record), 'application/json');
            records[pack.trials.findIndex((t) => t.id === record.trialId)] = record;
          });
        }
        const done = records as TrialRecord[];
        await writePackSummary(store, { index: pack.index, gridHash: input.gridHash, rows: done.map(trialRow) });
        await deps.spool?.drop(input.resultsUri, input.gridHash, pack.index);
        return {
          packIndex: pack.index,
          completed: done.length,
          diverged: done.filter((r) => r.diverged).length,
          reused: pack.trials.length - todo.length,
          bestValAcc: bestOf(done),
          monitor: recordsAggregate(done),
        };
      });
    },

    async finalizeSweep(input: FinalizeInput) {
      const store = deps.openStore(input.resultsUri);
      const ctx = Context.current();
      let last: object = { phase: 'reading manifest.json' };
      return heartbeating(() => last, async () => {
        const manifest = await requireManifest(store);
        if (manifest.gridHash !== input.gridHash) {
          throw ApplicationFailure.nonRetryable(`${store.uri}: manifest.json is for grid ${manifest.gridHash}, not ${input.gridHash}`, 'BadPack');
        }
        return finalizeResults(store, manifest, input, (progress) => ctx.heartbeat((last = progress)));
      });
    },
  };
}
