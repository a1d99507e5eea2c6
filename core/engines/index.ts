import type { Engine, EngineName } from '../types.js';

/** Build the named engine. Engines load lazily: the TensorFlow.js one pulls in its backend only when asked for. */
export async function createEngine(name: EngineName): Promise<Engine> {
  switch (name) {
    case 'reference':
      return (await import('./reference.js')).createReferenceEngine();
    case 'tfjs':
      return (await import('./tfjs.js')).createTfjsEngine();
    case 'fast':
      return (await import('./fast.js')).createFastEngine();
  }
}
