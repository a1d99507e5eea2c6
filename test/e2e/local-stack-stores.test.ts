import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, lastJson, runCli, tinyGrid } from '../support/cli.js';

/**
 * The embedded stack's worker writes only under store roots too (storage/allow.ts): its default ./sweeps, and the
 * roots its own CLI commands name, added without restarting it.
 */
describe('store roots of the embedded local stack', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-home-'));
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-cwd-'));
  const env = cleanEnv({ DYNSWEEP_HOME: home });
  const workerPid = () => (JSON.parse(readFileSync(path.join(home, 'local.json'), 'utf8')) as { workerPid: number }).workerPid;

  afterAll(async () => {
    await runCli(['local', 'down'], env, 60_000, cwd);
  });

  it('writes to ./sweeps, then to a root given with --store, with the same worker', async () => {
    writeFileSync(path.join(cwd, 'grid.yaml'), tinyGrid({ name: 'roots', widths: '[2]', losses: '[ce]', seeds: '[0]', steps: 100 }));
    const first = await runCli(['start', 'grid.yaml', '--wait', '--json'], env, 300_000, cwd);
    expect(first.code, first.stderr).toBe(0);
    expect(lastJson<{ resultsUri: string }>(first).resultsUri.startsWith(path.join(cwd, 'sweeps'))).toBe(true);
    const pid = workerPid();

    const other = path.join(mkdtempSync(path.join(os.tmpdir(), 'dynsweep-other-')), 'results');
    const second = await runCli(['start', 'grid.yaml', '--wait', '--json', '--store', other], env, 300_000, cwd);
    expect(second.code, second.stderr).toBe(0);
    const out = lastJson<{ resultsUri: string; status: string }>(second);
    expect(out.status).toBe('completed');
    expect(existsSync(path.join(out.resultsUri, 'summary.json'))).toBe(true);
    expect(readFileSync(path.join(home, 'stores.allow'), 'utf8')).toContain(other);
    expect(workerPid()).toBe(pid);
  }, 600_000);
});
