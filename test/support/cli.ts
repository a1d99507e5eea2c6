import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The CLI as a user runs it: the built bin/sweep.js in a child process. */
export const SWEEP_BIN = path.resolve('bin/sweep.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment without anything that would point the CLI at a server or store we did not ask for. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(TEMPORAL_|AWS_|SWEEP_|DYNSWEEP_HOME)/.test(k)) delete env[k];
  }
  return { ...env, ...extra };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000, cwd?: string): Promise<CliRun> {
  if (!existsSync(path.resolve('dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SWEEP_BIN, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sweep ${args.join(' ')} timed out\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last line of stdout parsed as JSON (the --json contract). */
export function lastJson<T = Record<string, unknown>>(run: CliRun): T {
  const lines = run.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]) as T;
  } catch {
    throw new Error(`stdout does not end with JSON:\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

export interface WorkerProcess {
  child: ChildProcess;
  log(): string;
  /** SIGKILL: a worker that dies without shutting down. */
  kill(): void;
  stop(): Promise<void>;
}

/**
 * A `sweep worker` process; resolves once it polls. `wrap` turns its command line ([node, sweep.js, 'worker', ...])
 * into another (e.g. run inside a network namespace); `readyDir` is where it signals readiness (default the temp
 * folder; it must be visible to the wrapped process).
 */
export async function startWorker(
  env: NodeJS.ProcessEnv,
  args: string[] = [],
  wrap: (argv: string[]) => string[] = (argv) => argv,
  readyDir = os.tmpdir(),
): Promise<WorkerProcess> {
  const dir = mkdtempSync(path.join(readyDir, 'dynsweep-worker-'));
  const ready = path.join(dir, 'ready');
  const [cmd, ...rest] = wrap([process.execPath, SWEEP_BIN, 'worker', '--ready-file', ready, ...args]);
  const child = spawn(cmd, rest, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 120_000;
  while (!existsSync(ready)) {
    if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`worker not ready in time:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    log: () => log,
    kill: () => child.kill('SIGKILL'),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

export function tinyGrid(overrides: { name?: string; steps?: number; extra?: string; widths?: string; losses?: string; seeds?: string } = {}): string {
  return `name: ${overrides.name ?? 'tiny'}
dataset:
  pointsPerClass: 20
  revolutions: 2
training:
  steps: ${overrides.steps ?? 200}
  finalStaticSteps: 50
  evalEvery: 50
  sharpnessEvery: 100
grid:
  width: ${overrides.widths ?? '[2, 4, 8]'}
  lr: [0.5]
  loss: ${overrides.losses ?? '[ce, dce, mse, dmse1, dmse2]'}
  period: [40]
  amplitude: [3]
  seed: ${overrides.seeds ?? '[0, 1]'}
threshold:
  level: 0.9
  bootstrap: 200
${overrides.extra ?? ''}`;
}
