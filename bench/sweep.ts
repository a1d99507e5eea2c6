/**
 * End-to-end sweep benchmark (issue "Throughput", item 5): the wall time of a 64-trial sweep through the real
 * orchestrator, against the same packs trained in-process and against the numpy peer doing the same work.
 *
 * - A Temporal dev server (the cached binary of `infra/servers.sh path temporal`, in-memory state) on free ports.
 * - For each concurrency c (1, then 2): one worker process `sweep worker --queue all --concurrency c` (control and
 *   training in one process, training in worker threads, as `sweep local` runs it), a fresh local results store,
 *   and the real CLI `sweep start grid.yaml --wait --json`. Sweep wall time = the workflow's start to close
 *   (Temporal's own timestamps: plan, every pack, every record and artifact written, finalize); the CLI's wall
 *   time (node start-up, connecting, polling for the end) is reported too.
 * - The same packs in-process, engine only: one after another on this thread (c = 1), and on c worker threads at
 *   once through the production ThreadPackRunner (c = 2). Orchestration overhead = sweep wall / in-process - 1.
 * - The numpy peer (../shared/bench/numpy_peer.py, float32, 1 BLAS thread) training the same 64 trials as packs of
 *   16: one process for all 4 packs (1 core), two processes with 2 packs each at once (2 cores).
 * Runs are interleaved (in-process c, sweep c) so that load drift on a shared machine hits both alike.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection, WorkflowClient } from '@temporalio/client';
import { createEngine } from '../core/engines/index.js';
import { expandGrid, parseGrid, planPacks } from '../core/grid/index.js';
import type { Pack } from '../core/types.js';
import { ThreadPackRunner } from '../activities/runner.js';
import { packageRoot, serversScript, sweepBin } from '../workers/paths.js';
import { DEV_SERVER_FLAGS, temporalReady } from '../workers/local-stack.js';
import { peerPath } from './peer.js';

export interface SweepBenchOptions {
  steps: number;
  concurrencies: number[];
  peer: boolean;
  log: (msg: string) => void;
}

export interface SweepRun {
  concurrency: number;
  /** Workflow start to close, from Temporal. */
  sweepSeconds: number;
  /** `sweep start --wait` process, spawn to exit. */
  cliSeconds: number;
  /** The same packs, engine only, in-process (c threads at once). */
  inProcessSeconds: number;
  /** sweepSeconds / inProcessSeconds - 1. */
  orchestrationOverhead: number;
  status: string;
  completed: number;
  /** numpy peer, same 64 trials as packs of 16 on c processes at once; null when it could not run. */
  peerSeconds: number | null;
  /** peerSeconds / sweepSeconds (> 1: the sweep is faster than the peer doing only the training). */
  speedupVsPeer: number | null;
  /** Where the sweep's wall time went, from the workflow history (seconds since the workflow started). */
  phases: SweepPhases | null;
}

export interface SweepPhases {
  /** planSweep activity completed. */
  planned: number;
  /** First trainPack started (on a worker). */
  firstPackStarted: number;
  /** Last trainPack completed. */
  lastPackCompleted: number;
  /** Sum over packs of started -> completed (the activity bodies: thread start, training, writing records). */
  packActivitySeconds: number;
  /** finalizeSweep completed. */
  finalized: number;
  /**
   * Mean wait of a freed worker slot for its next pack: the i-th pack start (i >= c, in time order) minus the
   * (i - c)-th pack completion. Null with no more packs than slots.
   */
  handoffSeconds: number | null;
}

