/**
 * The scale benchmark (`npm run bench -- --scale`): cost per trial as a sweep grows, when the trials are tiny (20
 * steps, width <= 5, 30 points) so that what is measured is orchestration, storage and aggregation.
 *
 * - End to end at each of `sizes` (default 20,000 and 100,000 trials): a fresh Temporal dev server, one worker
 *   process (`sweep worker --queue all --concurrency <cores>`), a local store, the real `sweep start --wait`.
 *   Figures: trials per second over the workflow's life (Temporal's start and close times of the whole
 *   continue-as-new chain), planning (planSweep scheduled to completed) and finalize (finalizeSweep scheduled to
 *   completed) from the histories of the chain's first and last runs, and the worker's peak resident memory
 *   (VmHWM of /proc/<pid>/status).
 * - In process at `planFinalizeTrials` (default 1,000,000): writePlan into a local store, then the finalize merge
 *   (finalizeResults) over a pack summary per pack with synthetic rows; their wall times, and this process's peak
 *   resident memory, sampled. Together with the end-to-end runs this shows a million-trial sweep plans and
 *   finalizes within Temporal's limits: every workflow payload stays a few hundred bytes (PlanOutput, pack
 *   indices, counts), whatever the size.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, WorkflowClient } from '@temporalio/client';
import { finalizeResults } from '../activities/finalize.js';
import { writePlan } from '../results/manifest.js';
import { writePackSummary } from '../results/pack-summary.js';
import type { TrialRow } from '../results/tables.js';
import { LocalStore } from '../storage/local.js';
import { mapLimit } from '../core/map-limit.js';
import { packsOf, parseGrid } from '../core/grid/index.js';
import { paramCount } from '../core/model.js';
import { packageRoot, serversScript, sweepBin } from '../workers/paths.js';
import { DEV_SERVER_FLAGS, temporalReady } from '../workers/local-stack.js';
import { freePort, startGroup, stopGroup, waitUntil } from './sweep.js';

export interface ScaleRun {
  trials: number;
  packs: number;
  status: string;
  /** Workflow chain start to close, seconds. */
  sweepSeconds: number;
  trialsPerSecond: number;
  planSeconds: number | null;
  finalizeSeconds: number | null;
  /** Runs of the continue-as-new chain. */
  runs: number;
  workerPeakMiB: number | null;
}

export interface PlanFinalizeRun {
  trials: number;
  packs: number;
  planSeconds: number;
  finalizeSeconds: number;
  /** Largest manifest.json / PlanOutput-equivalent written: constant size. */
  manifestBytes: number;
  peakMiB: number;
}

export interface ScaleBench {
  packSize: number;
  cpus: number;
  loadAverageBefore: number[];
  runs: ScaleRun[];
  /** trialsPerSecond of each size against the first (1 = flat cost per trial). */
  throughputRatios: number[];
  planFinalize: PlanFinalizeRun | null;
  error?: string;
}

const PACK_SIZE = 64;

/** A grid of `trials` tiny trials: 4 widths x 2 losses (ce, dce at one T, A) x trials / 8 seeds. */
function scaleGrid(trials: number): string {
  const seeds = Math.ceil(trials / 8);
  return [
    'version: 1',
    `name: scale-${trials}`,
    'dataset: { pointsPerClass: 10 }',
    'training: { steps: 20, evalEvery: 20, sharpnessEvery: 0, finalStaticSteps: 0 }',
    `grid: { width: [2, 3, 4, 5], lr: [0.5], loss: [ce, dce], period: [10], amplitude: [2], seed: [${Array.from({ length: seeds }, (_, i) => i).join(', ')}] }`,
    'threshold: { level: 0.5, bootstrap: 100 }',
    'engine: fast',
    `execution: { packSize: ${PACK_SIZE}, maxConcurrentPacks: 64 }`,
    '',
  ].join('\n');
}

