/**
 * The worker's spool: a trained pack's outcomes on local disk from the moment training ends until every record is
 * in the store. A retry of the pack on the same worker (the store was down past the activity's patience, or the
 * worker restarted) writes the spooled outcomes instead of training again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TrialOutcome } from '../core/types.js';

export class OutcomeSpool {
  /** @param dir a folder on the worker's own disk (default of workers: SWEEP_SPOOL_DIR, else ~/.cache/dynsweep/spool). */
  constructor(readonly dir: string) {}

  /** One file per (results store, plan, pack). */
  private file(resultsUri: string, gridHash: string, packIndex: number): string {
    const id = createHash('sha256').update(`${resultsUri}\n${gridHash}\n${packIndex}`).digest('hex').slice(0, 32);
    return path.join(this.dir, `${id}.json`);
  }

  async save(resultsUri: string, gridHash: string, packIndex: number, outcomes: TrialOutcome[]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.file(resultsUri, gridHash, packIndex);
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(outcomes));
    await rename(tmp, target);
  }

  /** The spooled outcomes of the pack, or null (none, or unreadable: then the pack trains again). */
  async load(resultsUri: string, gridHash: string, packIndex: number): Promise<TrialOutcome[] | null> {
    try {
      return JSON.parse(await readFile(this.file(resultsUri, gridHash, packIndex), 'utf8')) as TrialOutcome[];
    } catch {
      return null;
    }
  }

  async drop(resultsUri: string, gridHash: string, packIndex: number): Promise<void> {
    await rm(this.file(resultsUri, gridHash, packIndex), { force: true });
  }
}
