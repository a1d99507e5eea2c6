import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { rootsInFile } from '../storage/allow.js';
import { storeLocation } from '../storage/open.js';
import { concurrencyFromEnv } from './concurrency.js';
import { packageRoot, serversScript, stateDir, sweepBin } from './paths.js';

/**
 * The embedded default: a Temporal dev server (persistent SQLite state, web UI) and a worker, started
 * in the background on first use and reused afterwards, so `sweep start` can return and `sweep status`
 * still works later. `sweep local down` stops both.
 */
export interface LocalStack {
  address: string;
  namespace: string;
  uiUrl: string;
  temporalPid: number;
  workerPid: number;
  /** Build stamp of the code the worker runs: a rebuilt checkout restarts the worker. */
  codeStamp: string;
  /** The worker's --concurrency; null: one pack per CPU core. */
  concurrency?: number | null;
  stateDir: string;
}

/** Search attributes the sweeps set, registered on the local dev server. */
export const SEARCH_ATTRIBUTES = ['SweepName=Keyword', 'GridHash=Keyword', 'SweepStatus=Keyword', 'SweepVerdict=Keyword'];

/**
 * One partition per task queue. The dev server splits every queue into 4; packs queued beyond the free worker
 * slots sit in the backlog of some partition, and a slot that frees up polls another one and waits ~0.6 s for
 * the task to be forwarded: 0.6 s per pack hand-off, 15% of a 3000-step sweep (docs/performance.md). A sweep's
 * queues carry a few tasks per second at most, far below what one partition serves.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, number> = {
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

/** `temporal server start-dev` flags of every dev server a sweep runs on: search attributes and partitions. */
export const DEV_SERVER_FLAGS = [
  ...SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', a]),
  ...Object.entries(DEV_SERVER_DYNAMIC_CONFIG).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${v}`]),
];

const stackFile = () => path.join(stateDir(), 'local.json');
/** Store roots the local worker may write under besides its own (storage/allow.ts): those its CLI commands wrote to. */
const allowFile = () => path.join(stateDir(), 'stores.allow');

/** Let the local worker write under `root` (read on its next store check; no restart). */
function allowStore(root: string): void {
  const canonical = storeLocation(root).uri;
  if (rootsInFile(allowFile()).includes(canonical)) return;
  appendFileSync(allowFile(), `${canonical}\n`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function codeStamp(): string {
  const f = path.join(packageRoot(), 'dist', 'workflows', 'sweep.js');
  return existsSync(f) ? String(statSync(f).mtimeMs) : 'unbuilt';
}

function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
  return tryPort(preferred).catch(() => tryPort(0));
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not become ready in ${timeoutMs / 1000}s; see ${logFile}`);
}

function spawnDetached(cmd: string, args: string[], logFile: string): number {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: process.env });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  return child.pid;
}

/** The temporal binary, built once into the cache by infra/servers.sh (minutes on a fresh machine). */
function temporalBinary(log: (m: string) => void): string {
  const probe = spawnSync('bash', [serversScript(), 'path', 'temporal'], { encoding: 'utf8' });
  if (probe.status === 0) return probe.stdout.trim();
  log('Building the Temporal CLI (dev server) from source, once; this takes a few minutes...');
  const build = spawnSync('bash', [serversScript(), 'ensure', 'temporal'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) throw new Error('could not build the Temporal CLI (see the messages above)');
  return spawnSync('bash', [serversScript(), 'path', 'temporal'], { encoding: 'utf8' }).stdout.trim();
}

export function readStack(): LocalStack | null {
  if (!existsSync(stackFile())) return null;
  try {
    return JSON.parse(readFileSync(stackFile(), 'utf8')) as LocalStack;
  } catch {
    return null;
  }
}

/** True once the dev server at `address` answers for the default namespace. */
export async function temporalReady(address: string): Promise<boolean> {
  const conn = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await conn.workflowService.describeNamespace({ namespace: 'default' });
    return true;
  } finally {
    await conn.close();
  }
}

