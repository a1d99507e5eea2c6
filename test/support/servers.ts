/**
 * Real servers for integration tests: a Temporal dev server (Temporal CLI `server start-dev`) and MinIO, each on free
 * loopback ports, with state in a fresh temp folder.
 *
 *   const temporal = await startTemporal();            // { address, namespace: 'default', stop() }
 *   const minio = await startMinio();                  // { endpoint, accessKey, secretKey, region, bucket, stop() }
 *
 * Binaries come from `infra/servers.sh path temporal|minio` (the pinned builds in ~/.cache/dynsweep/bin, or
 * DYNSWEEP_TEMPORAL_BIN / DYNSWEEP_MINIO_BIN). When one is missing these helpers throw; they never skip.
 *
 * No orphans: each server runs in its own process group under a tiny bash watchdog. stop() signals the whole group
 * (TERM, then KILL after a grace period) and waits until it is gone. If the test process dies without calling stop()
 * (crash, SIGKILL from a timeout), the watchdog notices within ~0.2s that its parent is gone and stops the server.
 * Set DYNSWEEP_KEEP_SERVER_DATA=1 to keep the temp folders (logs, sqlite db, MinIO data) after stop().
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../../workers/local-stack.js';

const execFileP = promisify(execFile);
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVERS_SH = path.join(REPO_ROOT, 'infra', 'servers.sh');

export type ServerName = 'temporal' | 'minio';

/** The path of a pinned server binary; throws with instructions when it is not built. */
export async function serverBinary(name: ServerName): Promise<string> {
  try {
    const { stdout } = await execFileP('bash', [SERVERS_SH, 'path', name], { cwd: REPO_ROOT });
    const p = stdout.trim();
    if (!p) throw new Error('servers.sh printed no path');
    return p;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `the ${name} binary is not available: ${(e.stderr || e.message).trim()}\n` +
        `Build it with: infra/servers.sh ensure   (needs Go; or set DYNSWEEP_${name.toUpperCase()}_BIN)`,
      { cause: err },
    );
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean) => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The watchdog: `bash -c WATCHDOG_SCRIPT name PARENT_PID GRACE_TICKS cmd args...`, spawned as the leader of a new
// process group. It runs the server in the background and stays alive until the server exits, so that waiting for
// this shell = waiting for the server. When the test process (PARENT_PID) disappears it TERMs the whole group, and
// KILLs it GRACE_TICKS x 0.2s later if anything is still there. A TERM/INT/HUP to the watchdog itself (stop() signals
// the whole group) just marks it as stopping, with the same KILL escalation.
export const WATCHDOG_SCRIPT = `
parent=$1; grace=$2; shift 2
"$@" &
srv=$!
stopping=0
trap 'stopping=1' TERM INT HUP
n=0
while kill -0 "$srv" 2>/dev/null; do
  if [ "$stopping" = 0 ] && ! kill -0 "$parent" 2>/dev/null; then stopping=1; kill -TERM -- -$$ 2>/dev/null; fi
  if [ "$stopping" = 1 ]; then n=$((n+1)); [ "$n" -gt "$grace" ] && kill -KILL -- -$$; fi
  sleep 0.2
done
wait "$srv"
`;

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) p.signalGroup('SIGTERM');
  });
}

