import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../core/prng.js';
import type { MinioServer } from '../support/servers.js';
import { cleanEnv, lastJson, runCli } from '../support/cli.js';
import { startS3Stack, SWEEP_SEARCH_ATTRIBUTES, type S3TestStack } from '../support/stack.js';

/**
 * Data files that are not in the repository, end to end through `sweep start`: a CSV and a Parquet file (Gaussian
 * blobs, 5 classes, 24 features, 304 rows, with a few coinciding rows of different labels so that no classifier
 * fits every row) on the embedded local stack from local paths, and on a Temporal dev server + worker + MinIO from
 * s3:// URIs with the results in S3. Each run checks the threshold level against the achievable accuracy computed
 * here, the engine on every record, the manifest's source and content hashes, and that one changed value gives a
 * new sweep and new trial ids.
 */

const CLASSES = ['k0', 'k1', 'k2', 'k3', 'k4'];
const FEATURES = Array.from({ length: 24 }, (_, i) => `f${i + 1}`);

interface Row {
  x: number[];
  label: string;
}

/** Blobs around well-separated centres, four decimals (what the CSV holds, so both formats carry the same numbers). */
function blobs(perClass: number, stream: string): Row[] {
  const centres = createRng(7, 'real-data-test/centres');
  const noise = createRng(7, stream);
  const mid = CLASSES.map(() => FEATURES.map(() => 3 * centres.normal()));
  const rows: Row[] = [];
  for (let i = 0; i < perClass; i++) {
    for (let c = 0; c < CLASSES.length; c++) rows.push({ x: mid[c].map((m) => Number((m + noise.normal()).toFixed(4))), label: CLASSES[c] });
  }
  return rows;
}

/** Training rows: blobs plus rows that coincide with others (two with other labels than the original, one with its own). */
function trainingRows(): Row[] {
  const rows = blobs(60, 'real-data-test/train');
  const at = (i: number) => rows[i].x.slice();
  // rows[0] is k0: with two k1 copies, the group {k0, k1, k1} allows 2 of 3; rows[2] (k2) with a k3 copy allows 1 of 2;
  // rows[4] (k4) with a k4 copy is a plain duplicate and costs nothing.
  rows.splice(37, 0, { x: at(0), label: 'k1' });
  rows.splice(101, 0, { x: at(0), label: 'k1' }, { x: at(2), label: 'k3' });
  rows.push({ x: at(4), label: 'k4' });
  return rows;
}

/** The best accuracy any classifier reaches on `rows`, computed independently of the product: per input, its most common label. */
function ceiling(rows: Row[]): { correct: number; points: number } {
  const groups = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const key = r.x.map(String).join(',');
    const counts = groups.get(key) ?? new Map<string, number>();
    counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
    groups.set(key, counts);
  }
  let correct = 0;
  for (const counts of groups.values()) correct += Math.max(...counts.values());
  return { correct, points: rows.length };
}

const csvOf = (rows: Row[]) => `${[...FEATURES, 'label'].join(',')}\n${rows.map((r) => `${r.x.map((v) => v.toFixed(4)).join(',')},${r.label}`).join('\n')}\n`;

function parquetOf(rows: Row[]): Uint8Array {
  const buffer = parquetWriteBuffer({
    columnData: [
      ...FEATURES.map((name, k) => ({ name, data: rows.map((r) => r.x[k]), type: 'DOUBLE' as const })),
      { name: 'label', data: rows.map((r) => r.label), type: 'STRING' as const },
    ],
  });
  return new Uint8Array(buffer);
}

const bytesOf = (format: Format, rows: Row[]): Uint8Array => (format === 'csv' ? new TextEncoder().encode(csvOf(rows)) : parquetOf(rows));

type Format = 'csv' | 'parquet';

/** Tiny trials: ce against dce, widths 2, 8, 32, two seeds; the default criterion (training accuracy at the achievable level). */
const grid = (name: string, train: string, validation: string) => `name: ${name}
dataset:
  kind: file
  path: ${train}
  validation: { path: ${validation} }
training:
  steps: 300
  finalStaticSteps: 50
  evalEvery: 50
  sharpnessEvery: 150
grid:
  width: [2, 8, 32]
  lr: [0.5]
  loss: [ce, dce]
  period: [20]
  amplitude: [5]
  seed: [0, 1]
threshold:
  bootstrap: 100
`;

interface Started {
  sweepId: string;
  status: string;
  trials: number;
  completed: number;
  failed: number;
  resultsUri: string;
}

