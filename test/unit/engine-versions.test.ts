/**
 * Engine versions are content hashes of what determines each engine's numbers (core/engines/versions.ts): a
 * changed kernel source, driver, compiler flag or package version gives a new version (and so new trial ids),
 * for exactly the engines it feeds; unchanged inputs give the same version every time.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { computeEngineVersions, ENGINE_INPUTS, engineVersions, type ReadSource } from '../../core/engines/versions.js';
import { trialId } from '../../core/grid/expand.js';
import type { EngineName } from '../../core/types.js';
import { trialConfig } from './science-helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const disk: ReadSource = (rel) => readFileSync(path.join(root, rel), 'utf8');
const ENGINES: EngineName[] = ['reference', 'fast', 'tfjs'];

/** Versions with one file's text changed by `change`. */
function versionsWith(file: string, change: (text: string) => string): Record<EngineName, string> {
  return computeEngineVersions(root, (rel) => (rel === file ? change(disk(rel)) : disk(rel))).versions;
}

/** Which engines' versions differ between a and b. */
const changed = (a: Record<EngineName, string>, b: Record<EngineName, string>) => ENGINES.filter((e) => a[e] !== b[e]);

describe('engine versions', () => {
  const base = computeEngineVersions(root).versions;

  it('are what this process runs with, distinct per engine, and stable', () => {
    expect(engineVersions()).toEqual(base);
    expect(computeEngineVersions(root).versions).toEqual(base);
    for (const e of ENGINES) expect(base[e]).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(ENGINES.map((e) => base[e])).size).toBe(3);
  });

  it.each([
    ['core/engines/reference-kernel.ts', ['reference']],
    ['core/engines/fast-kernel.ts', ['fast']],
    ['asm/fast-kernel.ts', ['fast']],
    ['core/engines/tfjs-kernel.ts', ['tfjs']],
    ['core/sharpness.ts', ['reference', 'fast', 'tfjs']],
    ['core/train.ts', ['reference', 'fast', 'tfjs']],
  ])('a changed %s changes the version of %j only', (file, engines) => {
    const v = versionsWith(file, (t) => t.replace(/\n/, '\n// one changed line\n'));
    expect(changed(base, v)).toEqual(engines);
  });

  it('the fast engine follows its compiler flags, tfjs its package versions', () => {
    const flags = versionsWith('package.json', (t) => t.replace('-O3', '-O2'));
    expect(changed(base, flags)).toEqual(['fast']);
    const tfjs = versionsWith('node_modules/@tensorflow/tfjs-core/package.json', (t) => {
      const p = JSON.parse(t) as { version: string };
      return JSON.stringify({ ...p, version: `${p.version}-other` });
    });
    expect(changed(base, tfjs)).toEqual(['tfjs']);
    expect(ENGINE_INPUTS.fast.scripts).toEqual(['asbuild']);
  });

  it('line endings do not matter (a Windows checkout hashes alike)', () => {
    expect(versionsWith('core/engines/reference-kernel.ts', (t) => t.replace(/\n/g, '\r\n'))).toEqual(base);
  });

  it('enter the trial id: another engine version, another id', () => {
    const cfg = trialConfig({ engine: 'fast' });
    expect(trialId(cfg)).toBe(trialId(trialConfig({ engine: 'fast' })));
    expect(trialId(cfg)).not.toBe(trialId({ ...cfg, engine: 'reference' }));
  });

  it('a missing input is an error, not a silent default', () => {
    expect(() =>
      computeEngineVersions(root, (rel) => {
        if (rel === 'core/engines/tfjs-kernel.ts') throw new Error(`ENOENT: ${rel}`);
        return disk(rel);
      }),
    ).toThrow(/ENOENT/);
    expect(() => versionsWith('package.json', (t) => t.replace('"asbuild"', '"asbuild-renamed"'))).toThrow(/no script 'asbuild'/);
  });
});
