import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startTemporal, type TemporalServer } from '../support/servers.js';
import { cleanEnv, lastJson, runCli, startWorker, tinyGrid } from '../support/cli.js';

/** Bad input: exit 2, `file:line:col key: message` on stderr, and no workflow started on the real server. */
describe('malformed grid files', () => {
  let temporal: TemporalServer;
  let env: NodeJS.ProcessEnv;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-input-'));

  beforeAll(async () => {
    temporal = await startTemporal();
    env = cleanEnv({ ...temporal.env(), SWEEP_STORE: path.join(dir, 'store') });
  });
  afterAll(async () => temporal?.stop());

  const good = tinyGrid({ name: 'input' });
  const cases: { name: string; text?: string; file?: string; expect: RegExp }[] = [
    { name: 'YAML syntax error', text: good.replace('lr: [0.5]', 'lr: [0.5'), expect: /grid\.yaml:\d+:\d+ .*YAML syntax/ },
    { name: 'unknown loss', text: good.replace('[ce, dce, mse, dmse1, dmse2]', '[ce, hinge]'), expect: /grid\.yaml:13:\d+ grid\.loss\[1\]: .*"ce"/ },
    { name: 'non-positive width', text: good.replace('[2, 4, 8]', '[2, 0, 8]'), expect: /grid\.yaml:11:\d+ grid\.width\[1\]: .*>0/ },
    { name: 'wrong type', text: good.replace('steps: 200', 'steps: lots'), expect: /grid\.yaml:6:\d+ training\.steps: .*number/ },
    { name: 'empty axis', text: good.replace('seed: [0, 1]', 'seed: []'), expect: /grid\.yaml:16:\d+ grid\.seed: must list at least one value/ },
    { name: 'unknown key', text: good.replace('  lr: [0.5]', '  lr: [0.5]\n  momentum: [0.9]'), expect: /grid\.yaml:13:\d+ grid\.momentum: unknown key/ },
    { name: 'missing file', file: 'does-not-exist.yaml', expect: /does-not-exist\.yaml:1:1 \(file\): cannot read grid file: no such file/ },
  ];

  for (const c of cases) {
    it(`${c.name}: exit 2 with a located message, for validate and start`, async () => {
      const file = c.file ? path.join(dir, c.file) : path.join(dir, 'grid.yaml');
      if (c.text) writeFileSync(file, c.text);
      for (const args of [['validate', file], ['start', file, '--wait']]) {
        const run = await runCli(args, env, 60_000);
        expect(run.code, run.stderr).toBe(2);
        expect(run.stderr).toMatch(c.expect);
        expect(run.stdout).toBe('');
      }
    });
  }

  it('started no workflow for any of them', async () => {
    const connection = await Connection.connect({ address: temporal.address });
    try {
      const ids: string[] = [];
      for await (const w of new Client({ connection }).workflow.list()) ids.push(w.workflowId);
      expect(ids).toEqual([]);
    } finally {
      await connection.close();
    }
  });

  it('accepts the good grid and counts its trials without starting anything', async () => {
    const file = path.join(dir, 'good.yaml');
    writeFileSync(file, good);
    const run = await runCli(['validate', file], env, 60_000);
    expect(run.code).toBe(0);
    // 3 widths x 2 seeds x (2 static + 3 dynamical x 1 T x 1 A)
    expect(run.stdout).toContain('30 trials');
  });

  it('rejects unknown flags and commands with exit 2', async () => {
    expect((await runCli(['start'], env, 60_000)).code).toBe(2);
    expect((await runCli(['frobnicate'], env, 60_000)).code).toBe(2);
  });

  it('on a server no worker polls, start says so and how to start one; the sweep runs once a worker does', { timeout: 180_000 }, async () => {
    const file = path.join(dir, 'unpolled.yaml');
    writeFileSync(file, tinyGrid({ name: 'unpolled', widths: '[2]', losses: '[ce]', seeds: '[0]' }));
    const run = await runCli(['start', file, '--json'], env, 60_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`warning: no worker polls dynsweep-control (sweep workflows) or dynsweep-train (training) on ${temporal.address}`);
    expect(run.stderr).toContain(`sweep worker --address ${temporal.address} --namespace default --queue all`);
    const { sweepId } = lastJson<{ sweepId: string }>(run);

    const worker = await startWorker(env);
    try {
      const watched = await runCli(['status', sweepId, '--watch', '--json'], env, 120_000);
      expect(watched.code, watched.stderr).toBe(0);
      expect(lastJson(watched)).toMatchObject({ sweepId, status: 'completed', completed: 1 });
      // With a worker polling, no warning.
      const again = await runCli(['start', file, '--json', '--id', 'unpolled-again'], env, 60_000);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).not.toContain('no worker polls');
    } finally {
      await worker.stop();
    }
  });
});

