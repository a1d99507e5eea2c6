import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../support/cli.js';

/**
 * Bad data files through the real CLI: exit 2 from `sweep validate` and `sweep start`, the message naming the grid
 * key, the data file, the row and the column. TEMPORAL_ADDRESS points at a port nothing listens on: a start that
 * got past validation would fail to connect (exit 1), so exit 2 shows that nothing was started.
 */
describe('malformed data files', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-data-'));
  const env = cleanEnv({ TEMPORAL_ADDRESS: '127.0.0.1:1', SWEEP_STORE: path.join(dir, 'store') });
  const good = 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,10,x\n11,12,y\n';
  const grid = (dataset: string) => `dataset:\n  kind: file\n${dataset}\ntraining: { steps: 20 }\ngrid: { width: [4], lr: [0.5], loss: [ce], seed: [0] }\n`;
  const cases: { name: string; files: Record<string, string>; dataset: string; expect: RegExp }[] = [
    { name: 'missing file', files: {}, dataset: '  path: nowhere.csv', expect: /grid\.yaml:3:3 dataset\.path: .*nowhere\.csv: cannot read: no such file/ },
    { name: 'ragged row', files: { 'd.csv': good.replace('5,6,x', '5,6,7,x') }, dataset: '  path: d.csv', expect: /dataset\.path: .*d\.csv: row 3 \(line 4\): 4 values, expected 3/ },
    { name: 'non-numeric feature', files: { 'd.csv': good.replace('7,8,y', '7,eight,y') }, dataset: '  path: d.csv', expect: /d\.csv: row 4 \(line 5\), column "b": not a number: "eight"/ },
    { name: 'non-finite feature', files: { 'd.csv': good.replace('9,10', 'Infinity,10') }, dataset: '  path: d.csv', expect: /d\.csv: row 5 \(line 6\), column "a": not a finite number: Infinity/ },
    { name: 'missing value', files: { 'd.csv': good.replace('3,4,y', ',4,y') }, dataset: '  path: d.csv', expect: /d\.csv: row 2 \(line 3\), column "a": a missing value/ },
    { name: 'empty class', files: { 'd.csv': good }, dataset: '  path: d.csv\n  classes: [x, y, z]', expect: /dataset\.classes: .*d\.csv: column "label": class "z" has no training rows/ },
    { name: 'no such label column', files: { 'd.csv': good }, dataset: '  path: d.csv\n  label: kind', expect: /grid\.yaml:4:3 dataset\.label: .*d\.csv: no label column "kind" \(columns: a, b, label\)/ },
    { name: 'no such feature column', files: { 'd.csv': good }, dataset: '  path: d.csv\n  features: [a, c]', expect: /dataset\.features: .*d\.csv: no feature column "c"/ },
    {
      name: 'validation file with other columns',
      files: { 'd.csv': good, 'v.csv': 'a,c,label\n1,2,x\n' },
      dataset: '  path: d.csv\n  validation: { path: v.csv }',
      expect: /dataset\.validation\.path: .*v\.csv: its columns differ from .*d\.csv's: missing "b"; extra "c"/,
    },
    { name: 'unknown format', files: { 'd.txt': good }, dataset: '  path: d.txt', expect: /dataset\.path: cannot tell the format of .*d\.txt from its name: give dataset\.format/ },
    { name: 'not a .npy file', files: { 'd.npy': good }, dataset: '  path: d.npy', expect: /dataset\.path: .*d\.npy: not a \.npy file/ },
  ];

  for (const c of cases) {
    it(`${c.name}: exit 2 with the file, row and column, for validate and start`, async () => {
      const sub = mkdtempSync(path.join(dir, 'case-'));
      for (const [name, text] of Object.entries(c.files)) writeFileSync(path.join(sub, name), text);
      const file = path.join(sub, 'grid.yaml');
      writeFileSync(file, grid(c.dataset));
      for (const args of [['validate', file], ['start', file]]) {
        const run = await runCli(args, env, 60_000);
        expect(run.code, run.stderr).toBe(2);
        expect(run.stderr).toMatch(c.expect);
        expect(run.stdout).toBe('');
      }
    });
  }

  it('the good file validates, with its size and content hash', async () => {
    const sub = mkdtempSync(path.join(dir, 'good-'));
    writeFileSync(path.join(sub, 'd.csv'), good);
    writeFileSync(path.join(sub, 'grid.yaml'), grid('  path: d.csv\n  validation: { fraction: 0.34 }'));
    const run = await runCli(['validate', path.join(sub, 'grid.yaml')], env, 60_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/dataset file from .*d\.csv: 4 training and 2 validation points, 2 features, 2 classes; SHA-256 [0-9a-f]{16}/);
  });
});
