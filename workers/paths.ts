import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (where package.json says "dynsweep"), whether running from dist/ or from sources. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'dynsweep') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the dynsweep package root');
    dir = up;
  }
}

/** Per-user state of the embedded local stack: $DYNSWEEP_HOME, else $XDG_STATE_HOME/dynsweep, else ~/.local/state/dynsweep. */
export function stateDir(): string {
  if (process.env.DYNSWEEP_HOME) return path.resolve(process.env.DYNSWEEP_HOME);
  const xdg = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(xdg, 'dynsweep');
}

export const sweepBin = () => path.join(packageRoot(), 'bin', 'sweep.js');
export const serversScript = () => path.join(packageRoot(), 'infra', 'servers.sh');

/** The workflow code (dist/workflows/index.js), and its bundle made at build time (workers/bundle-workflows.ts). */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
export const WORKFLOW_BUNDLE = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
