/**
 * Engine versions that cannot go stale: each engine's version is a content hash of what determines its numbers
 * (ENGINE_INPUTS: its kernel sources, the generic driver they run under, the packages they compute with and the
 * build command of compiled code). It enters every trial id (core/grid/expand.ts codeVersions), so a record
 * computed by other code is never served as current, and nobody has to remember to bump anything.
 *
 * Where the hash comes from:
 * - running from the sources (vitest, tools): hashed at load from those sources, so it is the code that runs;
 * - running from dist/ (the CLI, workers, container images without sources): read from dist/engine-versions.json,
 *   written by the build (`npm run build` runs scripts/engine-versions.mjs after tsc) from the sources dist/ was
 *   compiled from; a dist/ without it fails loudly.
 * The data generator and the initialisation have versions of their own (core/data.ts, core/model.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { contentHash } from '../hash.js';
import type { EngineName } from '../types.js';

export interface EngineInputs {
  /** Repository-relative source files. */
  files: string[];
  /** npm packages whose installed version enters the hash. */
  packages: string[];
  /** package.json scripts whose command line enters the hash (compiler flags). */
  scripts: string[];
}

/** The generic driver every engine runs under: schedule, cadence, sharpness (Lanczos and its seeded starts). */
const DRIVER = ['core/kernel.ts', 'core/train.ts', 'core/sharpness.ts', 'core/linalg.ts', 'core/schedule.ts', 'core/prng.ts'];

export const ENGINE_INPUTS: Record<EngineName, EngineInputs> = {
  reference: { files: [...DRIVER, 'core/engines/reference-kernel.ts'], packages: [], scripts: [] },
  // The wasm binary is a function of its AssemblyScript source, the compiler version and the asbuild flags.
  fast: { files: [...DRIVER, 'core/engines/fast-kernel.ts', 'asm/fast-kernel.ts'], packages: ['assemblyscript'], scripts: ['asbuild'] },
  tfjs: {
    files: [...DRIVER, 'core/engines/tfjs-kernel.ts', 'core/engines/tfjs.ts'],
    packages: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm'],
    scripts: [],
  },
};

/** What dist/engine-versions.json holds. */
export interface BuiltEngineVersions {
  versions: Record<EngineName, string>;
  /** Per engine, the hash of every input (files: sha256 of their text; packages: versions; scripts: commands). */
  inputs: Record<EngineName, Record<string, string>>;
}

export const ENGINE_VERSIONS_FILE = 'engine-versions.json';

/** Text of a repository file, line endings normalised (a Windows checkout hashes alike). */
export type ReadSource = (relativePath: string) => string;

/** Versions (and their inputs) of every engine from the repository at `root`; `read` overrides file access (tests). */
export function computeEngineVersions(root: string, read?: ReadSource): BuiltEngineVersions {
  const readText: ReadSource = read ?? ((rel) => readFileSync(path.join(root, rel), 'utf8'));
  const pkg = JSON.parse(readText('package.json')) as { scripts?: Record<string, string> };
  const versions = {} as Record<EngineName, string>;
  const inputs = {} as Record<EngineName, Record<string, string>>;
  for (const name of Object.keys(ENGINE_INPUTS) as EngineName[]) {
    const spec = ENGINE_INPUTS[name];
    const entry: Record<string, string> = {};
    for (const f of spec.files) {
      entry[f] = createHash('sha256').update(readText(f).replace(/\r\n/g, '\n')).digest('hex');
    }
    for (const p of spec.packages) {
      const version = (JSON.parse(readText(`node_modules/${p}/package.json`)) as { version?: string }).version;
      if (!version) throw new Error(`engine versions: no version in node_modules/${p}/package.json`);
      entry[`npm:${p}`] = version;
    }
    for (const s of spec.scripts) {
      const cmd = pkg.scripts?.[s];
      if (!cmd) throw new Error(`engine versions: package.json has no script '${s}'`);
      entry[`script:${s}`] = cmd;
    }
    inputs[name] = entry;
    versions[name] = contentHash({ engine: name, inputs: entry });
  }
  return { versions, inputs };
}

const here = fileURLToPath(import.meta.url);
/** From sources this file is core/engines/versions.ts; built, dist/core/engines/versions.js. */
const fromSources = here.endsWith('.ts');
const twoUp = path.resolve(path.dirname(here), '..', '..');

let current: Readonly<Record<EngineName, string>> | null = null;

/** The versions of the engines this process runs (see the header for where they come from). */
export function engineVersions(): Readonly<Record<EngineName, string>> {
  if (current === null) {
    if (fromSources) {
      current = Object.freeze(computeEngineVersions(twoUp).versions);
    } else {
      const file = path.join(twoUp, ENGINE_VERSIONS_FILE);
      if (!existsSync(file)) {
        throw new Error(`engine versions: ${file} is missing; build with \`npm run build\` (it runs scripts/engine-versions.mjs)`);
      }
      current = Object.freeze((JSON.parse(readFileSync(file, 'utf8')) as BuiltEngineVersions).versions);
    }
  }
  return current;
}

/** What a trial record names as the engine that trained it (core/train.ts), less the backend the kernel reports. */
export function engineIdentity(name: EngineName): { name: EngineName; version: string } {
  const version = engineVersions()[name];
  if (!version) throw new Error(`engine versions: no version for engine '${name}'`);
  return { name, version };
}
