/**
 * The numpy peer (../shared/bench/numpy_peer.py): spawned per workload, one BLAS thread (a per-core figure),
 * float32, same width / points / pack. Its output is one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flopsPerTrialStep, type Workload } from './workloads.js';

export interface PeerResult {
  workload: Workload['id'];
  K: number;
  steps: number;
  trialStepsPerS: number | null;
  gflops: number | null;
  numpy?: string;
  error?: string;
}

/** Where the peer script is: $DYNSWEEP_PEER, else ../shared/bench/numpy_peer.py next to the repository. */
export function peerPath(): string {
  return (
    process.env.DYNSWEEP_PEER ??
    fileURLToPath(new URL('../../../shared/bench/numpy_peer.py', import.meta.url))
  );
}

/** Runs the peer; `seconds`: the target length of one timed repeat (it reports the median of `repeats`). */
export function runPeer(w: Workload, K: number, seconds: number, repeats: number): PeerResult {
  const script = peerPath();
  const base = { workload: w.id, K, trialStepsPerS: null, gflops: null };
  if (!existsSync(script)) return { ...base, steps: 0, error: `peer script not found: ${script}` };
  // Guess ~4 GFLOP/s for numpy to size the run; the ratio does not depend on it.
  const steps = Math.max(10, Math.round((seconds * 4e9) / flopsPerTrialStep(w) / K));
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE; // the peer's own advice: these hints slow current numpy
  delete env.OPENBLAS_L2_SIZE;
  const args = [
    script, '--width', String(w.width), '--points-per-class', String(w.pointsPerClass), '--classes', String(w.classes),
    '--pack', String(K), '--steps', String(steps), '--threads', '1', '--dtype', 'float32', '--repeats', String(repeats),
  ];
  const r = spawnSync(process.env.PYTHON ?? 'python3', args, { env, encoding: 'utf8', timeout: 300_000 });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(line) as { trialStepsPerSecond?: number; matmulGflops?: number; numpy?: string; error?: string };
    if (j.error || typeof j.trialStepsPerSecond !== 'number') return { ...base, steps, error: j.error ?? 'no figure in peer output' };
    return { ...base, steps, trialStepsPerS: j.trialStepsPerSecond, gflops: j.matmulGflops ?? null, numpy: j.numpy };
  } catch {
    const why = r.error ? r.error.message : (r.stderr ?? '').trim().split('\n').pop() || `exit ${r.status}`;
    return { ...base, steps, error: `peer failed: ${why}` };
  }
}
