import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startMinio, startTemporal, type MinioServer, type StartTemporalOptions, type TemporalServer } from './servers.js';
import { cleanEnv, startWorker, type WorkerProcess } from './cli.js';

/** What most end-to-end tests run on: a Temporal dev server, one `sweep worker` process, a client, a fresh store. */
export interface TestStack {
  /** A fresh temp folder; the store is its `store/`. */
  dir: string;
  /** The CLI's environment: the dev server and SWEEP_STORE, nothing else of ours. */
  env: NodeJS.ProcessEnv;
  temporal: TemporalServer;
  worker: WorkerProcess;
  client: Client;
  /** Worker, connection, server, in that order. */
  stop(): Promise<void>;
}

export async function startStack(prefix: string, workerArgs: string[] = []): Promise<TestStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const temporal = await startTemporal();
  const env = cleanEnv({ ...temporal.env(), SWEEP_STORE: path.join(dir, 'store') });
  const worker = await startWorker(env, workerArgs).catch(async (err: unknown) => {
    await temporal.stop();
    throw err;
  });
  const connection = await Connection.connect({ address: temporal.address });
  return {
    dir,
    env,
    temporal,
    worker,
    client: new Client({ connection }),
    stop: async () => {
      await worker.stop();
      await connection.close();
      await temporal.stop();
    },
  };
}

/** The S3 variant: a Temporal dev server and MinIO, one `sweep worker` allowed to write the whole test bucket. */
export interface S3TestStack {
  /** A fresh temp folder for the test's own files. */
  dir: string;
  /** The CLI's environment: the dev server, MinIO's AWS variables and SWEEP_STORE_ALLOW. */
  env: NodeJS.ProcessEnv;
  temporal: TemporalServer;
  minio: MinioServer;
  worker: WorkerProcess;
  /** Worker, then both servers. */
  stop(): Promise<void>;
}

/** The sweeps' search attributes (workflows/definitions.ts) that `sweep list` filters on, for startS3Stack. */
export const SWEEP_SEARCH_ATTRIBUTES: StartTemporalOptions['searchAttributes'] = { SweepName: 'Keyword', GridHash: 'Keyword', SweepStatus: 'Keyword' };

/** `searchAttributes`: registered on the dev server (none by default). */
export async function startS3Stack(prefix: string, searchAttributes?: StartTemporalOptions['searchAttributes']): Promise<S3TestStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const [temporal, minio] = await Promise.all([startTemporal({ searchAttributes }), startMinio()]);
  // The worker writes only under the store roots it is given (storage/allow.ts): the whole test bucket.
  const env = cleanEnv({ ...temporal.env(), ...minio.env(), SWEEP_STORE_ALLOW: `s3://${minio.bucket}` });
  const worker = await startWorker(env).catch(async (err: unknown) => {
    await Promise.all([temporal.stop(), minio.stop()]);
    throw err;
  });
  return {
    dir,
    env,
    temporal,
    minio,
    worker,
    stop: async () => {
      await worker.stop();
      await Promise.all([temporal.stop(), minio.stop()]);
    },
  };
}