/** Phase times from the workflow's history (first run; a continue-as-new chain is not followed). */
async function phasesOf(client: WorkflowClient, workflowId: string, t0: number, slots: number): Promise<SweepPhases | null> {
  try {
    const history = await client.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const at = (e: (typeof events)[number]) => {
      const t = e.eventTime;
      return t ? (Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6) - t0) / 1000 : NaN;
    };
    const typeOf = new Map<string, string>();
    const startedAt = new Map<string, number>();
    const ph: SweepPhases = { planned: NaN, firstPackStarted: Infinity, lastPackCompleted: 0, packActivitySeconds: 0, finalized: NaN, handoffSeconds: null };
    const packStarts: number[] = [];
    const packDones: number[] = [];
    for (const e of events) {
      const id = String(e.eventId);
      if (e.activityTaskScheduledEventAttributes) typeOf.set(id, e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
      const st = e.activityTaskStartedEventAttributes;
      if (st) {
        const sched = String(st.scheduledEventId);
        startedAt.set(sched, at(e));
        if (typeOf.get(sched) === 'trainPack') {
          ph.firstPackStarted = Math.min(ph.firstPackStarted, at(e));
          packStarts.push(at(e));
        }
      }
      const done = e.activityTaskCompletedEventAttributes;
      if (done) {
        const sched = String(done.scheduledEventId);
        const name = typeOf.get(sched);
        if (name === 'planSweep') ph.planned = at(e);
        if (name === 'finalizeSweep') ph.finalized = at(e);
        if (name === 'trainPack') {
          ph.lastPackCompleted = Math.max(ph.lastPackCompleted, at(e));
          ph.packActivitySeconds += at(e) - (startedAt.get(sched) ?? at(e));
          packDones.push(at(e));
        }
      }
    }
    const starts = packStarts.sort((a, b) => a - b);
    const dones = packDones.sort((a, b) => a - b);
    const gaps = starts.slice(slots).map((t, i) => t - dones[i]);
    if (gaps.length > 0) ph.handoffSeconds = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    return ph;
  } catch {
    return null;
  }
}

export interface SweepBench {
  trials: number;
  packs: number;
  packSize: number;
  width: number;
  points: number;
  steps: number;
  engine: 'fast';
  grid: string;
  runs: SweepRun[];
  /** sweepSeconds(c = 1) / sweepSeconds(c = 2), when both ran. */
  twoCoreSpeedup: number | null;
  /** inProcessSeconds(c = 1) / inProcessSeconds(c = 2): what the engine alone gets from a second core here. */
  twoCoreSpeedupInProcess: number | null;
  peerTwoCoreSpeedup: number | null;
  cpus: number;
  loadAverageBefore: number[];
  error?: string;
}

const TRIALS = 64;
const PACK = 16;
const WIDTH = 100;
const PPC = 100;

