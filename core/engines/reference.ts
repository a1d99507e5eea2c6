/**
 * The reference engine: the float64 oracle kernel driven by the generic trainer.
 * Bump ENGINE_VERSIONS.reference (./versions.ts) whenever its numbers may change (it is part of every trial id).
 */
import type { Engine, EngineHooks, Pack, TrialOutcome } from '../types.js';
import { trainPack, type EngineIdentity } from '../train.js';
import { createReferenceKernel } from './reference-kernel.js';
import { ENGINE_VERSIONS } from './versions.js';

export { createReferenceKernel };

export const REFERENCE_ENGINE = { name: 'reference', version: ENGINE_VERSIONS.reference } as const satisfies EngineIdentity;

export function createReferenceEngine(): Engine {
  return {
    name: REFERENCE_ENGINE.name,
    version: REFERENCE_ENGINE.version,
    backend: 'float64',
    trainPack: (pack: Pack, hooks?: EngineHooks): Promise<TrialOutcome[]> =>
      trainPack(pack, createReferenceKernel, REFERENCE_ENGINE, hooks),
  };
}
