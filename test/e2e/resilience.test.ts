import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startMinio, startTemporal, type MinioServer, type TemporalServer } from '../support/servers.js';
import { cleanEnv, lastJson, runCli, startWorker, tinyGrid, type WorkerProcess } from '../support/cli.js';
import { openStore } from '../../storage/open.js';
import type { Store } from '../../core/store.js';
import type { TrialRecord } from '../../core/types.js';

/**
 * Faults that must lose nothing, on the real servers: a storage outage of two minutes, a Temporal server restart,
 * SIGTERM to a worker, and two workers that cannot see each other's files (own network and mount namespaces),
 * one of them killed. Each sweep must end with every trial recorded exactly once and the same numbers as an
 * undisturbed run of the same grid.
 */

const GRID = tinyGrid({
  name: 'resilience',
  steps: 4000,
  widths: '[8, 16]',
  losses: '[ce, dce]',
  seeds: '[0, 1, 2, 3]',
  extra: 'execution:\n  packSize: 2\n  maxConcurrentPacks: 2\n  heartbeatTimeoutS: 10\n  maxAttempts: 5\n',
});

/** What must not change between a disturbed and an undisturbed run (not timings). */
const numbersOf = (r: TrialRecord) => JSON.stringify({ final: r.final, curves: r.curves, sharpness: r.sharpness, diverged: r.diverged, engine: r.engine });

