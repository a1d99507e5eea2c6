import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError, EXIT_BAD_INPUT } from '../../cli/errors.js';
import { loadGrid } from '../../cli/grid-file.js';
import { countPacks, countTrials, expandGrid, MAX_TRIALS, packBytes, parseGrid, planPacks, trialsByLoss } from '../../core/grid/index.js';
import { issuesOf } from './grid-helpers.js';

/** Bad input that would poison workers or hang the CLI: refused by parseGrid, at its key and line. */

const grid = (axes: string, extra = '') => `name: limits
training:
  steps: 100
grid:
${axes}${extra}`;
const axes = (o: { width?: string; lr?: string; loss?: string; period?: string; amplitude?: string; seed?: string } = {}) =>
  `  width: ${o.width ?? '[2, 4]'}
  lr: ${o.lr ?? '[0.5]'}
  loss: ${o.loss ?? '[ce, dce]'}
  period: ${o.period ?? '[10, 20]'}
  amplitude: ${o.amplitude ?? '[1, 5]'}
  seed: ${o.seed ?? '[0, 1, 2]'}
`;
const list = (n: number, from = 1) => `[${Array.from({ length: n }, (_, i) => i + from).join(', ')}]`;

describe('trial count, from the axes', () => {
  it('counts what expandGrid makes, and planPacks packs, without expanding', () => {
    for (const [text, packSize] of [
      [grid(axes()), 4],
      [grid(axes({ loss: '[ce, mse, dce, dmse1, dmse2]', seed: list(7, 0) })), 3],
      [grid(axes({ loss: '[mse]', width: '[2, 3, 5]' })), 16],
    ] as const) {
      const spec = parseGrid(`${text}execution:\n  packSize: ${packSize}\n`, 'g.yaml');
      const trials = expandGrid(spec);
      expect(countTrials(spec.grid)).toBe(trials.length);
      const byLoss: Record<string, number> = {};
      for (const t of trials) byLoss[t.config.loss] = (byLoss[t.config.loss] ?? 0) + 1;
      expect(trialsByLoss(spec.grid)).toEqual(byLoss);
      expect(countPacks(spec)).toBe(planPacks(trials, packSize).length);
    }
  });

  it(`rejects more than ${MAX_TRIALS.toLocaleString('en-US')} trials at the grid key, saying what multiplies and how to raise the cap`, () => {
    // 400 widths x 10 lr x 10 T x 10 A x 10 seeds = 4,000,000 dynamical trials (+ 40,000 ce)
    const axesOf4M = axes({ width: list(400), lr: list(10), loss: '[ce, dce]', period: list(10), amplitude: list(10), seed: list(10, 0) });
    const issues = issuesOf(grid(axesOf4M));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 4, col: 1, key: 'grid' });
    expect(issues[0].message).toBe(
      '4,040,000 trials (ce: 400 widths x 10 lr x 10 seeds; dce: 400 widths x 10 lr x 10 periods x 10 amplitudes x 10 seeds), ' +
        'more than the 1,000,000 one sweep may have: raise execution.maxTrials (up to 10,000,000) for a store and workers that can take it, ' +
        'or split the grid into several grid files (e.g. by width or seed) and start one sweep each',
    );
    // Raised, it validates; lowered, the message names the key.
    expect(countTrials(parseGrid(grid(axesOf4M, 'execution:\n  maxTrials: 5000000\n'), 'g.yaml').grid)).toBe(4_040_000);
    expect(issuesOf(grid(axes(), 'execution:\n  maxTrials: 10\n'))[0].message).toMatch(/^30 trials .*, more than the 10 one sweep may have \(execution\.maxTrials\): raise/);
    expect(issuesOf(grid(axes(), 'execution:\n  maxTrials: 20000000\n'))).toMatchObject([{ key: 'execution.maxTrials' }]);
  });

  it('a malformed axis is reported as such, not counted', () => {
    expect(issuesOf(grid(axes({ width: 'wide' })))).toMatchObject([{ line: 5, key: 'grid.width' }]);
  });

  it('accepts exactly the maximum', () => {
    const spec = parseGrid(grid(axes({ width: list(100), lr: list(10), loss: '[dce]', period: list(10), amplitude: list(10), seed: list(10, 0) })), 'g.yaml');
    expect(countTrials(spec.grid)).toBe(MAX_TRIALS);
    expect(countPacks(spec)).toBe(62_500);
  });
});

