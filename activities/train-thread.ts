import { parentPort, workerData } from 'node:worker_threads';
import { createEngine } from '../core/engines/index.js';
import type { Engine, EngineName, Pack } from '../core/types.js';
import { packData } from './dataset-cache.js';

/**
 * Worker-thread entry: trains packs and posts the outcomes back. The thread is long-lived (activities/runner.ts
 * keeps it for the next pack), so modules, the compiled wasm kernel and engines are loaded once per thread.
 * Messages in: { type: 'run', pack }. Out: progress*, then done or error, per pack.
 * (Started with workerData.pack, it trains that one pack at once, as before.)
 */
const engines = new Map<EngineName, Promise<Engine>>();

function engineOf(name: EngineName): Promise<Engine> {
  let e = engines.get(name);
  if (!e) {
    e = createEngine(name);
    e.catch(() => engines.delete(name));
    engines.set(name, e);
  }
  return e;
}

async function train(pack: Pack): Promise<void> {
  try {
    const engine = await engineOf(pack.trials[0].config.engine);
    const data = await packData(pack.trials[0].config.dataset);
    const outcomes = await engine.trainPack(pack, {
      data,
      onProgress: (progress) => parentPort!.postMessage({ type: 'progress', progress }),
    });
    parentPort!.postMessage({ type: 'done', outcomes });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    parentPort!.postMessage({ type: 'error', message: e.message, stack: e.stack });
  }
}

const initial = (workerData as { pack?: Pack } | null)?.pack;
if (initial) void train(initial);
parentPort!.on('message', (m: { type: 'run'; pack: Pack }) => {
  if (m.type === 'run') void train(m.pack);
});
