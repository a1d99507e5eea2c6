/**
 * The TensorFlow.js engine: the batched float32 kernel of ./tfjs-kernel.ts driven by the generic trainer.
 *
 * Backend selection (selectTfjsBackend), in order:
 *   1. the native TensorFlow backend of `@tensorflow/tfjs-node-gpu`, then of `@tensorflow/tfjs-node`, when
 *      they load: tfjs-node is an optional dependency whose binding `npm run native` builds against the
 *      TensorFlow C library of a PyPI wheel (scripts/native.sh, docs/native.md); tfjs-node-gpu is installed
 *      and built the same way in the GPU worker image only;
 *   2. 'wasm' (`@tensorflow/tfjs-backend-wasm`; SIMD where available, no threads in Node);
 *   3. 'cpu' (plain JavaScript).
 * The env var DYNSWEEP_TFJS_BACKEND (auto | tensorflow-gpu | tensorflow | native | wasm | cpu) forces one; an
 * explicit argument to selectTfjsBackend takes precedence over it. A forced backend that cannot be loaded
 * is an error (a misconfigured worker should fail loudly); only 'auto' falls back.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Engine, EngineHooks, Pack, TrialOutcome } from '../types.js';
import { trainPack } from '../train.js';
import { engineIdentity } from './versions.js';
import { createTfjsKernel, createTfjsKernelFactory } from './tfjs-kernel.js';

export { createTfjsKernel, createTfjsKernelFactory };

export const TFJS_BACKEND_ENV = 'DYNSWEEP_TFJS_BACKEND';

export type TfjsBackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'native' | 'wasm' | 'cpu';
const CHOICES: readonly TfjsBackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu'];

/** What a kernel reports as its backend: 'tensorflow-gpu', 'tensorflow', 'wasm' or 'cpu'. */
export type TfjsBackendLabel = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface TfjsBackendSelection {
  /** Reported backend (engine.backend, records). */
  label: TfjsBackendLabel;
  /** The TensorFlow.js backend name now current (tf.getBackend()). */
  tfBackend: string;
  /** Candidates that were tried and failed, with why (empty when the first choice worked). */
  skipped: { label: TfjsBackendLabel; reason: string }[];
}

export interface SelectOptions {
  /** Module loader (tests inject failures); default: dynamic import. */
  importModule?: (specifier: string) => Promise<unknown>;
  /** Environment to read DYNSWEEP_TFJS_BACKEND from; default process.env. */
  env?: Record<string, string | undefined>;
}

const NATIVE_MODULE: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/** A specifier held in a variable, so neither TypeScript nor bundlers try to resolve the optional modules. */
const defaultImport = (specifier: string): Promise<unknown> => import(specifier);

/** Directory of @tensorflow/tfjs-backend-wasm's .wasm binaries (its dist folder), with a trailing separator. */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

let wasmPathsSet = false;

async function tryBackend(label: TfjsBackendLabel, importModule: (s: string) => Promise<unknown>): Promise<string> {
  switch (label) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      try {
        await importModule(NATIVE_MODULE[label]); // registers the 'tensorflow' backend on import
      } catch (e) {
        const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
        throw new Error(`${why} (the native backend is built by \`npm run native${label === 'tensorflow-gpu' ? ' -- gpu' : ''}\`, docs/native.md)`);
      }
      if (tf.findBackendFactory('tensorflow') === null) {
        throw new Error(`${NATIVE_MODULE[label]} loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs`);
      }
      if (!(await tf.setBackend('tensorflow'))) throw new Error("tf.setBackend('tensorflow') failed");
      return 'tensorflow';
    }
    case 'wasm': {
      const wasm = (await importModule('@tensorflow/tfjs-backend-wasm')) as typeof import('@tensorflow/tfjs-backend-wasm');
      if (!wasmPathsSet && typeof wasm.setWasmPaths === 'function') {
        // In Node the Emscripten loader reads the binary with fs: a directory path works from sources and dist/.
        wasm.setWasmPaths(wasmBinaryDir());
        wasmPathsSet = true;
      }
      if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') failed");
      return 'wasm';
    }
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error("tf.setBackend('cpu') failed");
      return 'cpu';
  }
}

function candidatesFor(choice: TfjsBackendChoice): TfjsBackendLabel[] {
  switch (choice) {
    case 'auto':
      return ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
    case 'native':
      return ['tensorflow-gpu', 'tensorflow'];
    default:
      return [choice];
  }
}

/**
 * Make a TensorFlow.js backend current and say which. `preferred` (else $DYNSWEEP_TFJS_BACKEND, else 'auto')
 * picks one; 'auto' tries native GPU, native CPU, wasm, cpu in turn; 'native' tries the two native ones.
 */
export async function selectTfjsBackend(
  preferred?: TfjsBackendChoice | string,
  opts: SelectOptions = {},
): Promise<TfjsBackendSelection> {
  const env = opts.env ?? process.env;
  const raw = (preferred ?? env[TFJS_BACKEND_ENV] ?? 'auto').trim().toLowerCase() || 'auto';
  if (!(CHOICES as readonly string[]).includes(raw)) {
    throw new Error(`selectTfjsBackend: unknown backend '${raw}' (from ${preferred !== undefined ? 'argument' : TFJS_BACKEND_ENV}); use one of ${CHOICES.join(', ')}`);
  }
  const choice = raw as TfjsBackendChoice;
  const importModule = opts.importModule ?? defaultImport;
  const skipped: TfjsBackendSelection['skipped'] = [];
  for (const label of candidatesFor(choice)) {
    try {
      const tfBackend = await tryBackend(label, importModule);
      await tf.ready();
      return { label, tfBackend, skipped };
    } catch (e) {
      skipped.push({ label, reason: e instanceof Error ? e.message.split('\n')[0] : String(e) });
    }
  }
  throw new Error(
    `selectTfjsBackend: no usable backend for '${choice}': ${skipped.map((s) => `${s.label}: ${s.reason}`).join('; ')}`,
  );
}

/** The TensorFlow.js engine on the selected backend (see selectTfjsBackend). */
export async function createTfjsEngine(preferred?: TfjsBackendChoice | string): Promise<Engine> {
  const sel = await selectTfjsBackend(preferred);
  const factory = createTfjsKernelFactory({ backendLabel: sel.label, tfBackend: sel.tfBackend });
  const identity = engineIdentity('tfjs');
  return {
    name: identity.name,
    backend: sel.label,
    trainPack: (pack: Pack, hooks?: EngineHooks): Promise<TrialOutcome[]> => trainPack(pack, factory, identity, hooks),
  };
}
