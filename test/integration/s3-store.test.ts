/**
 * S3Store against a real MinIO server (started per file on free loopback ports; see test/support/servers.ts).
 */
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../core/store.js';
import { InvalidKeyError } from '../../storage/keys.js';
import { openStore } from '../../storage/open.js';
import { S3Store, S3StoreError } from '../../storage/s3.js';
import { freePort, type MinioServer, startMinio } from '../support/servers.js';

let minio: MinioServer;
let admin: S3Client;
let run = 0;

/** A fresh store under a unique prefix, configured the standard way: through AWS_* environment variables. */
function freshStore(): S3Store {
  run++;
  return openStore(`s3://${minio.bucket}/t${run}-${Date.now()}`, { s3: { env: minio.env() } }) as S3Store;
}

async function mapLimit<T>(items: T[], limit: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

beforeAll(async () => {
  minio = await startMinio();
  console.log(`[s3-store] minio ready in ${minio.startupMs} ms at ${minio.endpoint}`);
  admin = minio.client();
});

afterAll(async () => {
  admin?.destroy();
  await minio?.stop();
});

describe('S3Store on MinIO', () => {
  it('puts, gets, checks existence and deletes', async () => {
    const s = freshStore();
    await s.put('trials/t1.json', '{"loss":0.5}');
    await s.put('bytes.bin', Uint8Array.from({ length: 256 }, (_, i) => i));
    expect(await s.getText('trials/t1.json')).toBe('{"loss":0.5}');
    const bytes = await s.get('bytes.bin');
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Array.from(bytes!)).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(await s.exists('trials/t1.json')).toBe(true);
    await s.delete('trials/t1.json');
    expect(await s.exists('trials/t1.json')).toBe(false);
    expect(await s.get('trials/t1.json')).toBeNull();
    await s.delete('trials/t1.json'); // deleting a missing key is fine
  });

  it('returns null / false for missing objects', async () => {
    const s = freshStore();
    expect(await s.get('missing.json')).toBeNull();
    expect(await s.getText('deep/missing.json')).toBeNull();
    expect(await s.exists('missing.json')).toBe(false);
  });

  it('stores empty and unicode objects', async () => {
    const s = freshStore();
    await s.put('empty', '');
    expect(await s.get('empty')).toEqual(new Uint8Array(0));
    await s.put('ünï/cödé ✓.json', '{"σ":1}');
    expect(await s.getText('ünï/cödé ✓.json')).toBe('{"σ":1}');
    expect(await s.list('ünï/')).toEqual(['ünï/cödé ✓.json']);
  });

  it('is idempotent: the same key twice is one object', async () => {
    const s = freshStore();
    await s.put('k.json', '{"v":1}');
    await s.put('k.json', '{"v":1}');
    await Promise.all(Array.from({ length: 10 }, () => s.put('k.json', '{"v":2}')));
    expect(await s.list('')).toEqual(['k.json']);
    expect(await s.getText('k.json')).toBe('{"v":2}');
    const raw = await admin.send(new ListObjectsV2Command({ Bucket: minio.bucket, Prefix: `${s.prefix}/` }));
    expect(raw.KeyCount).toBe(1);
  });

  it('sets a content type (given, or guessed from the key)', async () => {
    const s = freshStore();
    await s.put('a.json', '{}');
    await s.put('b.dat', 'x', 'application/x-custom');
    const head = (key: string) => admin.send(new HeadObjectCommand({ Bucket: minio.bucket, Key: `${s.prefix}/${key}` }));
    expect((await head('a.json')).ContentType).toBe('application/json');
    expect((await head('b.dat')).ContentType).toBe('application/x-custom');
  });

  it('round-trips a 5 MiB object', async () => {
    const s = freshStore();
    const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
    await s.put('big.bin', big);
    const got = await s.get('big.bin');
    expect(got?.byteLength).toBe(big.byteLength);
    expect(Buffer.compare(Buffer.from(got!), Buffer.from(big))).toBe(0);
  });

  it('putStream: a small stream is one object, a large one a multipart upload; a failed stream leaves nothing', async () => {
    const s = freshStore();
    async function* chunks(n: number, size: number, failAt = -1) {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new Error('the producer failed');
        yield Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) % 251);
      }
    }
    const expected = (n: number, size: number) => Buffer.concat([...Array(n)].map((_, i) => Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) % 251)));
    await s.putStream('small.bin', chunks(3, 1000));
    expect(Buffer.from((await s.get('small.bin'))!).equals(expected(3, 1000))).toBe(true);
    await s.putStream('large.bin', chunks(20, 1 << 20)); // 20 MiB: three parts of 8 MiB, 8 MiB, 4 MiB
    expect(Buffer.from((await s.get('large.bin'))!).equals(expected(20, 1 << 20))).toBe(true);
    await expect(s.putStream('torn.bin', chunks(20, 1 << 20, 12))).rejects.toThrow(/the producer failed/);
    expect(await s.exists('torn.bin')).toBe(false);
  });

  it('lists sorted keys with string-prefix semantics, relative to the store', async () => {
    const s = freshStore();
    for (const k of ['trials/b.json', 'trials/a.json', 'trials/sub/c.json', 'trials-old/z.json', 'top.json']) await s.put(k, k);
    expect(await s.list('')).toEqual(['top.json', 'trials-old/z.json', 'trials/a.json', 'trials/b.json', 'trials/sub/c.json']);
    expect(await s.list('trials/')).toEqual(['trials/a.json', 'trials/b.json', 'trials/sub/c.json']);
    expect(await s.list('trials')).toHaveLength(4);
    expect(await s.list('nothing/')).toEqual([]);
  });

  it('paginates list() past 1000 keys', async () => {
    const s = freshStore();
    const keys = Array.from({ length: 1234 }, (_, i) => `many/k${String(i).padStart(5, '0')}.json`);
    const t0 = performance.now();
    await mapLimit(keys, 32, (k) => s.put(k, '{}'));
    const putMs = performance.now() - t0;
    let listCalls = 0;
    s.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListObjectsV2Command') listCalls++;
        return next(args);
      },
      { step: 'initialize', name: `countLists${run}` },
    );
    const t1 = performance.now();
    const listed = await s.list('many/');
    console.log(
      `[s3-store] put ${keys.length} keys in ${Math.round(putMs)} ms; listed in ${Math.round(performance.now() - t1)} ms with ${listCalls} ListObjectsV2 calls`,
    );
    expect(listed).toEqual(keys);
    expect(listCalls).toBeGreaterThanOrEqual(2);
    expect(await s.child('many').list('k0120')).toHaveLength(10);
  });

  it('scopes child stores to a sub-prefix', async () => {
    const s = freshStore();
    const sweep = s.child('sweeps/s1');
    expect(sweep.uri).toBe(`${s.uri}/sweeps/s1`);
    await sweep.put('trials/t1.json', '1');
    await s.put('sweeps/s10/trials/t9.json', 'sibling'); // shares the string prefix 'sweeps/s1'
    expect(await s.getText('sweeps/s1/trials/t1.json')).toBe('1');
    expect(await sweep.list('')).toEqual(['trials/t1.json']);
    expect(await sweep.exists('trials/t9.json')).toBe(false);
    const nested: Store = sweep.child('trials/');
    expect(await nested.getText('t1.json')).toBe('1');
    expect(await nested.list('')).toEqual(['t1.json']);
    expect(s.child('')).toBe(s);
    expect(() => s.child('../escape')).toThrow(InvalidKeyError);
  });

  it('validates keys before any request', async () => {
    const s = freshStore();
    for (const key of ['../x', '/abs', 'a//b', '', 'a/']) {
      await expect(s.put(key, 'x')).rejects.toThrow(InvalidKeyError);
      await expect(s.get(key)).rejects.toThrow(InvalidKeyError);
    }
    await expect(s.list('../')).rejects.toThrow(InvalidKeyError);
  });

  it('reads endpoint, credentials and region from process.env by default', async () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, minio.env());
      delete process.env.AWS_ENDPOINT_URL_S3;
      const s = openStore(`s3://${minio.bucket}/from-env`);
      await s.put('x', 'y');
      expect(await s.getText('x')).toBe('y');
      // AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL
      process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:1';
      process.env.AWS_ENDPOINT_URL_S3 = minio.endpoint;
      expect(await openStore(`s3://${minio.bucket}/from-env`).getText('x')).toBe('y');
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