class ManagedProcess {
  readonly child: ChildProcess;
  readonly pgid: number;
  exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly name: string,
    bin: string,
    args: string[],
    readonly logFile: string,
    env: NodeJS.ProcessEnv,
    cwd: string,
  ) {
    const fd = openSync(logFile, 'a');
    try {
      const graceTicks = '50'; // 10s
      this.child = spawn('bash', ['-c', WATCHDOG_SCRIPT, `dynsweep-${name}-watchdog`, String(process.pid), graceTicks, bin, ...args], {
        detached: true, // own process group: pgid == pid
        stdio: ['ignore', fd, fd],
        env,
        cwd,
      });
    } finally {
      closeSync(fd);
    }
    if (this.child.pid === undefined) throw new Error(`failed to spawn ${name} (${bin})`);
    this.pgid = this.child.pid;
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      });
      this.child.once('error', () => {
        this.exited ??= { code: null, signal: null };
        resolve();
      });
    });
    live.add(this);
    installExitHook();
  }

  signalGroup(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.pgid, sig);
    } catch {
      /* already gone */
    }
  }

  groupAlive(): boolean {
    try {
      process.kill(-this.pgid, 0);
      return true;
    } catch {
      return false;
    }
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** TERM the process group, KILL it after graceMs, and wait until no member is left. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.groupAlive()) {
      this.signalGroup('SIGTERM');
      const t = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
      await this.exitPromise;
      clearTimeout(t);
      // The watchdog has exited, so the server has too; make sure nothing else in the group survived.
      for (let i = 0; i < 50 && this.groupAlive(); i++) {
        if (i === 10) this.signalGroup('SIGKILL');
        await sleep(100);
      }
    } else {
      await Promise.race([this.exitPromise, sleep(1000)]);
    }
    live.delete(this);
  }
}

async function makeStateDir(name: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `dynsweep-${name}-`));
}