interface Results {
  thresholds: { level: number; achievable: { trainAcc: number } };
  manifest: { dataset: { kind: string; format: string; source: { train: string; validation: string }; contentHash: { train: string; validation: string } }; achievable: { train: { correct: number; points: number } } };
  records: { trialId: string; engine: { name: string; backend: string }; final: { trainAcc: number }; config: { dataset: { contentHash: { train: string } } } }[];
}

const sha256 = async (bytes: Uint8Array) => Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');

/** What every run must show: completed, the level at the ceiling computed here, the fast engine, the data's source and hash. */
async function checkRun(out: Started, results: Results, expected: { format: Format; train: string; validation: string; trainBytes: Uint8Array; ceiling: { correct: number; points: number } }) {
  expect(out).toMatchObject({ status: 'completed', failed: 0, trials: 12, completed: 12 });
  const level = expected.ceiling.correct / expected.ceiling.points;
  expect(level).toBeLessThan(1);
  expect(results.thresholds.level).toBeCloseTo(level, 12);
  expect(results.thresholds.achievable.trainAcc).toBeCloseTo(level, 12);
  expect(results.manifest.achievable.train).toMatchObject(expected.ceiling);
  const hash = await sha256(expected.trainBytes);
  expect(results.manifest.dataset).toMatchObject({ kind: 'file', format: expected.format, source: { train: expected.train, validation: expected.validation }, contentHash: { train: hash } });
  expect(results.records).toHaveLength(12);
  for (const r of results.records) {
    // The native kernels serve the spirals' shape only: 24 features run on WebAssembly.
    expect(r.engine).toMatchObject({ name: 'fast', backend: 'wasm-simd' });
    expect(r.config.dataset.contentHash.train).toBe(hash);
    // No classifier beats the ceiling; a wrong (too low) ceiling would show here.
    expect(r.final.trainAcc).toBeLessThanOrEqual(level + 1e-9);
  }
  // The widest networks fit what can be fit: the level is reachable, not only an upper bound.
  expect(results.records.some((r) => Math.abs(r.final.trainAcc - level) < 1e-9)).toBe(true);
}

/** One feature value of a row that coincides with no other, one digit changed: the CSV differs in one byte. */
function changedOne(rows: Row[]): Row[] {
  const out = rows.map((r) => ({ x: r.x.slice(), label: r.label }));
  const v = out[10].x[3];
  out[10].x[3] = Number((v + (v.toFixed(4).endsWith('9') ? -0.0001 : 0.0001)).toFixed(4));
  return out;
}

const trainRows = trainingRows();
const validationRows = blobs(20, 'real-data-test/validation');
const trainCeiling = ceiling(trainRows);

