/** Worker concurrency from the environment: light, so every CLI command can read it without loading Temporal. */

/** $SWEEP_CONCURRENCY: the default `--concurrency` of workers (packs trained at once); null when unset. */
export function concurrencyFromEnv(env: NodeJS.ProcessEnv = process.env): number | null {
  const raw = env.SWEEP_CONCURRENCY;
  if (raw === undefined || raw.trim() === '') return null;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SWEEP_CONCURRENCY must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}