/** Peak resident memory of a process (MiB), from /proc; null where there is no /proc. */
function peakMiB(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

type History = Awaited<ReturnType<ReturnType<WorkflowClient['getHandle']>['fetchHistory']>>;

/** Seconds from an activity's scheduling to its completion, from a history. */
function activitySeconds(history: History, name: string): number | null {
  const scheduled = new Map<string, number>();
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === name) scheduled.set(String(e.eventId), ms(e.eventTime));
    const done = e.activityTaskCompletedEventAttributes;
    if (done && scheduled.has(String(done.scheduledEventId))) return (ms(e.eventTime) - scheduled.get(String(done.scheduledEventId))!) / 1000;
  }
  return null;
}

async function endToEnd(trials: number, address: string, client: WorkflowClient, dir: string, log: (m: string) => void): Promise<ScaleRun> {
  const gridFile = path.join(dir, `scale-${trials}.yaml`);
  writeFileSync(gridFile, scaleGrid(trials));
  const store = path.join(dir, `store-${trials}`);
  mkdirSync(store, { recursive: true });
  const ready = path.join(dir, `worker-${trials}.ready`);
  const worker = startGroup(
    process.execPath,
    [sweepBin(), 'worker', '--queue', 'all', '--address', address, '--namespace', 'default', '--ready-file', ready],
    path.join(dir, `worker-${trials}.log`),
    { ...process.env, SWEEP_STORE: store },
  );
  try {
    await waitUntil('worker', 60_000, () => existsSync(ready));
    const sweepId = `scale-${trials}-${Date.now()}`;
    log(`scale bench: ${trials} trials end to end...`);
    const cli = spawnSync(
      process.execPath,
      [sweepBin(), 'start', gridFile, '--wait', '--json', '--store', store, '--address', address, '--namespace', 'default', '--id', sweepId],
      { encoding: 'utf8', cwd: packageRoot(), timeout: 3_600_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const out = JSON.parse(cli.stdout.trim().split('\n').pop() ?? '{}') as { workflowId?: string; status?: string };
    const workflowId = out.workflowId ?? `sweep-${sweepId}`;
    const last = await client.getHandle(workflowId).describe();
    const firstRunId = (last.raw.workflowExecutionInfo as { firstRunId?: string } | undefined)?.firstRunId ?? last.runId;
    const first = await client.getHandle(workflowId, firstRunId).describe();
    const sweepSeconds = ((last.closeTime?.getTime() ?? Date.now()) - first.startTime.getTime()) / 1000;
    let runs = 1;
    for (let h = first; h.runId !== last.runId && runs < 10_000; runs++) {
      const next = (await client.getHandle(workflowId, h.runId).fetchHistory()).events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (!next) break;
      h = await client.getHandle(workflowId, next).describe();
    }
    const [firstHistory, lastHistory] = await Promise.all([client.getHandle(workflowId, firstRunId).fetchHistory(), client.getHandle(workflowId, last.runId).fetchHistory()]);
    const packs = [...packsOf(parseGrid(scaleGrid(trials), 'scale.yaml'))].length;
    return {
      trials,
      packs,
      status: out.status ?? `exit ${cli.status}`,
      sweepSeconds,
      trialsPerSecond: trials / sweepSeconds,
      planSeconds: activitySeconds(firstHistory, 'planSweep'),
      finalizeSeconds: activitySeconds(lastHistory, 'finalizeSweep'),
      runs,
      workerPeakMiB: worker.pid ? peakMiB(worker.pid) : null,
    };
  } finally {
    await stopGroup(worker);
    rmSync(store, { recursive: true, force: true });
  }
}

/** A synthetic row: accuracy rising with width, noisy by seed (what finalize merges; the numbers do not matter). */
function syntheticRow(id: string, c: { loss: TrialRow['loss']; width: number; lr: number; period: number | null; amplitude: number | null; seed: number }): TrialRow {
  const acc = Math.min(1, 0.3 + 0.15 * c.width + ((c.seed * 2654435761) % 97) / 1000);
  return {
    trialId: id, loss: c.loss, width: c.width, params: paramCount(c.width, 3), lr: c.lr, period: c.period, amplitude: c.amplitude, seed: c.seed,
    trainLoss: 1 - acc, trainLossStatic: 1 - acc, trainAcc: acc, valLoss: 1 - acc, valAcc: acc, sharpnessDynamic: null, sharpnessStatic: null,
    diverged: false, divergedAtStep: null, stepsRun: 20, wallTimeS: 0.01, stepsPerSecond: 2000, engine: 'fast', engineVersion: 'synthetic', backend: 'synthetic',
    eosCrossings: 0, firstCrossingStep: null, maxEosRatio: null, lossSpikes: 0,
  };
}

async function planAndFinalize(trials: number, dir: string, log: (m: string) => void): Promise<PlanFinalizeRun> {
  const root = path.join(dir, `plan-${trials}`);
  const store = new LocalStore(root, { fsync: false });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  try {
    log(`scale bench: plan ${trials} trials in process...`);
    const gridYaml = scaleGrid(trials);
    let t0 = performance.now();
    const { manifest, spec } = await writePlan(store, { sweepId: 'scale', gridYaml, gridFile: 'scale.yaml' });
    const planSeconds = (performance.now() - t0) / 1000;
    log(`scale bench: ${manifest.packCount} pack summaries...`);
    const packs = [...packsOf(spec)];
    await mapLimit(packs, 32, (p) =>
      writePackSummary(store, { index: p.index, gridHash: manifest.gridHash, rows: p.trials.map((t) => syntheticRow(t.id, t.config)) }),
    );
    packs.length = 0;
    log(`scale bench: finalize ${trials} trials in process...`);
    t0 = performance.now();
    await finalizeResults(store, manifest, { resultsUri: root, sweepId: 'scale', gridHash: manifest.gridHash, failures: [], cancelled: false });
    const finalizeSeconds = (performance.now() - t0) / 1000;
    return { trials, packs: manifest.packCount, planSeconds, finalizeSeconds, manifestBytes: JSON.stringify(manifest).length, peakMiB: peak / 2 ** 20 };
  } finally {
    clearInterval(sampler);
    rmSync(root, { recursive: true, force: true });
  }
}

export async function runScaleBench(o: { sizes: number[]; planFinalizeTrials: number; log: (m: string) => void }): Promise<ScaleBench> {
  const result: ScaleBench = { packSize: PACK_SIZE, cpus: os.availableParallelism(), loadAverageBefore: os.loadavg(), runs: [], throughputRatios: [], planFinalize: null };
  const probe = spawnSync('bash', [serversScript(), 'path', 'temporal'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    result.error = 'Temporal CLI not built (bash infra/servers.sh ensure temporal)';
    return result;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-bench-scale-'));
  let server: ChildProcess | null = null;
  try {
    for (const trials of o.sizes) {
      // A fresh server per size: no history of the previous size in its database.
      const port = await freePort();
      const address = `127.0.0.1:${port}`;
      server = startGroup(
        probe.stdout.trim(),
        ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless', '--log-level', 'error', ...DEV_SERVER_FLAGS],
        path.join(dir, `temporal-${trials}.log`),
      );
      await waitUntil('Temporal dev server', 60_000, () => temporalReady(address));
      const conn = await Connection.connect({ address });
      try {
        result.runs.push(await endToEnd(trials, address, new WorkflowClient({ connection: conn, namespace: 'default' }), dir, o.log));
      } finally {
        await conn.close();
        await stopGroup(server);
        server = null;
      }
    }
    const base = result.runs[0]?.trialsPerSecond;
    result.throughputRatios = result.runs.map((r) => (base ? r.trialsPerSecond / base : NaN));
    if (o.planFinalizeTrials > 0) result.planFinalize = await planAndFinalize(o.planFinalizeTrials, dir, o.log);
  } catch (err) {
    result.error = (err as Error).stack ?? String(err);
  } finally {
    await stopGroup(server);
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}
