/**
 * The test-server helpers themselves: no orphans when the test process dies, loud failure when a binary is missing.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { serverBinary, startMinio, WATCHDOG_SCRIPT } from '../support/servers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Whether any non-zombie process is left in the group. (kill(-pgid, 0) also counts zombies, and an orphaned
 * watchdog's zombie is reaped by PID 1 whenever that gets to it: ~2s in some sandboxes.)
 */
function groupAlive(pgid: number): boolean {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces/parens, so parse after the last ')'
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

async function waitGone(pgid: number, ms: number): Promise<number> {
  const t0 = performance.now();
  while (groupAlive(pgid) && performance.now() - t0 < ms) await sleep(50);
  return performance.now() - t0;
}

/** A throwaway "test process" (plain node) that starts `cmd` under the watchdog and prints the group id. */
async function spawnParentWithWatched(graceTicks: number, cmd: string[]) {
  const script = `
    const { spawn } = require('node:child_process');
    const c = spawn('bash', ['-c', process.env.WD, 'wd', String(process.pid), process.env.GRACE, ...JSON.parse(process.env.CMD)],
      { detached: true, stdio: 'ignore' });
    console.log(c.pid);
    setInterval(() => {}, 1000);
  `;
  const parent = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, WD: WATCHDOG_SCRIPT, GRACE: String(graceTicks), CMD: JSON.stringify(cmd) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pgid = await new Promise<number>((resolve, reject) => {
    parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    parent.once('error', reject);
  });
  return { parent, pgid };
}

const groups: number[] = [];
afterEach(() => {
  for (const g of groups.splice(0)) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

describe('watchdog', () => {
  it('stops the server when the test process is SIGKILLed', async () => {
    const { parent, pgid } = await spawnParentWithWatched(50, ['sleep', '300']);
    groups.push(pgid);
    await sleep(300);
    expect(groupAlive(pgid)).toBe(true);
    parent.kill('SIGKILL');
    const ms = await waitGone(pgid, 5000);
    expect(groupAlive(pgid)).toBe(false);
    console.log(`[watchdog] orphaned group gone ${Math.round(ms)} ms after the parent was killed`);
  });

  it('escalates to SIGKILL for a server that ignores SIGTERM, children included', async () => {
    const { parent, pgid } = await spawnParentWithWatched(5, ['bash', '-c', 'trap "" TERM; sleep 300 & wait']);
    groups.push(pgid);
    await sleep(300);
    parent.kill('SIGKILL');
    await waitGone(pgid, 5000);
    expect(groupAlive(pgid)).toBe(false);
  });
});

describe('binaries', () => {
  it('fails loudly (no skip) when a server binary is missing', async () => {
    const saved = process.env.DYNSWEEP_MINIO_BIN;
    process.env.DYNSWEEP_MINIO_BIN = '/nonexistent/minio';
    try {
      await expect(startMinio()).rejects.toThrow(/the minio binary is not available: .*is not an executable file/s);
    } finally {
      if (saved === undefined) delete process.env.DYNSWEEP_MINIO_BIN;
      else process.env.DYNSWEEP_MINIO_BIN = saved;
    }
  });

  it('finds the pinned binaries', async () => {
    expect(await serverBinary('temporal')).toMatch(/\/temporal$/);
    expect(await serverBinary('minio')).toMatch(/\/minio$/);
  });
});
