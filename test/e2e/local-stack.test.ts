import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serverBinary } from '../support/servers.js';
import { cleanEnv, lastJson, runCli, tinyGrid } from '../support/cli.js';

/**
 * The embedded default: no server configured, so the CLI starts a Temporal dev server (with web UI)
 * and a worker in the background, stores results under ./sweeps, and reuses the stack afterwards.
 */
describe('the embedded local stack', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-home-'));
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-cwd-'));
  const env = cleanEnv({ DYNSWEEP_HOME: home });

  afterAll(async () => {
    await runCli(['local', 'down'], env, 60_000, cwd);
  });

  it('runs a sweep with no server configured, visible in the web UI and to `temporal workflow list`', async () => {
    writeFileSync(path.join(cwd, 'grid.yaml'), tinyGrid({ name: 'embedded' }));
    const run = await runCli(['start', 'grid.yaml', '--wait', '--json'], env, 300_000, cwd);
    expect(run.code, run.stderr).toBe(0);
    const out = lastJson<{ sweepId: string; workflowId: string; uiUrl: string; resultsUri: string; trials: number; completed: number }>(run);
    expect(out.completed).toBe(out.trials);
    // Results go to ./sweeps by default.
    expect(out.resultsUri).toBe(path.join(cwd, 'sweeps', out.sweepId));
    expect(readdirSync(path.join(out.resultsUri, 'trials'))).toHaveLength(out.trials);

    const status = await runCli(['local', 'status'], env, 60_000, cwd);
    expect(status.code, status.stdout).toBe(0);
    const address = /Temporal (\S+) up/.exec(status.stdout)![1];
    const list = spawnSync(await serverBinary('temporal'), ['workflow', 'list', '--address', address, '-o', 'json'], { encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toContain(out.workflowId);

    // The web UI serves the sweep's page.
    const ui = await fetch(out.uiUrl);
    expect(ui.status).toBe(200);

    // A later command reuses the running stack: status works after the start returned.
    const later = await runCli(['status', out.sweepId, '--json'], env, 60_000, cwd);
    expect(later.code, later.stderr).toBe(0);
    expect(lastJson(later)).toMatchObject({ sweepId: out.sweepId, status: 'completed', completed: out.trials });
    expect(later.stderr).not.toMatch(/Starting a local Temporal/);
  });

  it('sets the local worker\'s concurrency (flag or $SWEEP_CONCURRENCY), restarting it only when that changes', async () => {
    const workerArgs = () => {
      const stack = JSON.parse(readFileSync(path.join(home, 'local.json'), 'utf8')) as { workerPid: number; concurrency: number | null };
      return { pid: stack.workerPid, recorded: stack.concurrency, argv: readFileSync(`/proc/${stack.workerPid}/cmdline`, 'utf8').split('\0').filter(Boolean) };
    };
    const before = workerArgs();
    expect(before.recorded).toBeNull();
    expect(before.argv).not.toContain('--concurrency');

    const up = await runCli(['local', 'up', '--concurrency', '1'], env, 120_000, cwd);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('worker concurrency 1');
    const one = workerArgs();
    expect(one.pid).not.toBe(before.pid);
    expect(one.recorded).toBe(1);
    expect(one.argv.slice(-2)).toEqual(['--concurrency', '1']);

    // Commands that do not ask for a concurrency keep the running worker.
    const run = await runCli(['start', 'grid.yaml', '--wait', '--json', '--id', 'embedded-c1'], env, 300_000, cwd);
    expect(run.code, run.stderr).toBe(0);
    expect(workerArgs().pid).toBe(one.pid);

    // $SWEEP_CONCURRENCY asks too; a bad value is bad input (exit 2) and changes nothing.
    const bad = await runCli(['status', 'embedded-c1'], { ...env, SWEEP_CONCURRENCY: 'many' }, 60_000, cwd);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('SWEEP_CONCURRENCY must be a positive integer, got "many"');
    expect(workerArgs().pid).toBe(one.pid);
    const two = await runCli(['status', 'embedded-c1', '--json'], { ...env, SWEEP_CONCURRENCY: '2' }, 120_000, cwd);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stderr).toContain('Restarting the local worker with concurrency 2');
    expect(workerArgs()).toMatchObject({ recorded: 2 });
    expect(workerArgs().argv.slice(-2)).toEqual(['--concurrency', '2']);
  });

  it('stops with `sweep local down` and keeps its state for the next `up`', async () => {
    const down = await runCli(['local', 'down'], env, 60_000, cwd);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/stopped/);
    expect((await runCli(['local', 'status'], env, 60_000, cwd)).code).toBe(1);
    expect(existsSync(path.join(home, 'temporal.db'))).toBe(true);
  });
});
