import { mkdtemp, readdir, rm, writeFile, mkdir, symlink } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidKeyError, validateKey, validatePrefix } from '../../storage/keys.js';
import { LocalStore } from '../../storage/local.js';
import { openStore } from '../../storage/open.js';
import { S3Store } from '../../storage/s3.js';

let root: string;
let store: LocalStore;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'dynsweep-local-store-'));
  store = new LocalStore(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (ent.isFile()) out.push(path.relative(dir, path.join(ent.parentPath, ent.name)));
  }
  return out.sort();
}

describe('LocalStore basics', () => {
  it('round-trips strings and bytes', async () => {
    await store.put('a.txt', 'hello');
    await store.put('bin/all-bytes', Uint8Array.from({ length: 256 }, (_, i) => i));
    expect(await store.getText('a.txt')).toBe('hello');
    const bytes = await store.get('bin/all-bytes');
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Array.from(bytes!)).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(await store.get('a.txt')).toEqual(new Uint8Array(Buffer.from('hello')));
  });

  it('stores the empty object and unicode content/keys', async () => {
    await store.put('empty', '');
    expect(await store.get('empty')).toEqual(new Uint8Array(0));
    expect(await store.exists('empty')).toBe(true);
    await store.put('ünï/cödé ✓.json', '{"σ":1}');
    expect(await store.getText('ünï/cödé ✓.json')).toBe('{"σ":1}');
    expect(await store.list('ünï/')).toEqual(['ünï/cödé ✓.json']);
  });

  it('returns null / false for missing objects', async () => {
    expect(await store.get('nope.json')).toBeNull();
    expect(await store.getText('deep/er/nope.json')).toBeNull();
    expect(await store.exists('nope.json')).toBe(false);
    await store.put('dir/file', 'x');
    // a "folder" is not an object
    expect(await store.get('dir')).toBeNull();
    expect(await store.exists('dir')).toBe(false);
    // a path *through* a file is simply missing
    expect(await store.get('dir/file/under')).toBeNull();
  });

  it('is idempotent: putting a key twice leaves one object with the last content', async () => {
    await store.put('trials/t1.json', '{"v":1}');
    await store.put('trials/t1.json', '{"v":1}');
    expect(await store.list('')).toEqual(['trials/t1.json']);
    await store.put('trials/t1.json', '{"v":2}');
    expect(await store.getText('trials/t1.json')).toBe('{"v":2}');
    expect(await allFiles(root)).toEqual(['trials/t1.json']);
  });

  it('writes atomically: concurrent puts of one key leave one complete object and no temp files', async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => `${i}:`.padEnd(64 * 1024, String.fromCharCode(97 + (i % 26))));
    await Promise.all(bodies.map((b) => store.put('race/key.txt', b)));
    const got = await store.getText('race/key.txt');
    expect(bodies).toContain(got);
    expect(await allFiles(root)).toEqual(['race/key.txt']);
  });

  it('never exposes temp files in list()', async () => {
    await store.put('a/x', '1');
    // a leftover from a crashed writer
    await writeFile(path.join(root, 'a', '.dynsweep-tmp-x.123.abc'), 'partial');
    expect(await store.list('')).toEqual(['a/x']);
    await expect(store.put('a/.dynsweep-tmp-y', '1')).rejects.toThrow(InvalidKeyError);
  });

  it('deletes, and deleting a missing key is a no-op', async () => {
    await store.put('d/k', 'v');
    await store.delete('d/k');
    expect(await store.exists('d/k')).toBe(false);
    await store.delete('d/k');
    await store.delete('never/was');
    await store.delete('d'); // a folder: nothing happens
    expect(await store.list('')).toEqual([]);
  });

  it('reports the absolute root as uri and rejects relative roots', () => {
    expect(store.uri).toBe(root);
    expect(path.isAbsolute(store.uri)).toBe(true);
    expect(() => new LocalStore('relative/dir')).toThrow(/absolute/);
  });

  it('gives a clear error when a key is both an object and a folder', async () => {
    await store.put('conflict', 'x');
    await expect(store.put('conflict/child', 'y')).rejects.toThrow(/cannot be both an object and a prefix/);
  });

  it('works without fsync too', async () => {
    const s = new LocalStore(root, { fsync: false });
    await s.put('nofsync', 'ok');
    expect(await s.getText('nofsync')).toBe('ok');
  });
});

