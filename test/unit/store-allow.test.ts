import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../core/store.js';
import { allowedRoots, allowListed, isUnder, StoreNotAllowedError } from '../../storage/allow.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-allow-'));
const opened: string[] = [];
const fakeOpen = (uri: string) => {
  opened.push(uri);
  return { uri } as Store;
};

describe('store roots a worker may write under', () => {
  it('is the root or below it, at a path or prefix boundary', () => {
    expect(isUnder('s3://b/runs', 's3://b/runs')).toBe(true);
    expect(isUnder('s3://b/runs/x', 's3://b/runs')).toBe(true);
    expect(isUnder('s3://b/runs2/x', 's3://b/runs')).toBe(false);
    expect(isUnder('s3://b/x', 's3://b')).toBe(true);
    expect(isUnder('s3://bb/x', 's3://b')).toBe(false);
    expect(isUnder('/data/sweeps/a', '/data/sweeps')).toBe(true);
    expect(isUnder('/data/sweeps2', '/data/sweeps')).toBe(false);
    expect(isUnder('/data', '/data/sweeps')).toBe(false);
    expect(isUnder('/data/sweeps', 's3://data/sweeps')).toBe(false);
  });

  it('takes SWEEP_STORE (default ./sweeps of the working folder) and SWEEP_STORE_ALLOW, canonical', () => {
    expect(allowedRoots({ env: {}, cwd: dir })).toEqual([path.join(dir, 'sweeps')]);
    expect(allowedRoots({ env: { SWEEP_STORE: 's3://bucket/sweeps/', SWEEP_STORE_ALLOW: ' file:///srv/a , rel ,, s3://other' }, cwd: dir })).toEqual([
      's3://bucket/sweeps',
      '/srv/a',
      path.join(dir, 'rel'),
      's3://other',
    ]);
    expect(() => allowedRoots({ env: { SWEEP_STORE_ALLOW: 'gs://x' } })).toThrow(/SWEEP_STORE_ALLOW: store root "gs:\/\/x".*unsupported/);
  });

  it('opens locations under the roots and refuses the rest, saying how to allow them', () => {
    const open = allowListed(fakeOpen, { env: { SWEEP_STORE: path.join(dir, 'store'), SWEEP_STORE_ALLOW: 's3://bucket/runs' } });
    expect(open(path.join(dir, 'store', 'sweep-1')).uri).toBe(path.join(dir, 'store', 'sweep-1'));
    expect(open('s3://bucket/runs/sweep-1').uri).toBe('s3://bucket/runs/sweep-1');
    opened.length = 0;
    for (const outside of [path.join(dir, 'store', '..', 'elsewhere'), '/etc', 's3://bucket/runs-other/x', 's3://evil/runs']) {
      expect(() => open(outside)).toThrow(StoreNotAllowedError);
    }
    expect(() => open('/etc')).toThrow(/does not write to \/etc: it writes only under .*store, s3:\/\/bucket\/runs\. To allow it, add its root to SWEEP_STORE_ALLOW/);
    expect(opened).toEqual([]); // refused before anything is opened
  });

  it('re-reads an allow file on every check (the local stack adds roots without restarting its worker)', () => {
    const file = path.join(dir, 'stores.allow');
    const open = allowListed(fakeOpen, { env: { SWEEP_STORE: path.join(dir, 'own') }, allowFile: file });
    expect(() => open(path.join(dir, 'added', 'x'))).toThrow(StoreNotAllowedError);
    writeFileSync(file, `# roots of the local stack\n${path.join(dir, 'added')}\n`);
    expect(open(path.join(dir, 'added', 'x')).uri).toBe(path.join(dir, 'added', 'x'));
  });
});
