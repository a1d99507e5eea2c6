import type { EngineName } from '../types.js';

/**
 * Bumped whenever an engine's numbers may change. Part of every trial id, so results computed by
 * an older engine are never served from the store as if they were current.
 */
export const ENGINE_VERSIONS: Record<EngineName, string> = {
  reference: '1',
  tfjs: '1',
  fast: '1',
};