async function startWorker(address: string, dir: string, concurrency: number | null): Promise<number> {
  const readyFile = path.join(dir, 'worker.ready');
  rmSync(readyFile, { force: true });
  const log = path.join(dir, 'worker.log');
  const args = [sweepBin(), 'worker', '--address', address, '--namespace', 'default', '--ready-file', readyFile, '--allow-stores-file', allowFile()];
  if (concurrency !== null) args.push('--concurrency', String(concurrency));
  const pid = spawnDetached(process.execPath, args, log);
  await waitFor('the local worker', 120_000, async () => existsSync(readyFile) || (alive(pid) ? false : Promise.reject(new Error('exited'))), log).catch(
    (err: Error) => {
      throw new Error(`the local worker failed to start (${err.message}); see ${log}`);
    },
  );
  return pid;
}

/**
 * Bring the local stack up (or reuse a running one) and return where it is. `concurrency` (default
 * $SWEEP_CONCURRENCY): packs its worker trains at once; when it differs from the running worker's, the worker is
 * restarted with it. Unset keeps whatever the running worker has (one pack per core when it was never set).
 * `allowStore`: a store root its worker may write under from now on (the root of the sweep about to start).
 */
export async function localUp(log: (m: string) => void = () => {}, opts: { concurrency?: number; allowStore?: string } = {}): Promise<LocalStack> {
  const asked = opts.concurrency ?? concurrencyFromEnv();
  const dir = stateDir();
  mkdirSync(dir, { recursive: true });
  if (opts.allowStore) allowStore(opts.allowStore);
  const existing = readStack();
  if (existing && alive(existing.temporalPid) && (await temporalReady(existing.address).catch(() => false))) {
    const concurrency = asked ?? existing.concurrency ?? null;
    if (alive(existing.workerPid) && existing.codeStamp === codeStamp() && concurrency === (existing.concurrency ?? null)) return existing;
    if (alive(existing.workerPid)) process.kill(-existing.workerPid, 'SIGTERM');
    log(
      existing.codeStamp !== codeStamp()
        ? 'Restarting the local worker on the current build...'
        : `Restarting the local worker with concurrency ${concurrency ?? 'one pack per core'}...`,
    );
    const stack = { ...existing, workerPid: await startWorker(existing.address, dir, concurrency), codeStamp: codeStamp(), concurrency };
    writeFileSync(stackFile(), JSON.stringify(stack, null, 2));
    return stack;
  }
  if (existing) await localDown();

  const bin = temporalBinary(log);
  const port = await freePort(7233);
  const uiPort = await freePort(8233);
  const address = `127.0.0.1:${port}`;
  const tlog = path.join(dir, 'temporal.log');
  log(`Starting a local Temporal dev server on ${address} (web UI http://127.0.0.1:${uiPort})...`);
  const temporalPid = spawnDetached(
    bin,
    [
      'server', 'start-dev',
      '--ip', '127.0.0.1',
      '--port', String(port),
      '--ui-port', String(uiPort),
      '--db-filename', path.join(dir, 'temporal.db'),
      '--log-level', 'warn',
      ...DEV_SERVER_FLAGS,
    ],
    tlog,
  );
  await waitFor('the Temporal dev server', 60_000, () => temporalReady(address), tlog);
  const workerPid = await startWorker(address, dir, asked);
  const stack: LocalStack = {
    address,
    namespace: 'default',
    uiUrl: `http://127.0.0.1:${uiPort}`,
    temporalPid,
    workerPid,
    codeStamp: codeStamp(),
    concurrency: asked,
    stateDir: dir,
  };
  writeFileSync(stackFile(), JSON.stringify(stack, null, 2));
  return stack;
}

/** Stop the local stack's processes (their state, e.g. the dev server's database, is kept). */
export async function localDown(): Promise<boolean> {
  const stack = readStack();
  if (!stack) return false;
  for (const pid of [stack.workerPid, stack.temporalPid]) {
    if (!alive(pid)) continue;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      process.kill(pid, 'SIGTERM');
    }
    for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 250));
    if (alive(pid)) process.kill(-pid, 'SIGKILL');
  }
  rmSync(stackFile(), { force: true });
  return true;
}

export async function localStatus(): Promise<{ stack: LocalStack | null; temporal: boolean; worker: boolean }> {
  const stack = readStack();
  if (!stack) return { stack, temporal: false, worker: false };
  return {
    stack,
    temporal: alive(stack.temporalPid) && (await temporalReady(stack.address).catch(() => false)),
    worker: alive(stack.workerPid),
  };
}
