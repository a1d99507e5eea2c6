import { Worker } from 'node:worker_threads';
import type { EngineProgress, Pack, TrialOutcome } from '../core/types.js';

/** Runs a pack somewhere that does not block the activity's event loop. */
export interface PackRunner {
  run(pack: Pack, onProgress: (p: EngineProgress) => void, signal: AbortSignal): Promise<TrialOutcome[]>;
}

type ThreadMessage =
  | { type: 'progress'; progress: EngineProgress }
  | { type: 'done'; outcomes: TrialOutcome[] }
  | { type: 'error'; message: string; stack?: string };

/**
 * One worker thread per pack: training is long and CPU-bound, and heartbeats must keep flowing on
 * the main thread. Cancellation terminates the thread at once.
 */
export class ThreadPackRunner implements PackRunner {
  constructor(private readonly script: URL = new URL('./train-thread.js', import.meta.url)) {}

  run(pack: Pack, onProgress: (p: EngineProgress) => void, signal: AbortSignal): Promise<TrialOutcome[]> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(this.script, { workerData: { pack } });
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () => {
        void worker.terminate();
        settle(() => reject(signal.reason instanceof Error ? signal.reason : new Error('pack cancelled')));
      };
      signal.addEventListener('abort', onAbort);
      worker.on('message', (m: ThreadMessage) => {
        if (m.type === 'progress') onProgress(m.progress);
        else if (m.type === 'done') settle(() => resolve(m.outcomes));
        else settle(() => reject(Object.assign(new Error(m.message), { stack: m.stack })));
      });
      worker.on('error', (err) => settle(() => reject(err)));
      worker.on('exit', (code) => settle(() => reject(new Error(`training thread exited with code ${code}`))));
      if (signal.aborted) onAbort();
    });
  }
}
