/**
 * The fast engine: the WebAssembly SIMD pack kernel (core/engines/fast-kernel.ts) driven by the generic
 * trainer. Bump ENGINE_VERSIONS.fast whenever its numbers may change (it is part of every trial id).
 */
import type { Engine, EngineHooks, Pack, TrialOutcome } from '../types.js';
import { trainPack, type EngineIdentity } from '../train.js';
import { ENGINE_VERSIONS } from './versions.js';
import { createFastKernel, fastModule, FAST_BACKEND } from './fast-kernel.js';

export { createFastKernel };

export const FAST_ENGINE = { name: 'fast', version: ENGINE_VERSIONS.fast } as const satisfies EngineIdentity;

export async function createFastEngine(): Promise<Engine> {
  await fastModule(); // fail early (module not built) rather than inside the first pack
  return {
    name: FAST_ENGINE.name,
    version: FAST_ENGINE.version,
    backend: FAST_BACKEND,
    trainPack: (pack: Pack, hooks?: EngineHooks): Promise<TrialOutcome[]> =>
      trainPack(pack, createFastKernel, FAST_ENGINE, hooks),
  };
}