function gridYaml(steps: number): string {
  const seeds = Array.from({ length: TRIALS }, (_, i) => i).join(', ');
  const evalEvery = Math.min(500, steps);
  return [
    'version: 1',
    'name: bench-sweep',
    'description: 64-trial end-to-end benchmark sweep (bench/sweep.ts)',
    `dataset: { pointsPerClass: ${PPC} }`,
    `training: { steps: ${steps}, evalEvery: ${evalEvery}, sharpnessEvery: 0 }`,
    `grid: { width: [${WIDTH}], lr: [0.5], loss: [ce], seed: [${seeds}] }`,
    'engine: fast',
    `execution: { packSize: ${PACK} }`,
    '',
  ].join('\n');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await Promise.resolve(probe()).catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what} not ready after ${timeoutMs / 1000}s`);
}

/** A child in its own process group (stopGroup ends it with its children), output to a log file. */
export function startGroup(cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const out = openSync(logFile, 'w');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out], env });
  closeSync(out);
  return child;
}

export async function stopGroup(child: ChildProcess | null): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const pid = child.pid;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!done) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** One numpy peer process: `packs` packs of 16 trials, `steps` steps each; seconds = trials x steps / its rate. */
function peerProcess(steps: number, packs: number): Promise<number | null> {
  const script = peerPath();
  if (!existsSync(script)) return Promise.resolve(null);
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const args = [
    script, '--width', String(WIDTH), '--points-per-class', String(PPC), '--classes', '3', '--pack', String(PACK),
    '--steps', String(steps), '--threads', '1', '--dtype', 'float32', '--repeats', String(packs),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.env.PYTHON ?? 'python3', args, { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => resolve(null));
    child.on('exit', () => {
      try {
        const j = JSON.parse(out.trim().split('\n').pop() ?? '') as { trialStepsPerSecond?: number };
        // The peer reports the median repeat's rate; the work of `packs` packs at that rate:
        resolve(typeof j.trialStepsPerSecond === 'number' ? (packs * PACK * steps) / j.trialStepsPerSecond : null);
      } catch {
        resolve(null);
      }
    });
  });
}

/** The peer doing the 64 trials on c cores: c processes at once, the packs split between them; the slowest counts. */
async function peerSweep(steps: number, c: number): Promise<number | null> {
  const packs = TRIALS / PACK;
  const share = Array.from({ length: c }, (_, i) => Math.floor(packs / c) + (i < packs % c ? 1 : 0)).filter((n) => n > 0);
  const times = await Promise.all(share.map((n) => peerProcess(steps, n)));
  if (times.some((t) => t === null)) return null;
  return Math.max(...(times as number[]));
}

/** The packs, engine only: c at a time (c = 1: this thread; c > 1: worker threads, as the worker runs them). */
async function inProcess(packs: Pack[], c: number): Promise<number> {
  const t0 = performance.now();
  if (c === 1) {
    const engine = await createEngine('fast');
    for (const p of packs) await engine.trainPack(p);
  } else {
    const runner = new ThreadPackRunner();
    const signal = new AbortController().signal;
    let next = 0;
    await Promise.all(
      Array.from({ length: c }, async () => {
        while (next < packs.length) {
          const p = packs[next++];
          await runner.run(p, () => {}, signal);
        }
      }),
    );
  }
  return (performance.now() - t0) / 1000;
}

export async function runSweepBench(o: SweepBenchOptions): Promise<SweepBench> {
  const yaml = gridYaml(o.steps);
  const spec = parseGrid(yaml, 'bench-sweep.yaml');
  const packs = planPacks(expandGrid(spec), spec.execution.packSize);
  const result: SweepBench = {
    trials: TRIALS, packs: packs.length, packSize: PACK, width: WIDTH, points: 3 * PPC, steps: o.steps, engine: 'fast',
    grid: yaml, runs: [], twoCoreSpeedup: null, twoCoreSpeedupInProcess: null, peerTwoCoreSpeedup: null,
    cpus: os.availableParallelism(), loadAverageBefore: os.loadavg(),
  };
  const probe = spawnSync('bash', [serversScript(), 'path', 'temporal'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    result.error = 'Temporal CLI not built (bash infra/servers.sh ensure temporal)';
    return result;
  }
  const temporalBin = probe.stdout.trim();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-bench-sweep-'));
  const gridFile = path.join(dir, 'bench-sweep.yaml');
  writeFileSync(gridFile, yaml);
  let server: ChildProcess | null = null;
  let worker: ChildProcess | null = null;
  try {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    server = startGroup(
      temporalBin,
      [
        'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless', '--log-level', 'error',
        ...DEV_SERVER_FLAGS,
      ],
      path.join(dir, 'temporal.log'),
    );
    await waitUntil('Temporal dev server', 60_000, () => temporalReady(address));
    const conn = await Connection.connect({ address });
    const client = new WorkflowClient({ connection: conn, namespace: 'default' });
    try {
      for (const c of o.concurrencies) {
        o.log(`sweep bench c=${c}: ${packs.length} packs of ${PACK} in-process (engine only)...`);
        const inProcessSeconds = await inProcess(packs, c);
        const ready = path.join(dir, `worker-${c}.ready`);
        worker = startGroup(
          process.execPath,
          [sweepBin(), 'worker', '--queue', 'all', '--concurrency', String(c), '--address', address, '--namespace', 'default', '--ready-file', ready],
          path.join(dir, `worker-${c}.log`),
          // The worker writes only under the store roots it is given (storage/allow.ts): the bench's stores.
          { ...process.env, SWEEP_STORE_ALLOW: dir },
        );
        await waitUntil(`worker (concurrency ${c})`, 60_000, () => existsSync(ready));
        const store = path.join(dir, `store-${c}`);
        mkdirSync(store, { recursive: true });
        const sweepId = `bench-c${c}-${Date.now()}`;
        o.log(`sweep bench c=${c}: sweep start --wait (${TRIALS} trials, ${o.steps} steps)...`);
        const t0 = performance.now();
        const cli = spawnSync(
          process.execPath,
          [sweepBin(), 'start', gridFile, '--wait', '--json', '--store', store, '--address', address, '--namespace', 'default', '--id', sweepId],
          { encoding: 'utf8', cwd: packageRoot(), timeout: 1_800_000 },
        );
        const cliSeconds = (performance.now() - t0) / 1000;
        const line = (cli.stdout ?? '').trim().split('\n').pop() ?? '';
        let status = `exit ${cli.status}`;
        let completed = 0;
        try {
          const j = JSON.parse(line) as { status: string; completed: number };
          status = j.status;
          completed = j.completed;
        } catch {
          status += `: ${(cli.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
        }
        const d = await client.getHandle(`sweep-${sweepId}`).describe();
        const sweepSeconds = d.closeTime ? (d.closeTime.getTime() - d.startTime.getTime()) / 1000 : cliSeconds;
        const phases = await phasesOf(client, `sweep-${sweepId}`, d.startTime.getTime(), c);
        await stopGroup(worker);
        worker = null;
        let peerSeconds: number | null = null;
        if (o.peer) {
          o.log(`sweep bench c=${c}: numpy peer, same trials on ${c} process(es)...`);
          peerSeconds = await peerSweep(o.steps, c);
        }
        const run: SweepRun = {
          concurrency: c, sweepSeconds, cliSeconds, inProcessSeconds,
          orchestrationOverhead: sweepSeconds / inProcessSeconds - 1,
          status, completed, peerSeconds, speedupVsPeer: peerSeconds ? peerSeconds / sweepSeconds : null, phases,
        };
        result.runs.push(run);
        o.log(
          `sweep c=${c}: ${status} ${completed}/${TRIALS}, sweep ${sweepSeconds.toFixed(2)} s (CLI ${cliSeconds.toFixed(2)} s), ` +
            `in-process ${inProcessSeconds.toFixed(2)} s, overhead ${(100 * run.orchestrationOverhead).toFixed(1)}%, ` +
            (phases ? `[planned ${phases.planned.toFixed(2)}, first pack ${phases.firstPackStarted.toFixed(2)}, last pack done ${phases.lastPackCompleted.toFixed(2)}, finalized ${phases.finalized.toFixed(2)}, pack bodies ${phases.packActivitySeconds.toFixed(2)} s, hand-off ${phases.handoffSeconds?.toFixed(3) ?? '-'} s], ` : '') +
            `peer ${peerSeconds === null ? '-' : `${peerSeconds.toFixed(2)} s (x${(peerSeconds / sweepSeconds).toFixed(2)})`}`,
        );
      }
    } finally {
      await conn.close();
    }
    const r1 = result.runs.find((r) => r.concurrency === 1);
    const r2 = result.runs.find((r) => r.concurrency === 2);
    if (r1 && r2) {
      result.twoCoreSpeedup = r1.sweepSeconds / r2.sweepSeconds;
      result.twoCoreSpeedupInProcess = r1.inProcessSeconds / r2.inProcessSeconds;
      if (r1.peerSeconds && r2.peerSeconds) result.peerTwoCoreSpeedup = r1.peerSeconds / r2.peerSeconds;
    }
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    const logs = ['temporal.log', ...o.concurrencies.map((c) => `worker-${c}.log`)]
      .map((f) => path.join(dir, f))
      .filter((f) => existsSync(f))
      .map((f) => `${path.basename(f)}: ${readFileSync(f, 'utf8').trim().split('\n').slice(-3).join(' | ')}`);
    if (logs.length) result.error += ` (${logs.join('; ')})`;
  } finally {
    await stopGroup(worker);
    await stopGroup(server);
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}
