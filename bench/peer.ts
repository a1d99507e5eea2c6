/**
 * The peers (../shared/bench/): what a researcher would write instead. numpy_peer.py (numpy, batched matmuls) and
 * jax_peer.py (JAX, the paper authors' stack: vmap + jit), spawned per workload and pack size, float32, one core
 * (numpy: one BLAS thread; JAX pins itself to one CPU and turns off XLA's multi-threaded Eigen), same width /
 * points / pack. Each prints one JSON line. Also the single-core sgemm peak (./sgemm_peak.py) that GFLOP/s are
 * read against.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flopsPerTrialStep, type Workload } from './workloads.js';

export const PEERS = ['numpy', 'jax'] as const;
export type PeerName = (typeof PEERS)[number];

export interface PeerResult {
  peer: PeerName;
  workload: Workload['id'];
  K: number;
  steps: number;
  trialStepsPerS: number | null;
  /** GFLOP/s with the benchmark's flop count (bench/workloads.ts), for every peer alike. */
  gflops: number | null;
  /** numpy or jax version. */
  version?: string;
  error?: string;
}

const python = (): string => process.env.PYTHON ?? 'python3';

/** Where a peer script is: $DYNSWEEP_PEER (numpy) or $DYNSWEEP_JAX_PEER (jax), else ../shared/bench/<name>_peer.py. */
export function peerPath(name: PeerName = 'numpy'): string {
  const override = name === 'numpy' ? process.env.DYNSWEEP_PEER : process.env.DYNSWEEP_JAX_PEER;
  return override ?? fileURLToPath(new URL(`../../../shared/bench/${name}_peer.py`, import.meta.url));
}

/** The peers' environment: the two OpenBLAS core-type hints slow current numpy (the numpy peer's own advice). */
function peerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/**
 * Makes sure the Python packages of a peer import; installs them with pip when they do not (`jax numpy` for
 * JAX, `numpy` for numpy). Returns null when ready, else why not.
 */
export function ensurePeer(name: PeerName, log: (m: string) => void): string | null {
  const module = name === 'jax' ? 'jax' : 'numpy';
  const imports = () => spawnSync(python(), ['-c', `import ${module}`], { encoding: 'utf8' }).status === 0;
  if (imports()) return null;
  const packages = name === 'jax' ? ['jax', 'numpy'] : ['numpy'];
  log(`installing the ${name} peer's packages: ${python()} -m pip install ${packages.join(' ')}`);
  const r = spawnSync(python(), ['-m', 'pip', 'install', '--quiet', ...packages], { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0 || !imports()) {
    return `could not install ${packages.join(' ')}: ${(r.stderr ?? r.error?.message ?? '').trim().split('\n').pop()}`;
  }
  return null;
}

/** Runs a peer; `seconds`: the target length of one timed repeat (numpy reports the median of `repeats`; JAX of 3). */
export function runPeer(name: PeerName, w: Workload, K: number, seconds: number, repeats: number): PeerResult {
  const script = peerPath(name);
  const base = { peer: name, workload: w.id, K, trialStepsPerS: null, gflops: null };
  if (!existsSync(script)) return { ...base, steps: 0, error: `peer script not found: ${script}` };
  // Guess ~4 GFLOP/s to size the run; the ratio does not depend on it.
  const steps = Math.max(10, Math.round((seconds * 4e9) / flopsPerTrialStep(w) / K));
  const shape = [
    '--width', String(w.width), '--points-per-class', String(w.pointsPerClass), '--classes', String(w.classes),
    '--pack', String(K), '--steps', String(steps), '--threads', '1',
  ];
  const args = name === 'numpy' ? [...shape, '--dtype', 'float32', '--repeats', String(repeats)] : shape;
  const r = spawnSync(python(), [script, ...args], { env: peerEnv(), encoding: 'utf8', timeout: 300_000 });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(line) as { trialStepsPerSecond?: number; numpy?: string; jax?: string; error?: string };
    if (j.error || typeof j.trialStepsPerSecond !== 'number') return { ...base, steps, error: j.error ?? 'no figure in peer output' };
    const rate = j.trialStepsPerSecond;
    return { ...base, steps, trialStepsPerS: rate, gflops: (rate * flopsPerTrialStep(w)) / 1e9, version: j[name] };
  } catch {
    const why = r.error ? r.error.message : (r.stderr ?? '').trim().split('\n').pop() || `exit ${r.status}`;
    return { ...base, steps, error: `peer failed: ${why}` };
  }
}

export interface SgemmPeak {
  /** Median GFLOP/s of numpy's float32 n x n matmul on one core (one BLAS thread, pinned). */
  gflops: number | null;
  n: number;
  repeats: number;
  numpy?: string;
  error?: string;
}

/** The single-core float32 matmul peak, measured by ./sgemm_peak.py in this run. */
export function sgemmPeak(n: number, repeats: number): SgemmPeak {
  const script = fileURLToPath(new URL('../../bench/sgemm_peak.py', import.meta.url));
  const r = spawnSync(python(), [script, '--n', String(n), '--repeats', String(repeats)], { env: peerEnv(), encoding: 'utf8', timeout: 300_000 });
  try {
    const j = JSON.parse((r.stdout ?? '').trim().split('\n').pop() ?? '') as { gflops: number; numpy: string };
    return { gflops: j.gflops, n, repeats, numpy: j.numpy };
  } catch {
    return { gflops: null, n, repeats, error: `sgemm peak failed: ${(r.stderr ?? r.error?.message ?? '').trim().split('\n').pop()}` };
  }
}