/**
 * A threshold level the data cannot reach is bad input too: exit 2 at `threshold.level`, from the grid file alone
 * (the data is generated to check it), before any server is contacted. Needs no server: start is pointed at an
 * address nothing listens on, and fails on the grid first.
 */
describe('threshold level against the data', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-level-'));
  const env = cleanEnv({ SWEEP_STORE: path.join(dir, 'store') });
  // The default spirals (3 x 100 points): the three arms' first points coincide at the origin.
  const grid = (level: string) => `name: level
training:
  steps: 100
grid:
  width: [2, 4]
  lr: [0.5]
  loss: [ce]
  seed: [0, 1]
threshold:
  metric: trainAcc
  level: ${level}
`;
  const write = (name: string, level: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, grid(level));
    return file;
  };

  it('level 1 on the default spirals: exit 2 at grid.yaml:11, for validate and start, nothing started', async () => {
    const file = write('grid.yaml', '1');
    for (const args of [['validate', file], ['start', file, '--address', '127.0.0.1:1', '--wait']]) {
      const run = await runCli(args, env, 60_000);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trim()).toBe(
        `${file}:11:3 threshold.level: 1 is above the best accuracy any classifier can reach on this training set ` +
          "(298/300 = 0.99333: 3 points at coinciding inputs with different labels); use 'achievable' or a level <= 0.99333",
      );
      expect(run.stdout).toBe('');
    }
  });

  it("level 'achievable' and level 0.99 validate", async () => {
    for (const [name, level] of [['achievable.yaml', 'achievable'], ['fixed.yaml', '0.99']]) {
      const run = await runCli(['validate', write(name, level)], env, 60_000);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('ok, 4 trials');
    }
  });
});

/**
 * What cannot run is bad input too: too many trials, a width whose packs cannot fit in memory, a YAML alias bomb, a
 * grid file too large for a workflow input.
 * Exit 2 at the key, fast, before any server is contacted (start is pointed at an address nothing listens on).
 */
describe('limits', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-limits-'));
  const env = cleanEnv({ SWEEP_STORE: path.join(dir, 'store') });
  const list = (n: number, from = 1) => `[${Array.from({ length: n }, (_, i) => i + from).join(', ')}]`;
  const grid = (width: string, seeds = '[0]', head = '') => `${head}name: limits
training:
  steps: 20
grid:
  width: ${width}
  lr: ${list(10)}
  loss: [dce]
  period: ${list(10)}
  amplitude: ${list(10)}
  seed: ${seeds}
`;
  const laughs = `a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n${'bcdefghi'
    .split('')
    .map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`)
    .join('\n')}\n`;
  const cases: { name: string; text: string; expect: RegExp }[] = [
    { name: '4,000,000 trials', text: grid(list(400), list(10, 0)), expect: /huge\.yaml:4:1 grid: 4,000,000 trials \(dce: 400 widths x 10 lr x 10 periods x 10 amplitudes x 10 seeds\), more than the 1,000,000 one sweep may have: raise execution\.maxTrials/ },
    { name: 'width 10^8', text: grid('[2, 100000000]'), expect: /huge\.yaml:5:14 grid\.width\[1\]: width 100,000,000 is more than the 100,000 hidden units allowed/ },
    { name: 'alias bomb', text: laughs + grid('[2]'), expect: /huge\.yaml:5:\d+ e\[0\]: YAML aliases bring more than 10,000 values into the file/ },
    { name: 'a 1.2 MB file', text: grid('[2]', list(200_000, 0)), expect: /huge\.yaml:1:1 \(file\): the grid file is 1,[0-9,]+ bytes, more than the 1,048,576 a sweep takes/ },
  ];

  for (const c of cases) {
    it(`${c.name}: exit 2 with a located message, for validate and start`, async () => {
      const file = path.join(dir, 'huge.yaml');
      writeFileSync(file, c.text);
      for (const args of [['validate', file], ['start', file, '--address', '127.0.0.1:1', '--wait']]) {
        const run = await runCli(args, env, 30_000);
        expect(run.code, run.stderr).toBe(2);
        expect(run.stderr).toMatch(c.expect);
        expect(run.stdout).toBe('');
      }
    });
  }

  it('a grid of 1,000,000 trials validates (counted from its axes, not expanded)', async () => {
    const file = path.join(dir, 'large.yaml');
    writeFileSync(file, grid(list(100), list(10, 0)));
    const run = await runCli(['validate', file, '--json'], env, 30_000);
    expect(run.code, run.stderr).toBe(0);
    expect(lastJson(run)).toMatchObject({ valid: true, trials: 1_000_000, packs: 62_500, byLoss: { dce: 1_000_000 }, trialSteps: 20_000_000 });
  });
});