async function recordsIn(store: Store): Promise<Map<string, TrialRecord>> {
  const keys = (await store.list('trials/')).filter((k) => k.endsWith('.json'));
  const out = new Map<string, TrialRecord>();
  for (const k of keys) {
    const r = JSON.parse((await store.getText(k))!) as TrialRecord;
    expect(out.has(r.trialId), `${r.trialId} recorded twice`).toBe(false);
    out.set(r.trialId, r);
  }
  return out;
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const recordCount = async (store: Store) => (await store.list('trials/').catch(() => [] as string[])).length;

/** Can this machine give a process its own network and mount namespaces (root, iproute2, util-linux)? */
function canIsolate(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = spawnSync('bash', ['-c', 'command -v ip >/dev/null && unshare --net --mount --fork true'], { stdio: 'ignore' });
  return probe.status === 0;
}

describe('faults that lose nothing', () => {
  let temporal: TemporalServer;
  let minio: MinioServer;
  let client: Client;
  let connection: Connection;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-resilience-'));
  const gridFile = path.join(dir, 'grid.yaml');
  const workers: WorkerProcess[] = [];
  let baseline: Map<string, TrialRecord>;
  let trials = 0;

  const envFor = (storeRoot: string, extra: Record<string, string> = {}) =>
    cleanEnv({ ...temporal.env(), ...minio.env(), SWEEP_STORE: storeRoot, ...extra });

  /** Start the sweep, then wait for it through `sweep status --watch`; returns its id and the store of its results. */
  async function start(env: NodeJS.ProcessEnv, storeRoot: string): Promise<{ sweepId: string; workflowId: string; store: Store }> {
    const run = await runCli(['start', gridFile, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const s = lastJson<{ sweepId: string; workflowId: string; trials: number }>(run);
    trials = s.trials;
    return { ...s, store: openStore(`${storeRoot}/${s.sweepId}`, { s3: { env } }) };
  }

  async function finish(env: NodeJS.ProcessEnv, sweepId: string, store: Store): Promise<void> {
    const run = await runCli(['status', sweepId, '--watch', '--json'], env, 600_000);
    expect(run.code, run.stderr).toBe(0);
    expect(lastJson(run)).toMatchObject({ status: 'completed', completed: trials, failed: 0 });
    const records = await recordsIn(store);
    expect(records.size).toBe(trials);
    for (const [id, r] of records) expect(numbersOf(r), id).toBe(numbersOf(baseline.get(id)!));
  }

  beforeAll(async () => {
    [temporal, minio] = await Promise.all([startTemporal(), startMinio()]);
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
    writeFileSync(gridFile, GRID);
    // The undisturbed run every other is compared with.
    const root = path.join(dir, 'baseline');
    const env = envFor(root);
    workers.push(await startWorker(env, ['--concurrency', '2']));
    const { sweepId, store } = await start(env, root);
    const run = await runCli(['status', sweepId, '--watch', '--json'], env, 600_000);
    expect(run.code, run.stderr).toBe(0);
    baseline = await recordsIn(store);
    expect(baseline.size).toBe(trials);
    await workers.pop()!.stop();
  }, 900_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await connection?.close();
    await Promise.all([temporal?.stop(), minio?.stop()]);
  });

  it('a storage outage of two minutes costs time, not trials', { timeout: 900_000 }, async () => {
    const root = `s3://${minio.bucket}/outage`;
    const env = envFor(root);
    const worker = await startWorker(env, ['--concurrency', '2']);
    workers.push(worker);
    const { sweepId, store } = await start(env, root);
    await waitFor('a first record', async () => (await recordCount(store)) > 0);
    await minio.interrupt();
    await new Promise((r) => setTimeout(r, 120_000));
    await minio.resume();
    await finish(env, sweepId, store);
    expect(worker.log()).toMatch(/failed \(attempt \d+, retrying in/); // the outage was met, and waited out
    await worker.stop();
  });

  it('a Temporal server restarted mid-sweep resumes it', { timeout: 900_000 }, async () => {
    const root = path.join(dir, 'restart');
    const env = envFor(root);
    const worker = await startWorker(env, ['--concurrency', '2']);
    workers.push(worker);
    const { sweepId, store } = await start(env, root);
    await waitFor('a first record', async () => (await recordCount(store)) > 0);
    expect(await recordCount(store)).toBeLessThan(trials);
    await temporal.interrupt();
    await new Promise((r) => setTimeout(r, 5_000));
    await temporal.resume();
    await finish(env, sweepId, store);
    await worker.stop();
  });

  it('SIGTERM drains a worker: its packs finish or go back to Temporal, and another worker completes the sweep', { timeout: 900_000 }, async () => {
    const root = path.join(dir, 'sigterm');
    const env = envFor(root);
    const first = await startWorker(env, ['--concurrency', '2', '--shutdown-grace', '1']);
    workers.push(first);
    const { sweepId, workflowId, store } = await start(env, root);
    await waitFor('a pack in training', async () => {
      const desc = await client.workflow.getHandle(workflowId).describe();
      return (desc.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'trainPack' && a.lastStartedTime);
    });
    const exited = new Promise<number | null>((r) => first.child.once('exit', (code) => r(code)));
    first.child.kill('SIGTERM');
    expect(await exited).toBe(0); // a clean shutdown, not a crash
    expect(await recordCount(store)).toBeLessThan(trials);
    workers.push(await startWorker(env, ['--concurrency', '2']));
    await finish(env, sweepId, store);
  });

  describe.skipIf(!canIsolate())('two workers in their own network and mount namespaces', () => {
    // A bridge on the host joins two namespaces; Temporal and MinIO listen on the bridge only.
    const BRIDGE = 'dsw-br0';
    const HOST_IP = '10.231.7.1';
    const sh = (cmd: string) => {
      const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
    };
    let isolatedTemporal: TemporalServer;
    let isolatedMinio: MinioServer;

    beforeAll(async () => {
      sh(`ip link del ${BRIDGE} 2>/dev/null; ip link add ${BRIDGE} type bridge && ip addr add ${HOST_IP}/24 dev ${BRIDGE} && ip link set ${BRIDGE} up`);
      for (const n of [1, 2]) {
        sh(
          `ip netns del dsw${n} 2>/dev/null; ip netns add dsw${n} && ip link add dsw${n}h type veth peer name dsw${n}n && ` +
            `ip link set dsw${n}h master ${BRIDGE} up && ip link set dsw${n}n netns dsw${n} && ` +
            `ip netns exec dsw${n} ip addr add 10.231.7.${n + 1}/24 dev dsw${n}n && ip netns exec dsw${n} ip link set dsw${n}n up && ` +
            `ip netns exec dsw${n} ip link set lo up`,
        );
      }
      // The dev server's services reach each other on loopback: it listens everywhere, and is dialled on the bridge.
      [isolatedTemporal, isolatedMinio] = await Promise.all([startTemporal({ ip: '0.0.0.0' }), startMinio({ ip: HOST_IP })]);
    }, 300_000);

    afterAll(async () => {
      await Promise.all([isolatedTemporal?.stop(), isolatedMinio?.stop()]);
      spawnSync('bash', ['-c', `ip netns del dsw1; ip netns del dsw2; ip link del ${BRIDGE}`]);
    });

    it('a sweep spread over both, one killed, completes with every trial recorded once', { timeout: 900_000 }, async () => {
      const root = `s3://${isolatedMinio.bucket}/isolated`;
      const address = `${HOST_IP}:${isolatedTemporal.address.split(':')[1]}`;
      const env = cleanEnv({ ...isolatedTemporal.env(), TEMPORAL_ADDRESS: address, ...isolatedMinio.env(), SWEEP_STORE: root });
      // Each worker: its own network namespace, and its own mount namespace in which a fresh tmpfs covers the
      // workers' folder, so its home and spool are its alone and the other's cannot be seen (the checkout and
      // readiness files lie outside that folder).
      const privateDir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-isolated-'));
      const ready = mkdtempSync(path.join('/dev/shm', 'dynsweep-ready-'));
      const isolated = (n: number, args: string[]) =>
        startWorker(
          env,
          args,
          (argv) => [
            'ip', 'netns', 'exec', `dsw${n}`, 'unshare', '--mount', '--propagation', 'private', 'bash', '-c',
            `mount -t tmpfs tmpfs ${privateDir} && mkdir -p ${privateDir}/home && echo ${n} > ${privateDir}/mine && ` +
              `HOME=${privateDir}/home SWEEP_SPOOL_DIR=${privateDir}/spool exec "$@"`,
            'worker', ...argv,
          ],
          ready,
        );
      const a = await isolated(1, ['--concurrency', '1']);
      const b = await isolated(2, ['--queue', 'train', '--concurrency', '1']);
      workers.push(a, b);
      // Neither namespace's files reach the host folder (nor, so, the other worker).
      expect(readdirSync(privateDir)).toEqual([]);
      const run = await runCli(['start', gridFile, '--json'], env);
      expect(run.code, run.stderr).toBe(0);
      const { sweepId, workflowId } = lastJson<{ sweepId: string; workflowId: string }>(run);
      const store = openStore(`${root}/${sweepId}`, { s3: { env } });
      const handle = new Client({ connection: await Connection.connect({ address }) }).workflow.getHandle(workflowId);
      // Kill b once both are training.
      const trainers = async () => {
        const events = (await handle.fetchHistory()).events ?? [];
        const packs = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainPack').map((e) => String(e.eventId)));
        const done = events.flatMap((e) => (packs.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) ? [e.activityTaskStartedEventAttributes!.identity] : []));
        // A running activity's started event is written when it ends: running packs are in the description.
        const running = ((await handle.describe()).raw.pendingActivities ?? []).filter((p) => p.activityType?.name === 'trainPack').map((p) => p.lastWorkerIdentity);
        return new Set([...done, ...running].filter((x): x is string => !!x));
      };
      await waitFor('both workers training', async () => (await trainers()).size >= 2).catch((err: Error) => {
        throw new Error(`${err.message}\nworker a:\n${a.log()}\nworker b:\n${b.log()}`);
      });
      b.kill();
      const done = await runCli(['status', sweepId, '--watch', '--json'], env, 600_000);
      expect(done.code, done.stderr).toBe(0);
      expect(lastJson(done)).toMatchObject({ status: 'completed', completed: trials, failed: 0 });
      const records = await recordsIn(store);
      expect(records.size).toBe(trials);
      for (const [id, r] of records) expect(numbersOf(r), id).toBe(numbersOf(baseline.get(id)!));
    });
  });
});
