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
 * One worker thread per pack in flight: training is long and CPU-bound, and heartbeats must keep flowing on
 * the main thread. Threads are kept for the next pack (at most `maxIdle` idle ones; an idle thread does not keep
 * the process alive), so a worker running packs back to back pays the thread start, module loading and wasm
 * compilation once per slot, not once per pack. With the worker's activity concurrency c, at most c threads
 * train at once: one per core by default. Cancellation terminates the pack's thread at once (it is not reused).
 */
export class ThreadPackRunner implements PackRunner {
  private readonly idle: Worker[] = [];

  constructor(
    private readonly script: URL = new URL('./train-thread.js', import.meta.url),
    private readonly maxIdle = 64,
  ) {}

  private take(): Worker {
    const w = this.idle.pop() ?? new Worker(this.script);
    w.ref();
    return w;
  }

  private release(w: Worker): void {
    if (this.idle.length >= this.maxIdle) {
      void w.terminate();
      return;
    }
    w.unref();
    this.idle.push(w);
  }

  /** Stop the idle threads. */
  async close(): Promise<void> {
    const all = this.idle.splice(0);
    await Promise.all(all.map((w) => w.terminate()));
  }

  run(pack: Pack, onProgress: (p: EngineProgress) => void, signal: AbortSignal): Promise<TrialOutcome[]> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason instanceof Error ? signal.reason : new Error('pack cancelled'));
        return;
      }
      const worker = this.take();
      let settled = false;
      const detach = () => {
        signal.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      /** reuse: the thread finished the pack normally and can take another. */
      const settle = (fn: () => void, reuse: boolean) => {
        if (settled) return;
        settled = true;
        detach();
        if (reuse) this.release(worker);
        else void worker.terminate();
        fn();
      };
      const onAbort = () => settle(() => reject(signal.reason instanceof Error ? signal.reason : new Error('pack cancelled')), false);
      const onMessage = (m: ThreadMessage) => {
        if (m.type === 'progress') onProgress(m.progress);
        else if (m.type === 'done') settle(() => resolve(m.outcomes), true);
        else settle(() => reject(Object.assign(new Error(m.message), { stack: m.stack })), true);
      };
      const onError = (err: Error) => settle(() => reject(err), false);
      const onExit = (code: number) => settle(() => reject(new Error(`training thread exited with code ${code}`)), false);
      signal.addEventListener('abort', onAbort);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ type: 'run', pack });
    });
  }
}
