import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startTemporal, type TemporalServer } from './servers.js';
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