async function cleanup(dir: string): Promise<void> {
  if (process.env.DYNSWEEP_KEEP_SERVER_DATA) return;
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

function portInUse(log: string): boolean {
  return /address already in use|bind: address|EADDRINUSE|port is already in use/i.test(log);
}

// ---- Temporal ------------------------------------------------------------------------------------------------------

export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface StartTemporalOptions {
  /** Serve the Web UI too (slower start); default false (headless). */
  ui?: boolean;
  /** Custom search attributes to register on the 'default' namespace at startup, e.g. { SweepId: 'Keyword' }. */
  searchAttributes?: Record<string, SearchAttributeType>;
  /** Extra namespaces to create besides 'default'. */
  namespaces?: string[];
  /** Dynamic config values (`--dynamic-config-value KEY=JSON`), over the local stack's (one partition per queue). */
  dynamicConfig?: Record<string, unknown>;
  /** Server log level; default 'error'. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Startup deadline; default 90s. */
  timeoutMs?: number;
  /** Interface to listen on; default 127.0.0.1 ('0.0.0.0': every interface, `address` on 127.0.0.1). */
  ip?: string;
}

export interface TemporalServer {
  /** host:port of the frontend gRPC service. */
  address: string;
  namespace: 'default';
  uiUrl?: string;
  /** Milliseconds from spawn until 'default' answered DescribeNamespace. */
  startupMs: number;
  /** Process-group id of the server (and its watchdog). */
  pid: number;
  stateDir: string;
  logFile: string;
  /** Environment for code under test: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE. */
  env(): Record<string, string>;
  /** Stop the server, keeping its state (the database file), until `resume`. */
  interrupt(): Promise<void>;
  /** Start it again on the same port with the same state; resolves once it answers. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTemporal(opts: StartTemporalOptions = {}): Promise<TemporalServer> {
  const bin = await serverBinary('temporal');
  let lastErr: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startTemporalOnce(bin, opts);
    } catch (err) {
      lastErr = err;
      if (!(err instanceof PortRaceError)) throw err;
    }
  }
  throw lastErr;
}

class PortRaceError extends Error {}

async function startTemporalOnce(bin: string, opts: StartTemporalOptions): Promise<TemporalServer> {
  const dir = await makeStateDir('temporal');
  const port = await freePort();
  const uiPort = opts.ui ? await freePort() : undefined;
  const ip = opts.ip ?? '127.0.0.1';
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(port),
    '--db-filename',
    path.join(dir, 'temporal.db'),
    '--log-level',
    opts.logLevel ?? 'error',
  ];
  if (uiPort !== undefined) args.push('--ui-port', String(uiPort), '--ui-ip', ip);
  else args.push('--headless');
  for (const [name, type] of Object.entries(opts.searchAttributes ?? {})) args.push('--search-attribute', `${name}=${type}`);
  for (const ns of opts.namespaces ?? []) args.push('--namespace', ns);
  for (const [k, v] of Object.entries({ ...DEV_SERVER_DYNAMIC_CONFIG, ...opts.dynamicConfig })) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);

  const t0 = performance.now();
  const spawnServer = () => new ManagedProcess('temporal', bin, args, path.join(dir, 'temporal.log'), { ...process.env }, dir);
  let proc = spawnServer();
  const host = ip === '0.0.0.0' ? '127.0.0.1' : ip;
  const address = `${host}:${port}`;
  const ready = async () => {
    const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
    let lastErr: unknown;
    for (;;) {
      if (proc.exited) {
        const log = proc.logTail();
        const msg = `temporal dev server exited during startup (${JSON.stringify(proc.exited)}); log ${proc.logFile}:\n${log}`;
        // The whole log: a bind failure can be followed by a long panic trace.
        throw portInUse(proc.logTail(Infinity)) ? new PortRaceError(msg) : new Error(msg);
      }
      if (Date.now() > deadline) {
        throw new Error(`temporal dev server not ready on ${address} after ${opts.timeoutMs ?? 90_000}ms (last error: ${String(lastErr)}); log:\n${proc.logTail()}`);
      }
      if (await tcpOpen(port, host)) {
        let conn: Connection | undefined;
        try {
          conn = await Connection.connect({ address, connectTimeout: 2000 });
          await conn.workflowService.describeNamespace({ namespace: 'default' });
          if (opts.searchAttributes && Object.keys(opts.searchAttributes).length > 0) {
            const res = await conn.operatorService.listSearchAttributes({ namespace: 'default' });
            const have = res.customAttributes ?? {};
            const missing = Object.keys(opts.searchAttributes).filter((k) => !(k in have));
            if (missing.length) throw new Error(`search attributes not registered yet: ${missing.join(', ')}`);
          }
          break;
        } catch (err) {
          lastErr = err;
        } finally {
          await conn?.close().catch(() => undefined);
        }
      }
      await sleep(100);
    }
  };
  try {
    await ready();
  } catch (err) {
    await proc.stop(2000);
    if (!(err instanceof PortRaceError)) {
      // keep the log around for diagnosis
      throw err;
    }
    await cleanup(dir);
    throw err;
  }
  const startupMs = Math.round(performance.now() - t0);
  let stopped: Promise<void> | undefined;
  return {
    address,
    namespace: 'default',
    uiUrl: uiPort !== undefined ? `http://127.0.0.1:${uiPort}` : undefined,
    startupMs,
    pid: proc.pgid,
    stateDir: dir,
    logFile: proc.logFile,
    env: () => ({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default' }),
    interrupt: () => proc.stop(),
    resume: async () => {
      proc = spawnServer();
      await ready();
    },
    stop: () =>
      (stopped ??= (async () => {
        await proc.stop();
        await cleanup(dir);
      })()),
  };
}

// ---- MinIO ---------------------------------------------------------------------------------------------------------

export interface StartMinioOptions {
  /** Bucket to create; default 'dynsweep-test'. Pass null to create none. */
  bucket?: string | null;
  accessKey?: string;
  secretKey?: string;
  timeoutMs?: number;
  /** Interface to listen on; default 127.0.0.1. */
  ip?: string;
}

export interface MinioServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** The created bucket ('' when none was asked for). */
  bucket: string;
  consoleUrl: string;
  /** Milliseconds from spawn until /minio/health/ready answered 200 (bucket creation not included). */
  startupMs: number;
  /** Process-group id of the server (and its watchdog). */
  pid: number;
  dataDir: string;
  logFile: string;
  /** AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION for code under test. */
  env(): Record<string, string>;
  /** An S3 client for this server (path-style). */
  client(): S3Client;
  /** Stop the server (an outage), keeping its data, until `resume`. */
  interrupt(): Promise<void>;
  /** Start it again on the same port with the same data; resolves once it is ready. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMinio(opts: StartMinioOptions = {}): Promise<MinioServer> {
  const bin = await serverBinary('minio');
  let lastErr: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startMinioOnce(bin, opts);
    } catch (err) {
      lastErr = err;
      if (!(err instanceof PortRaceError)) throw err;
    }
  }
  throw lastErr;
}

async function startMinioOnce(bin: string, opts: StartMinioOptions): Promise<MinioServer> {
  const dir = await makeStateDir('minio');
  const port = await freePort();
  const consolePort = await freePort();
  const accessKey = opts.accessKey ?? 'dynsweep';
  const secretKey = opts.secretKey ?? 'dynsweep-secret';
  const region = 'us-east-1';
  const ip = opts.ip ?? '127.0.0.1';
  const endpoint = `http://${ip}:${port}`;
  const args = [
    'server',
    path.join(dir, 'data'),
    '--address',
    `${ip}:${port}`,
    '--console-address',
    `${ip}:${consolePort}`,
    '--certs-dir',
    path.join(dir, 'certs'),
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MINIO_ROOT_USER: accessKey,
    MINIO_ROOT_PASSWORD: secretKey,
    MINIO_REGION: region,
    MINIO_UPDATE: 'off',
    MINIO_CI_CD: '1',
  };
  const t0 = performance.now();
  const spawnServer = () => new ManagedProcess('minio', bin, args, path.join(dir, 'minio.log'), env, dir);
  let proc = spawnServer();
  const ready = async () => {
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    let lastErr: unknown;
    for (;;) {
      if (proc.exited) {
        const log = proc.logTail();
        const msg = `minio exited during startup (${JSON.stringify(proc.exited)}); log ${proc.logFile}:\n${log}`;
        // The whole log: a bind failure can be followed by a long panic trace.
        throw portInUse(proc.logTail(Infinity)) ? new PortRaceError(msg) : new Error(msg);
      }
      if (Date.now() > deadline) {
        throw new Error(`minio not ready on ${endpoint} after ${opts.timeoutMs ?? 60_000}ms (last error: ${String(lastErr)}); log:\n${proc.logTail()}`);
      }
      try {
        const res = await fetch(`${endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) break;
        lastErr = new Error(`HTTP ${res.status}`);
      } catch (err) {
        lastErr = err;
      }
      await sleep(100);
    }
  };
  try {
    await ready();
  } catch (err) {
    await proc.stop(2000);
    if (err instanceof PortRaceError) await cleanup(dir);
    throw err;
  }
  const startupMs = Math.round(performance.now() - t0);
  const client = () =>
    new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey } });
  const bucket = opts.bucket === null ? '' : (opts.bucket ?? 'dynsweep-test');
  if (bucket) {
    const c = client();
    try {
      await c.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      await proc.stop(2000);
      throw new Error(`minio started but creating bucket '${bucket}' failed: ${String(err)}`, { cause: err });
    } finally {
      c.destroy();
    }
  }
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    accessKey,
    secretKey,
    region,
    bucket,
    consoleUrl: `http://${ip}:${consolePort}`,
    startupMs,
    pid: proc.pgid,
    dataDir: path.join(dir, 'data'),
    logFile: proc.logFile,
    env: () => ({
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: accessKey,
      AWS_SECRET_ACCESS_KEY: secretKey,
      AWS_REGION: region,
    }),
    client,
    interrupt: () => proc.stop(),
    resume: async () => {
      proc = spawnServer();
      await ready();
    },
    stop: () =>
      (stopped ??= (async () => {
        await proc.stop();
        await cleanup(dir);
      })()),
  };
}
