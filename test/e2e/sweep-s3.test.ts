import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { MinioServer, TemporalServer } from '../support/servers.js';
import { lastJson, runCli, tinyGrid } from '../support/cli.js';
import { startS3Stack, SWEEP_SEARCH_ATTRIBUTES, type S3TestStack } from '../support/stack.js';

/** The whole path on real servers: CLI -> Temporal workflow -> worker activities -> MinIO -> thresholds. */
describe('a sweep through the S3 store', () => {
  let stack: S3TestStack;
  let temporal: TemporalServer;
  let minio: MinioServer;
  let env: NodeJS.ProcessEnv;
  let dir: string;

  beforeAll(async () => {
    stack = await startS3Stack('dynsweep-e2e-', SWEEP_SEARCH_ATTRIBUTES);
    ({ temporal, minio, env, dir } = stack);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await minio.client().send(new ListObjectsV2Command({ Bucket: minio.bucket, Prefix: prefix, ContinuationToken: token }));
      out.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return out;
  }

  it('runs to completion and stores one record and one artifact per trial', async () => {
    const grid = path.join(dir, 'grid.yaml');
    writeFileSync(grid, tinyGrid({ name: 's3-sweep' }));
    const validated = lastJson<{ trials: number }>(await runCli(['validate', grid, '--json'], env));
    const run = await runCli(['start', grid, '--wait', '--json', '--store', `s3://${minio.bucket}/runs`], env);
    expect(run.code, run.stderr).toBe(0);
    const out = lastJson<Record<string, any>>(run);
    expect(Object.keys(out)).toEqual(
      expect.arrayContaining(['sweepId', 'workflowId', 'status', 'trials', 'completed', 'failed', 'resultsUri', 'uiUrl', 'thresholds']),
    );
    expect(out).toMatchObject({ status: 'completed', trials: validated.trials, completed: validated.trials, failed: 0 });
    expect(out.resultsUri).toBe(`s3://${minio.bucket}/runs/${out.sweepId}`);
    expect(Object.keys(out.thresholds).sort()).toEqual(['ce', 'dce', 'dmse1', 'dmse2', 'mse']);
    for (const t of Object.values<any>(out.thresholds)) {
      expect(typeof t.reached).toBe('boolean');
      if (t.reached) expect(t.params).toBeGreaterThan(0);
    }

    const prefix = `runs/${out.sweepId}/`;
    const stored = await keys(prefix);
    for (const k of ['grid.yaml', 'summary.json', 'thresholds.json', 'manifest.json']) expect(stored).toContain(prefix + k);
    expect(stored.filter((k) => k.startsWith(`${prefix}trials/`))).toHaveLength(validated.trials);
    expect(stored.filter((k) => k.startsWith(`${prefix}artifacts/`))).toHaveLength(validated.trials);

    // The sweep is a real workflow on the server, visible to `temporal workflow list` and the UI.
    const connection = await Connection.connect({ address: temporal.address });
    try {
      const client = new Client({ connection });
      const desc = await client.workflow.getHandle(out.workflowId).describe();
      expect(desc.status.name).toBe('COMPLETED');
      expect(desc.type).toBe('sweepWorkflow');
    } finally {
      await connection.close();
    }

    // Starting the same grid again reuses every finished trial.
    const again = await runCli(['start', grid, '--wait', '--json', '--store', `s3://${minio.bucket}/runs`], env);
    expect(again.code, again.stderr).toBe(0);
    expect(lastJson(again)).toMatchObject({ sweepId: out.sweepId, completed: validated.trials });
  });

  it('refuses an unreachable store before starting anything', async () => {
    const grid = path.join(dir, 'grid.yaml');
    writeFileSync(grid, tinyGrid({ name: 'dead-store' }));
    const run = await runCli(['start', grid, '--store', 's3://nowhere/x'], { ...env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }, 120_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/results store s3:\/\/nowhere\/x is not usable/);
    const connection = await Connection.connect({ address: temporal.address });
    try {
      const client = new Client({ connection });
      const ids: string[] = [];
      for await (const w of client.workflow.list()) ids.push(w.workflowId);
      expect(ids.some((id) => id.includes('dead-store'))).toBe(false);
    } finally {
      await connection.close();
    }
  });
});