describe('S3Store errors', () => {
  it('gives a clear error for an unknown access key', async () => {
    const s = openStore(`s3://${minio.bucket}/bad-creds`, {
      s3: { env: { ...minio.env(), AWS_ACCESS_KEY_ID: 'nobody', AWS_SECRET_ACCESS_KEY: 'wrong-secret' } },
    });
    for (const op of [() => s.get('k'), () => s.put('k', 'v'), () => s.list(''), () => s.exists('k')]) {
      const err = await op().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(S3StoreError);
      expect((err as Error).message).toMatch(/credentials rejected|access denied/);
      expect((err as Error).message).toMatch(/AWS_ACCESS_KEY_ID/);
      expect((err as Error).message).toContain(minio.endpoint);
    }
  });

  it('gives a clear error for a wrong secret', async () => {
    const s = openStore(`s3://${minio.bucket}/bad-secret`, {
      s3: { env: { ...minio.env(), AWS_SECRET_ACCESS_KEY: 'definitely-wrong' } },
    });
    await expect(s.get('k')).rejects.toThrow(/credentials rejected \(SignatureDoesNotMatch/);
  });

  it('reports a missing bucket (not "missing object"), and creates it only when asked', async () => {
    const name = `auto-${Date.now()}`;
    const plain = openStore(`s3://${name}/p`, { s3: { env: minio.env() } });
    await expect(plain.get('k')).rejects.toMatchObject({ code: 'NoSuchBucket' });
    await expect(plain.exists('k')).rejects.toThrow(/bucket '.*' does not exist/);
    await expect(plain.put('k', 'v')).rejects.toThrow(/createBucket: true/);
    const creating = openStore(`s3://${name}/p`, { s3: { env: minio.env() }, createBucket: true });
    expect(await creating.get('k')).toBeNull();
    await creating.put('k', 'v');
    expect(await plain.getText('k')).toBe('v');
    // a second creator is fine
    await (openStore(`s3://${name}`, { s3: { env: minio.env() }, createBucket: true }) as S3Store).ensureBucket();
  });

  it('reports an unreachable endpoint', async () => {
    const port = await freePort();
    const s = openStore(`s3://${minio.bucket}/x`, {
      s3: { env: { ...minio.env(), AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` }, clientConfig: { maxAttempts: 2 } },
    });
    await expect(s.get('k')).rejects.toThrow(/cannot reach the S3 endpoint \(ECONNREFUSED/);
  });
});
