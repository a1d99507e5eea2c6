import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** bin/sweep.js in a checkout of its own, with `dist` as given. */
function run(setUp: (root: string) => void) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-bin-'));
  mkdirSync(path.join(root, 'bin'));
  copyFileSync(path.resolve('bin/sweep.js'), path.join(root, 'bin', 'sweep.js'));
  writeFileSync(path.join(root, 'package.json'), '{"type":"module"}');
  setUp(root);
  return spawnSync(process.execPath, [path.join(root, 'bin', 'sweep.js'), 'validate', 'grid.yaml'], { encoding: 'utf8' });
}

describe('bin/sweep.js before a build', () => {
  it('says what to run, exit 2, without a stack trace', () => {
    const r = run(() => {});
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^sweep: dynsweep is not built \(dist\/cli\/main\.js is missing\); run `npm ci && npm run build` in .* first\n$/);
  });

  it('says the same when a dependency is missing (no node_modules)', () => {
    const r = run((root) => {
      mkdirSync(path.join(root, 'dist', 'cli'), { recursive: true });
      writeFileSync(path.join(root, 'dist', 'cli', 'main.js'), "import 'yargs';\n");
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a module is missing \(Cannot find package 'yargs'.*\); run `npm ci && npm run build`/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('lets other errors through as they are', () => {
    const r = run((root) => {
      mkdirSync(path.join(root, 'dist', 'cli'), { recursive: true });
      writeFileSync(path.join(root, 'dist', 'cli', 'main.js'), "throw new Error('boom');\n");
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('boom');
  });
});
