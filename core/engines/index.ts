/**
 * The engine registry: every engine is the generic trainer (core/train.ts) over one kernel factory, named by its
 * identity (name and a version derived from its sources, ./versions.ts) and the backend its kernel reports.
 * - reference: the float64 oracle kernel (./reference-kernel.ts), backend 'float64';
 * - fast: the WebAssembly SIMD kernel (./fast-kernel.ts, asm/fast-kernel.ts), backend 'wasm-simd', or for the
 *   spirals shape its bit-identical native port (native/) when built, backend 'native-avx2' / 'native-avx512';
 * - tfjs: TensorFlow.js (./tfjs.ts, ./tfjs-kernel.ts), backend as selected there.
 * A kernel that cannot train a pack's shape throws; no engine hands a pack to another.
 */
import type { Engine, EngineHooks, EngineName, Pack, TrialOutcome } from '../types.js';
import type { KernelFactory } from '../kernel.js';
import { trainPack } from '../train.js';
import { engineIdentity } from './versions.js';
import { createReferenceKernel } from './reference-kernel.js';
import { createFastKernel, fastBackendOf, fastIsaFor, fastModule } from './fast-kernel.js';

export { engineIdentity, engineVersions } from './versions.js';

/** An engine over `factory` whose kernels report `backend`. */
export function engineOf(name: EngineName, factory: KernelFactory, backend: string): Engine {
  const identity = engineIdentity(name);
  return {
    name,
    backend,
    trainPack: (pack: Pack, hooks?: EngineHooks): Promise<TrialOutcome[]> => trainPack(pack, factory, identity, hooks),
  };
}

/** The float64 oracle engine (synchronous: nothing to load). */
export function createReferenceEngine(): Engine {
  return engineOf('reference', createReferenceKernel, 'float64');
}

/**
 * The fast engine; fails here (wasm module not built, DYNSWEEP_FAST_KERNEL not runnable) rather than inside the first
 * pack. Its backend is that of a large spirals pack; smaller packs and other shapes may run another kernel (same
 * numbers), and their records say which.
 */
export async function createFastEngine(): Promise<Engine> {
  await fastModule();
  return engineOf('fast', createFastKernel, fastBackendOf(fastIsaFor(2, 3)));
}

/** Build the named engine. Engines load lazily: the TensorFlow.js one pulls in its backend only when asked for. */
export async function createEngine(name: EngineName): Promise<Engine> {
  switch (name) {
    case 'reference':
      return createReferenceEngine();
    case 'fast':
      return createFastEngine();
    case 'tfjs':
      return (await import('./tfjs.js')).createTfjsEngine();
  }
}
