import { Context, ApplicationFailure } from '@temporalio/activity';
import type { Store } from '../core/store.js';
import { GridError } from '../core/grid/index.js';
import type { FinalizeInput, PlanInput, SweepActivities, TrainPackInput } from './contracts.js';
import { buildManifest, GRID_KEY, MANIFEST_KEY, packOf, readManifest, recordKey, artifactKey, type Manifest } from './manifest.js';
import type { PackRunner } from './runner.js';
import { finalizeResults } from './finalize.js';
import type { TrialRecord } from '../core/types.js';
import { bestOf, packLabel } from './labels.js';
import { mapLimit } from '../core/map-limit.js';

export interface ActivityDeps {
  /** Opens the results store of one sweep. */
  openStore(uri: string): Store;
  /** Where packs are trained (worker threads in production). */
  runner: PackRunner;
}

/** Activities as thin adapters over the pure core, built from their dependencies. */
export function createActivities(deps: ActivityDeps): SweepActivities {
  // manifest.json is read once per (results, grid): a sweep id re-planned with another grid gets a new entry.
  const manifests = new Map<string, Promise<Manifest>>();
  const manifestOf = (uri: string, store: Store, gridHash: string | undefined) => {
    const read = () =>
      readManifest(store).then((m) => {
        if (gridHash && m.gridHash !== gridHash) throw new Error(`${store.uri}: manifest.json is for grid ${m.gridHash}, not ${gridHash}`);
        return m;
      });
    if (!gridHash) return read();
    const key = `${uri}#${gridHash}`;
    let m = manifests.get(key);
    if (!m) {
      m = read();
      m.catch(() => manifests.delete(key));
      manifests.set(key, m);
    }
    return m;
  };

  return {
    async planSweep(input: PlanInput) {
      const ctx = Context.current();
      let built;
      try {
        // Heartbeats while the grid expands (half a minute at 1,000,000 trials, past the 30 s heartbeat timeout).
        built = await buildManifest(input.sweepId, input.gridYaml, input.gridFile, (trials) => ctx.heartbeat({ trials }));
      } catch (err) {
        if (err instanceof GridError) throw ApplicationFailure.nonRetryable(err.message, 'GridError');
        throw err;
      }
      const { manifest, spec, packs } = built;
      const store = deps.openStore(input.resultsUri);
      // manifest.json is about 500 bytes a trial: heartbeat while it is written, however long the store takes.
      const beat = setInterval(() => ctx.heartbeat({ trials: manifest.trials.length }), 5_000);
      try {
        await store.put(GRID_KEY, input.gridYaml, 'application/yaml');
        await store.put(MANIFEST_KEY, JSON.stringify(manifest), 'application/json');
      } finally {
        clearInterval(beat);
      }
      const ex = spec.execution;
      return {
        name: manifest.name,
        gridHash: manifest.gridHash,
        totalTrials: manifest.trials.length,
        packs: packs.map((p) => ({ index: p.index, width: p.width, size: p.trials.length, label: packLabel(p) })),
        taskQueue: ex.taskQueue,
        maxConcurrentPacks: ex.maxConcurrentPacks,
        maxAttempts: ex.maxAttempts,
        heartbeatTimeoutS: ex.heartbeatTimeoutS,
        packTimeoutS: ex.packTimeoutS,
      };
    },

    async trainPack(input: TrainPackInput) {
      const ctx = Context.current();
      const store = deps.openStore(input.resultsUri);
      const pack = packOf(await manifestOf(input.resultsUri, store, input.gridHash), input.packIndex);
      if (!pack) throw ApplicationFailure.nonRetryable(`no pack ${input.packIndex} in ${store.uri}`, 'BadPack');

      // Records are written last, so an existing record means the trial is complete: a retry skips it.
      const existing = await Promise.all(pack.trials.map((t) => store.getText(recordKey(t.id))));
      const todo = pack.trials.filter((_, i) => existing[i] === null);
      let diverged = existing.filter((r) => r !== null && (JSON.parse(r) as TrialRecord).diverged).length;
      const describe = `pack ${pack.index}: ${todo.length} trial(s), width ${pack.width}, ${pack.trials[0].config.loss}…`;
      ctx.heartbeat({ pack: pack.index, step: 0, totalSteps: pack.trials[0].config.steps, trials: todo.length, describe });

      if (todo.length > 0) {
        const outcomes = await deps.runner.run(
          { ...pack, trials: todo },
          (p) => ctx.heartbeat({ pack: pack.index, ...p, trials: todo.length, describe }),
          ctx.cancellationSignal,
        );
        // Trials are written concurrently (a pack's worth of fsyncs or S3 round trips adds up); within a trial the
        // artifact goes first, so a record always has its artifact.
        await mapLimit(outcomes, 8, async ({ record, artifact }) => {
          await store.put(artifactKey(record.trialId), JSON.stringify(artifact), 'application/json');
          const text = JSON.stringify(record);
          await store.put(recordKey(record.trialId), text, 'application/json');
          if (record.diverged) diverged++;
          existing[pack.trials.findIndex((t) => t.id === record.trialId)] = text;
        });
      }
      const bestValAcc = bestOf(existing.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as TrialRecord));
      return { packIndex: pack.index, completed: pack.trials.length, diverged, reused: pack.trials.length - todo.length, bestValAcc };
    },

    async finalizeSweep(input: FinalizeInput) {
      const store = deps.openStore(input.resultsUri);
      const ctx = Context.current();
      return finalizeResults(store, await manifestOf(input.resultsUri, store, input.gridHash), input, (read) => ctx.heartbeat({ read }));
    },
  };
}
