/**
 * Throughput probe of the TensorFlow.js kernel: trial-steps/s (gradient steps of one trial per second, i.e.
 * K x steps / s) and trial-hvps/s for packs of K trials, per backend, with the float64 reference for scale.
 *
 *   npx tsc -p tsconfig.json   (or compile just this file and its imports)
 *   node dist/bench/tfjs-probe.js [--backends cpu,wasm] [--ks 1,16] [--width 100] [--per-class 100]
 *                                 [--loss ce] [--seconds 2] [--reference]
 *
 * Prints one JSON line per (backend, K). Not a test: no assertions, numbers depend on the machine.
 */
import * as tf from '@tensorflow/tfjs';
import { createReferenceKernel } from '../core/engines/reference-kernel.js';
import { createTfjsKernel, selectTfjsBackend } from '../core/engines/tfjs.js';
import type { KernelFactory, KernelInit } from '../core/kernel.js';
import { defaultDatasetSpec, makeSpirals } from '../core/data.js';
import { initParams } from '../core/model.js';
import type { LossName } from '../core/types.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

interface ProbeResult {
  backend: string;
  K: number;
  width: number;
  points: number;
  loss: LossName;
  trialStepsPerS: number;
  trialHvpsPerS: number;
  msPerStep: number;
}

async function probe(factory: KernelFactory, K: number, width: number, perClass: number, loss: LossName, seconds: number): Promise<ProbeResult> {
  const spec = defaultDatasetSpec({ pointsPerClass: perClass });
  const train = makeSpirals(spec, 'train');
  const validation = makeSpirals(spec, 'validation');
  const trials = Array.from({ length: K }, (_, k) => ({ loss, lr: 0.5, theta: initParams(width, train.classes, 'glorot-normal', k + 1, train.d) }));
  const init: KernelInit = { width, train, validation, trials };
  const ker = await factory(init);
  try {
    const C = train.classes;
    const gammas = new Float64Array(K * C).fill(1);
    const active = new Uint8Array(K).fill(1);
    for (let i = 0; i < 5; i++) ker.step(gammas, active); // warm-up (kernel compilation, allocator)
    let steps = 0;
    let t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      for (let i = 0; i < 10; i++) ker.step(gammas, active);
      steps += 10;
    }
    const stepS = (performance.now() - t0) / 1000;
    const v = new Float64Array(K * ker.paramCount).map((_, i) => Math.sin(i));
    ker.hvp(v, gammas);
    let hvps = 0;
    t0 = performance.now();
    while (performance.now() - t0 < (seconds * 1000) / 2) {
      for (let i = 0; i < 5; i++) ker.hvp(v, gammas);
      hvps += 5;
    }
    const hvpS = (performance.now() - t0) / 1000;
    return {
      backend: ker.backend,
      K,
      width,
      points: train.n,
      loss,
      trialStepsPerS: Math.round((K * steps) / stepS),
      trialHvpsPerS: Math.round((K * hvps) / hvpS),
      msPerStep: +((1000 * stepS) / steps).toFixed(3),
    };
  } finally {
    ker.dispose();
  }
}

async function main(): Promise<void> {
  const backends = arg('backends', 'cpu,wasm').split(',').filter(Boolean);
  const ks = arg('ks', '1,16').split(',').map(Number);
  const width = Number(arg('width', '100'));
  const perClass = Number(arg('per-class', '100'));
  const loss = arg('loss', 'ce') as LossName;
  const seconds = Number(arg('seconds', '2'));
  const withReference = process.argv.includes('--reference');
  for (const b of backends) {
    const sel = await selectTfjsBackend(b);
    for (const K of ks) console.log(JSON.stringify({ ...(await probe(createTfjsKernel, K, width, perClass, loss, seconds)), label: sel.label }));
  }
  if (withReference) for (const K of ks) console.log(JSON.stringify(await probe(createReferenceKernel, K, width, perClass, loss, seconds)));
  console.log(JSON.stringify({ tensorsLeft: tf.memory().numTensors }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
