import type { EngineName } from '../types.js';

/**
 * Bumped whenever an engine's numbers may change. Part of every trial id, so results computed by
 * an older engine are never served from the store as if they were current.
 */
export const ENGINE_VERSIONS: Record<EngineName, string> = {
  // 2: warm sharpness (core/sharpness.ts) with minOrder, a mixed start and periodic cold checks (shared driver).
  reference: '2',
  tfjs: '2',
  fast: '2',
};