describe('real data files end to end', () => {
  it('the files are what the test claims: coinciding rows, a ceiling below 1, one changed byte', () => {
    expect(trainRows).toHaveLength(304);
    expect(trainCeiling).toEqual({ correct: 302, points: 304 });
    const a = csvOf(trainRows);
    const b = csvOf(changedOne(trainRows));
    expect(a.length).toBe(b.length);
    expect([...a].filter((ch, i) => ch !== b[i])).toHaveLength(1);
    expect(ceiling(changedOne(trainRows))).toEqual(trainCeiling);
  });

  describe('on the embedded local stack, from local paths', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-home-'));
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-real-'));
    const env = cleanEnv({ DYNSWEEP_HOME: home });

    afterAll(async () => {
      await runCli(['local', 'down'], env, 60_000, cwd);
    });

    const read = (dir: string): Results => ({
      thresholds: JSON.parse(readFileSync(path.join(dir, 'thresholds.json'), 'utf8')),
      manifest: JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')),
      records: readdirSync(path.join(dir, 'trials')).map((f) => JSON.parse(readFileSync(path.join(dir, 'trials', f), 'utf8'))),
    });

    for (const format of ['csv', 'parquet'] as const) {
      it(`a ${format} file: completed at the achievable level, fast engine, source and hash; one changed value is a new sweep`, async () => {
        const train = path.join(cwd, `train.${format}`);
        const validation = path.join(cwd, `validation.${format}`);
        const trainBytes = bytesOf(format, trainRows);
        writeFileSync(train, trainBytes);
        writeFileSync(validation, bytesOf(format, validationRows));
        const file = path.join(cwd, `${format}.yaml`);
        writeFileSync(file, grid(`real-${format}`, `train.${format}`, `validation.${format}`));

        const run = await runCli(['start', file, '--wait', '--json'], env, 600_000, cwd);
        expect(run.code, run.stderr).toBe(0);
        const out = lastJson<Started>(run);
        expect(out.resultsUri).toBe(path.join(cwd, 'sweeps', out.sweepId));
        const first = read(out.resultsUri);
        await checkRun(out, first, { format, train, validation, trainBytes, ceiling: trainCeiling });

        const changedBytes = bytesOf(format, changedOne(trainRows));
        writeFileSync(train, changedBytes);
        const again = await runCli(['start', file, '--wait', '--json'], env, 600_000, cwd);
        expect(again.code, again.stderr).toBe(0);
        const out2 = lastJson<Started>(again);
        expect(out2.sweepId).not.toBe(out.sweepId);
        const second = read(out2.resultsUri);
        await checkRun(out2, second, { format, train, validation, trainBytes: changedBytes, ceiling: trainCeiling });
        const firstIds = new Set(first.records.map((r) => r.trialId));
        expect(second.records.filter((r) => firstIds.has(r.trialId))).toEqual([]);
      }, 1_200_000);
    }
  });

  describe('on a Temporal dev server and MinIO, from s3:// URIs', () => {
    let stack: S3TestStack;
    let minio: MinioServer;
    let env: NodeJS.ProcessEnv;
    let dir: string;

    beforeAll(async () => {
      stack = await startS3Stack('dynsweep-real-s3-', SWEEP_SEARCH_ATTRIBUTES);
      ({ minio, env, dir } = stack);
    });

    afterAll(async () => {
      await stack?.stop();
    });

    const put = (key: string, body: Uint8Array) => minio.client().send(new PutObjectCommand({ Bucket: minio.bucket, Key: key, Body: body }));
    const getJson = async (key: string) => JSON.parse(await (await minio.client().send(new GetObjectCommand({ Bucket: minio.bucket, Key: key }))).Body!.transformToString());
    async function read(uri: string, trials: number): Promise<Results> {
      const prefix = uri.replace(`s3://${minio.bucket}/`, '');
      const manifest = await getJson(`${prefix}/manifest.json`);
      const ids: string[] = [];
      for (let p = 0; p < manifest.packCount; p++) ids.push(...(await getJson(`${prefix}/plan/packs/${String(p).padStart(6, '0')}.json`)).trials.map((t: { id: string }) => t.id));
      expect(ids).toHaveLength(trials);
      return {
        thresholds: await getJson(`${prefix}/thresholds.json`),
        manifest,
        records: await Promise.all(ids.map((id) => getJson(`${prefix}/trials/${id}.json`))),
      };
    }

    for (const format of ['csv', 'parquet'] as const) {
      it(`a ${format} file in S3, results in S3: completed at the achievable level, fast engine, source and hash; one changed value is a new sweep`, async () => {
        const train = `s3://${minio.bucket}/data/train.${format}`;
        const validation = `s3://${minio.bucket}/data/validation.${format}`;
        const trainBytes = bytesOf(format, trainRows);
        await put(`data/train.${format}`, trainBytes);
        await put(`data/validation.${format}`, bytesOf(format, validationRows));
        const file = path.join(dir, `${format}.yaml`);
        writeFileSync(file, grid(`real-s3-${format}`, train, validation));
        const store = `s3://${minio.bucket}/runs`;

        const run = await runCli(['start', file, '--wait', '--json', '--store', store], env, 600_000);
        expect(run.code, run.stderr).toBe(0);
        const out = lastJson<Started>(run);
        expect(out.resultsUri).toBe(`${store}/${out.sweepId}`);
        const first = await read(out.resultsUri, out.trials);
        await checkRun(out, first, { format, train, validation, trainBytes, ceiling: trainCeiling });

        // The same key, other bytes: the location is not the identity, the content is.
        const changedBytes = bytesOf(format, changedOne(trainRows));
        await put(`data/train.${format}`, changedBytes);
        const again = await runCli(['start', file, '--wait', '--json', '--store', store], env, 600_000);
        expect(again.code, again.stderr).toBe(0);
        const out2 = lastJson<Started>(again);
        expect(out2.sweepId).not.toBe(out.sweepId);
        const second = await read(out2.resultsUri, out2.trials);
        await checkRun(out2, second, { format, train, validation, trainBytes: changedBytes, ceiling: trainCeiling });
        const firstIds = new Set(first.records.map((r) => r.trialId));
        expect(second.records.filter((r) => firstIds.has(r.trialId))).toEqual([]);
      }, 1_200_000);
    }
  });
});
