import { parentPort, workerData } from 'node:worker_threads';
import { createEngine } from '../core/engines/index.js';
import type { Pack } from '../core/types.js';

/** Worker-thread entry: train one pack and post the outcomes back. */
async function main(): Promise<void> {
  const { pack } = workerData as { pack: Pack };
  const engine = await createEngine(pack.trials[0].config.engine);
  const outcomes = await engine.trainPack(pack, {
    onProgress: (progress) => parentPort!.postMessage({ type: 'progress', progress }),
  });
  parentPort!.postMessage({ type: 'done', outcomes });
}

main().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  parentPort!.postMessage({ type: 'error', message: e.message, stack: e.stack });
});