describe('sizes that multiply memory', () => {
  it('caps widths at 100,000 hidden units, at the offending value', () => {
    expect(issuesOf(grid(axes({ width: '[2, 100000000]' })))).toMatchObject([
      { line: 5, col: 14, key: 'grid.width[1]', message: 'width 100,000,000 is more than the 100,000 hidden units allowed' },
    ]);
  });

  it('caps each data split at 100,000 points (classes x points per class)', () => {
    expect(issuesOf(`dataset:\n  classes: 3\n  pointsPerClass: 40000\n${grid(axes())}`)).toMatchObject([
      { line: 3, key: 'dataset.pointsPerClass', message: '3 classes x 40,000 = 120,000 training points, more than the 100,000 allowed' },
    ]);
    expect(issuesOf(`dataset:\n  validationPointsPerClass: 50000\n${grid(axes())}`)).toMatchObject([
      { line: 2, key: 'dataset.validationPointsPerClass', message: '3 classes x 50,000 = 150,000 validation points, more than the 100,000 allowed' },
    ]);
    expect(() => parseGrid(`dataset:\n  classes: 10\n  pointsPerClass: 10000\n${grid(axes())}`, 'g.yaml')).not.toThrow();
  });

  it('caps curve points and sharpness measurements per trial at 100,000', () => {
    const text = (keys: string) => `training:\n  steps: 10000000\n${keys}grid:\n${axes()}`;
    expect(issuesOf(text('  evalEvery: 10\n  sharpnessEvery: 1000\n'))).toMatchObject([
      { line: 3, key: 'training.evalEvery', message: 'steps / evalEvery = 1,000,000 curve points per trial, more than the 100,000 allowed: raise evalEvery to at least 100' },
    ]);
    expect(issuesOf(text('  evalEvery: 1000\n  sharpnessEvery: 99\n'))[0]).toMatchObject({ line: 4, key: 'training.sharpnessEvery' });
    expect(() => parseGrid(text('  evalEvery: 100\n  sharpnessEvery: 100\n'), 'g.yaml')).not.toThrow();
  });

  it('rejects a pack whose memory estimate exceeds execution.packMemoryMiB, at its width; a smaller pack or a larger budget passes', () => {
    // 3 ce + 2 T x 2 A x 3 seeds dce = 15 trials of the ce family per width share a pack (packSize 16)
    const text = (execution: string) => grid(axes({ width: '[64, 2000, 100000]' }), `execution:\n${execution}`);
    const [issue] = issuesOf(text('  packSize: 16\n'));
    expect(issue).toMatchObject({ line: 5, key: 'grid.width[2]' });
    expect(issue.message).toMatch(/^a pack of 15 trials at width 100,000 needs about 2,473 MiB, more than execution.packMemoryMiB \(2,048 MiB\): lower execution.packSize/);
    expect(() => parseGrid(text('  packSize: 1\n'), 'g.yaml')).not.toThrow();
    expect(() => parseGrid(text('  packSize: 16\n  packMemoryMiB: 2000000\n'), 'g.yaml')).toThrow(/packMemoryMiB/); // at most 1 TiB
    expect(() => parseGrid(text('  packSize: 16\n  packMemoryMiB: 32768\n'), 'g.yaml')).not.toThrow();
  });

  it('estimates tfjs packs with their [points x width] activations', () => {
    const spec = (engine: string) => parseGrid(`engine: ${engine}\n${grid(axes())}`, 'g.yaml');
    expect(packBytes(spec('tfjs'), 4096, 16)).toBeGreaterThan(10 * packBytes(spec('fast'), 4096, 16));
    // A GPU pack of 256 at width 4096 needs its budget raised (docs/deploy.md).
    expect(() => parseGrid(`engine: tfjs\n${grid(axes({ width: '[4096]', seed: list(64, 0) }))}execution:\n  packSize: 256\n`, 'g.yaml')).toThrow(/packMemoryMiB/);
  });
});

describe('YAML aliases', () => {
  const laughs = [
    'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]',
    ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
  ].join('\n');

  it('refuses an alias bomb before anything expands, at the alias that passes the limit', () => {
    const issues = issuesOf(`description: x\nbomb:\n${laughs.replace(/^/gm, '  ')}\n${grid(axes())}`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 7, key: 'bomb.e[0]' });
    expect(issues[0].message).toMatch(/^YAML aliases bring more than 10,000 values into the file \(an alias bomb\?\)/);
  });

  it('refuses an alias without an anchor, and one inside the node it names', () => {
    expect(issuesOf(grid(axes({ seed: '*seeds' })))).toMatchObject([{ line: 10, key: 'grid.seed', message: 'alias *seeds names no anchor &seeds before it' }]);
    expect(issuesOf(grid(axes({ seed: '&s [0, *s]' })))).toMatchObject([{ line: 10, key: 'grid.seed[1]', message: 'alias *s is inside the node it names' }]);
  });

  it('accepts ordinary aliases', () => {
    const spec = parseGrid(grid(axes({ lr: '[&lr 0.5]' }), 'threshold:\n  compare:\n    dce: { lr: *lr, period: 20, amplitude: 5 }\n'), 'g.yaml');
    expect(spec.threshold.compare?.dce).toEqual({ lr: 0.5, period: 20, amplitude: 5 });
    const reused = parseGrid(grid(axes({ width: '&w [2, 4]', seed: '*w' })), 'g.yaml');
    expect(reused.grid.seed).toEqual([2, 4]);
  });
});

describe("the CLI's grid loading", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-limits-'));
  const load = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return () => loadGrid(file);
  };

  it('counts a 250,000-trial grid from its axes', async () => {
    const g = await load('large.yaml', grid(axes({ width: list(25), lr: list(10), loss: '[dce]', period: list(10), amplitude: list(10), seed: list(10, 0) })))();
    expect(g.trialCount).toBe(250_000);
  });

  it('turns every limit into exit 2 with file:line:col key: message', async () => {
    const cases: [string, string, RegExp][] = [
      ['huge.yaml', grid(axes({ width: list(400), lr: list(10), period: list(10), amplitude: list(10), seed: list(10, 0) })), /huge\.yaml:4:1 grid: 4,040,000 trials/],
      ['wide.yaml', grid(axes({ width: '[100000000]' })), /wide\.yaml:5:11 grid\.width\[0\]: width 100,000,000 is more than/],
      ['bomb.yaml', `bomb:\n${'  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n'}${'bcdefghi'.split('').map((k, i) => `  ${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]\n`).join('')}${grid(axes())}`, /bomb\.yaml:6:\d+ bomb\.e\[0\]: YAML aliases bring more than 10,000 values/],
    ];
    for (const [name, text, message] of cases) {
      let err: unknown;
      try {
        await load(name, text)();
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(EXIT_BAD_INPUT);
      expect((err as CliError).message).toMatch(message);
    }
  });
});
