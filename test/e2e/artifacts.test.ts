import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { MinioServer } from '../support/servers.js';
import { lastJson, runCli } from '../support/cli.js';
import { startS3Stack, type S3TestStack } from '../support/stack.js';

const execFileP = promisify(execFile);
const VERIFIER = path.resolve('tools/verify_artifact.py');

/** Every loss, two widths, a learning rate that trains and one that blows up; the last step sits mid-period (Gamma != 1). */
function artifactGrid(engine: 'fast' | 'reference'): string {
  return `name: artifacts-${engine}
dataset:
  pointsPerClass: 50
  revolutions: 2
training:
  steps: 300
  finalStaticSteps: 0
  evalEvery: 50
  sharpnessEvery: 100
grid:
  width: [3, 16]
  lr: [0.5, 8]
  loss: [ce, dce, mse, dmse1, dmse2]
  period: [40]
  amplitude: [3]
  seed: [0, 1]
threshold:
  level: 0.9
  bootstrap: 100
engine: ${engine}
execution:
  packSize: 8
`;
}

interface VerifyResult {
  artifact: string;
  ok: boolean;
  failures: string[];
  warnings: string[];
  loss: string;
  width: number;
  gamma: number[];
  engine: string;
  diverged: boolean;
  relErr: { static: number; dynamic: number };
  lambdaMax: { static: number; dynamic: number };
  fdMaxRelDiff: number | null;
  record: string | null;
}

/**
 * Stored artifacts checked by an independent implementation (tools/verify_artifact.py, numpy): the dense
 * Hessian's lambda_max must match finalSharpness to 1e-3 relative, and each record must agree with its artifact.
 */
describe('artifacts through the real stack, checked by an independent numpy implementation', () => {
  let stack: S3TestStack;
  let minio: MinioServer;
  let env: NodeJS.ProcessEnv;
  let dir: string;

  beforeAll(async () => {
    stack = await startS3Stack('dynsweep-artifacts-');
    ({ minio, env, dir } = stack);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** Copy every object under `prefix` into `to`, keeping the relative keys. */
  async function download(prefix: string, to: string): Promise<number> {
    const client = minio.client();
    let n = 0;
    try {
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: minio.bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          const body = await client.send(new GetObjectCommand({ Bucket: minio.bucket, Key: o.Key! }));
          const file = path.join(to, o.Key!.slice(prefix.length));
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, await body.Body!.transformToString());
          n++;
        }
        token = page.NextContinuationToken;
      } while (token);
    } finally {
      client.destroy();
    }
    return n;
  }

  async function verify(sweepDir: string): Promise<{ code: number; out: { ok: boolean; checked: number; failed: number; maxRelErr: number; results: VerifyResult[] } }> {
    try {
      const { stdout } = await execFileP('python3', [VERIFIER, '--sweep', sweepDir], { maxBuffer: 64 << 20 });
      return { code: 0, out: JSON.parse(stdout) };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      if (e.code === 1 && e.stdout) return { code: 1, out: JSON.parse(e.stdout) };
      throw new Error(`verify_artifact.py failed to run: ${e.stderr ?? String(err)}`);
    }
  }

  it.each(['fast', 'reference'] as const)('%s engine: every stored artifact matches the dense float64 Hessian to 1e-3', { timeout: 400_000 }, async (engine) => {
    const grid = path.join(dir, `${engine}.yaml`);
    writeFileSync(grid, artifactGrid(engine));
    const run = await runCli(['start', grid, '--wait', '--json', '--store', `s3://${minio.bucket}/runs`], env, 360_000);
    expect(run.code, run.stderr).toBe(0);
    const sweep = lastJson<{ sweepId: string; trials: number; completed: number; status: string }>(run);
    expect(sweep).toMatchObject({ status: 'completed', trials: 40, completed: 40 });

    const local = path.join(dir, sweep.sweepId);
    await download(`runs/${sweep.sweepId}/`, local);
    const { code, out } = await verify(local);
    const failures = out.results.filter((r) => !r.ok).map((r) => `${r.artifact}: ${r.failures.join('; ')}`);
    expect(failures, failures.join('\n')).toEqual([]);
    expect(code).toBe(0);
    expect(out).toMatchObject({ ok: true, checked: 40, failed: 0 });
    expect(out.maxRelErr).toBeLessThanOrEqual(1e-3);

    for (const r of out.results) {
      // Every artifact was checked together with its record, on the engine the grid asked for.
      expect(r.record).not.toBeNull();
      expect(r.engine).toBe(engine);
      expect(r.relErr.static).toBeLessThanOrEqual(1e-3);
      expect(r.relErr.dynamic).toBeLessThanOrEqual(1e-3);
      const rec = JSON.parse(readFileSync(r.record!, 'utf8')) as { config: { loss: string }; final: { sharpnessDynamic: number; sharpnessStatic: number } };
      expect(rec.config.loss).toBe(r.loss);
    }
    // The last step is mid-period, so every dynamical trial that did not diverge has Gamma != 1, and (unless every
    // hidden unit died, when both Hessians reduce to the same b2 block on balanced classes) two different Hessians.
    const dynamical = out.results.filter((r) => ['dce', 'dmse1', 'dmse2'].includes(r.loss) && !r.diverged);
    expect(dynamical.length).toBeGreaterThan(0);
    for (const r of dynamical) expect(r.gamma.some((g) => Math.abs(g - 1) > 0.1)).toBe(true);
    const distinct = dynamical.filter((r) => Math.abs(r.lambdaMax.dynamic - r.lambdaMax.static) > 1e-6 * Math.abs(r.lambdaMax.static));
    expect(distinct.length).toBeGreaterThanOrEqual(dynamical.length / 2);
    // The analytic numpy Hessian itself was checked against finite differences on most artifacts.
    expect(out.results.filter((r) => r.fdMaxRelDiff !== null).length).toBeGreaterThanOrEqual(20);
    // Both losses' families and both widths were covered.
    expect(new Set(out.results.map((r) => r.loss))).toEqual(new Set(['ce', 'dce', 'mse', 'dmse1', 'dmse2']));
    expect(new Set(out.results.map((r) => r.width))).toEqual(new Set([3, 16]));
  });

  it('the verifier rejects an artifact whose stored sharpness is off by 0.2%', async () => {
    // Independent of the sweeps above: take any artifact the fast sweep stored, tamper with it, expect exit 1.
    const local = mkdtempSync(path.join(dir, 'tampered-'));
    const grid = path.join(dir, 'tamper.yaml');
    writeFileSync(grid, artifactGrid('fast').replace('width: [3, 16]', 'width: [3]').replace('lr: [0.5, 8]', 'lr: [0.5]').replace('seed: [0, 1]', 'seed: [0]'));
    const run = await runCli(['start', grid, '--wait', '--json', '--store', `s3://${minio.bucket}/tamper`], env, 240_000);
    expect(run.code, run.stderr).toBe(0);
    const { sweepId } = lastJson<{ sweepId: string }>(run);
    await download(`tamper/${sweepId}/`, local);
    const good = await verify(local);
    expect(good.code).toBe(0);
    const file = good.out.results[0].artifact;
    const art = JSON.parse(readFileSync(file, 'utf8')) as { finalSharpness: { static: number } };
    art.finalSharpness.static *= 1.002;
    writeFileSync(file, JSON.stringify(art));
    const bad = await verify(local);
    expect(bad.code).toBe(1);
    expect(bad.out.failed).toBeGreaterThanOrEqual(1);
    expect(bad.out.results.find((r) => r.artifact === file)!.failures.join('\n')).toMatch(/finalSharpness\.static/);
  });
});