describe('LocalStore.list', () => {
  beforeEach(async () => {
    for (const k of ['trials/b.json', 'trials/a.json', 'trials/sub/c.json', 'trials-old/z.json', 'top.json', 'trialsx']) {
      await store.put(k, k);
    }
  });

  it('lists everything, sorted, with "" ', async () => {
    expect(await store.list('')).toEqual([
      'top.json',
      'trials-old/z.json',
      'trials/a.json',
      'trials/b.json',
      'trials/sub/c.json',
      'trialsx',
    ]);
  });

  it('uses plain string-prefix semantics, like S3', async () => {
    expect(await store.list('trials/')).toEqual(['trials/a.json', 'trials/b.json', 'trials/sub/c.json']);
    expect(await store.list('trials')).toEqual([
      'trials-old/z.json',
      'trials/a.json',
      'trials/b.json',
      'trials/sub/c.json',
      'trialsx',
    ]);
    expect(await store.list('trials/a')).toEqual(['trials/a.json']);
    expect(await store.list('trials/sub/')).toEqual(['trials/sub/c.json']);
    expect(await store.list('trials/s')).toEqual(['trials/sub/c.json']);
    expect(await store.list('top.json')).toEqual(['top.json']);
  });

  it('returns [] for a prefix with no objects, and for a missing root', async () => {
    expect(await store.list('nothing/here/')).toEqual([]);
    expect(await store.list('top.json/')).toEqual([]);
    expect(await new LocalStore(path.join(root, 'does-not-exist')).list('')).toEqual([]);
  });

  it('follows symlinked folders and files', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'dynsweep-local-link-'));
    try {
      await mkdir(path.join(outside, 'inner'));
      await writeFile(path.join(outside, 'inner', 'f.txt'), 'linked');
      await symlink(outside, path.join(root, 'linked'));
      expect(await store.list('linked/')).toEqual(['linked/inner/f.txt']);
      expect(await store.getText('linked/inner/f.txt')).toBe('linked');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('LocalStore.child', () => {
  it('scopes keys to a sub-folder', async () => {
    const sweep = store.child('sweeps/s1');
    expect(sweep.uri).toBe(path.join(root, 'sweeps', 's1'));
    await sweep.put('trials/t1.json', '1');
    await store.put('sweeps/s10/trials/t9.json', 'sibling');
    expect(await store.getText('sweeps/s1/trials/t1.json')).toBe('1');
    expect(await sweep.list('')).toEqual(['trials/t1.json']);
    expect(await sweep.exists('trials/t1.json')).toBe(true);
    expect(await sweep.get('../s10/trials/t9.json').catch((e: unknown) => e)).toBeInstanceOf(InvalidKeyError);
  });

  it('accepts a trailing slash, nests, and child("") is the same store', async () => {
    const a = store.child('a/');
    const ab = a.child('b');
    await ab.put('k', 'v');
    expect(await store.list('')).toEqual(['a/b/k']);
    expect(ab.uri).toBe(path.join(root, 'a', 'b'));
    expect(store.child('')).toBe(store);
  });

  it('rejects escaping prefixes', () => {
    expect(() => store.child('../up')).toThrow(InvalidKeyError);
    expect(() => store.child('/abs')).toThrow(InvalidKeyError);
    expect(() => store.child('a/../../b')).toThrow(InvalidKeyError);
  });
});

describe('key validation', () => {
  const bad = ['', '/abs', '../x', 'a/../b', 'a/..', '..', './a', 'a/./b', 'a//b', 'a/', 'a\\b', 'a\u0000b', 'a\nb', 'x'.repeat(1025)];
  it.each(bad)('rejects key %j everywhere', async (key) => {
    expect(() => validateKey(key)).toThrow(InvalidKeyError);
    await expect(store.put(key, 'x')).rejects.toThrow(InvalidKeyError);
    await expect(store.get(key)).rejects.toThrow(InvalidKeyError);
    await expect(store.exists(key)).rejects.toThrow(InvalidKeyError);
    await expect(store.delete(key)).rejects.toThrow(InvalidKeyError);
  });

  it('writes nothing outside the root for rejected keys', async () => {
    const parent = path.dirname(root);
    const before = (await readdir(parent)).sort();
    await store.put('../escape', 'x').catch(() => undefined);
    expect((await readdir(parent)).sort()).toEqual(before);
  });

  it('accepts ordinary keys, including dots inside names', () => {
    for (const k of ['a', 'a/b/c.json', 'v1..2.json', '.hidden', 'a/.b', 'ünï/✓', 'x'.repeat(1024)]) expect(validateKey(k)).toBe(k);
  });

  it('validates list prefixes', async () => {
    for (const p of ['', 'a', 'a/', 'a/b/']) expect(validatePrefix(p)).toBe(p);
    for (const p of ['/', '/a', '../', 'a//', 'a/../']) {
      expect(() => validatePrefix(p)).toThrow(InvalidKeyError);
      await expect(store.list(p)).rejects.toThrow(InvalidKeyError);
    }
  });

  it('names the key and the reason in the message', () => {
    expect(() => validateKey('../x')).toThrow(/invalid store key "\.\.\/x": must not contain '\.\.' segments/);
    expect(() => validateKey('/x')).toThrow(/must not start with '\/'/);
  });
});

describe('openStore', () => {
  it('opens absolute paths, file:// URLs and relative paths as local stores', () => {
    const abs = openStore(root);
    expect(abs).toBeInstanceOf(LocalStore);
    expect(abs.uri).toBe(root);
    expect(openStore(pathToFileURL(root).href).uri).toBe(root);
    expect(openStore(`file://${root}`).uri).toBe(root);
    expect(openStore('results/x', { cwd: root }).uri).toBe(path.join(root, 'results', 'x'));
    expect(openStore('./results/../y', { cwd: root }).uri).toBe(path.join(root, 'y'));
    expect(openStore('rel').uri).toBe(path.join(process.cwd(), 'rel'));
    expect(openStore('~/sweeps').uri).toBe(path.join(homedir(), 'sweeps'));
  });

  it('decodes percent-escapes in file URLs', () => {
    expect(openStore('file:///tmp/with%20space').uri).toBe('/tmp/with space');
  });

  it('opens s3:// URIs as S3 stores without touching the network', () => {
    const s = openStore('s3://my-bucket/some/prefix/', { s3: { region: 'us-east-1' } });
    expect(s).toBeInstanceOf(S3Store);
    expect(s.uri).toBe('s3://my-bucket/some/prefix');
    expect((s as S3Store).bucket).toBe('my-bucket');
    expect((s as S3Store).prefix).toBe('some/prefix');
    expect(openStore('s3://my-bucket').uri).toBe('s3://my-bucket');
    expect(s.child('sweep-1/').uri).toBe('s3://my-bucket/some/prefix/sweep-1');
  });

  it('rejects bad and unsupported locations with clear errors', () => {
    expect(() => openStore('')).toThrow(/empty/);
    expect(() => openStore('   ')).toThrow(/empty/);
    expect(() => openStore('gs://bucket/x')).toThrow(/unsupported store URI scheme 'gs:'.*s3:\/\/bucket\/prefix, file:\/\/\/absolute\/path, or a filesystem path/);
    expect(() => openStore('http://example.com/x')).toThrow(/unsupported store URI scheme 'http:'/);
    expect(() => openStore('file://somehost/x')).toThrow(/bad file store URI/);
    expect(() => openStore('s3://')).toThrow(/invalid S3 bucket name/);
    expect(() => openStore('s3://Bad_Bucket/x')).toThrow(/invalid S3 bucket name/);
    expect(() => openStore('s3:/bucket')).toThrow(/malformed S3 store URI/);
    expect(() => openStore('s3://bucket/a/../b')).toThrow(InvalidKeyError);
  });
});
