/**
 * The bounded window of trainPack activities that sweeps and threshold searches share: at most `limit` packs in
 * flight, the next one started as soon as one finishes. Deterministic (workflow code).
 */

/**
 * Start `run(index)` for each index `next()` gives while fewer than `limit` run, until `next()` gives null and
 * none runs. `inFlight` is the caller's, so that on cancellation it can wait for the packs still running.
 */
export async function runPackWindow(inFlight: Set<Promise<void>>, limit: number, next: () => number | null, run: (index: number) => Promise<void>): Promise<void> {
  for (;;) {
    for (let index: number | null; inFlight.size < limit && (index = next()) !== null; ) {
      const p: Promise<void> = run(index).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    if (inFlight.size === 0) return;
    await Promise.race(inFlight);
  }
}
