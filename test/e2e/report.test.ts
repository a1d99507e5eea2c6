import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startTemporal, type TemporalServer } from '../support/servers.js';
import { cleanEnv, lastJson, runCli, startWorker, type WorkerProcess } from '../support/cli.js';
import { openInChromium } from '../support/browser.js';

const SHOTS = path.resolve('test-results');

/** A small sweep with a real amplitude x period grid for the dynamical losses; at lr 2 sharpness reaches 2/eta (the instability section). */
const reportGrid = `name: report-e2e
dataset:
  pointsPerClass: 20
  revolutions: 2
training:
  steps: 200
  finalStaticSteps: 50
  evalEvery: 50
  sharpnessEvery: 25
grid:
  width: [2, 4, 8]
  lr: [2]
  loss: [ce, dce, mse, dmse1]
  period: [40, 80]
  amplitude: [1, 3]
  seed: [0, 1]
threshold:
  level: 0.9
  bootstrap: 200
`;

/** Results on the real stack: sweep list/results/report/cancel, trials.csv/parquet, report.html in Chromium. */
describe('results, report and cancel on the real dev server', () => {
  let temporal: TemporalServer;
  let worker: WorkerProcess;
  let env: NodeJS.ProcessEnv;
  let connection: Connection;
  let client: Client;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-report-e2e-'));
  const store = path.join(dir, 'store');

  beforeAll(async () => {
    temporal = await startTemporal();
    env = cleanEnv({ ...temporal.env(), SWEEP_STORE: store });
    worker = await startWorker(env, ['--concurrency', '2']);
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
    mkdirSync(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await worker?.stop();
    await connection?.close();
    await temporal?.stop();
  });

  it('writes trials.csv, trials.parquet and report.html; results, list and report read them', { timeout: 400_000 }, async () => {
    const grid = path.join(dir, 'report.yaml');
    writeFileSync(grid, reportGrid);
    const run = await runCli(['start', grid, '--wait', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const out = lastJson<{ sweepId: string; workflowId: string; trials: number; completed: number; resultsUri: string }>(run);
    const n = out.trials;
    expect(n).toBe(2 * 3 * 2 + 2 * 3 * 4 * 2);
    expect(out.completed).toBe(n);
    const results = out.resultsUri;
    for (const f of ['trials.csv', 'trials.parquet', 'report.html', 'summary.json']) expect(existsSync(path.join(results, f)), f).toBe(true);

    // trials.parquet: one typed row per trial, read back by an independent reader.
    const pq = readFileSync(path.join(results, 'trials.parquet'));
    const rows = await parquetReadObjects({ file: pq.buffer.slice(pq.byteOffset, pq.byteOffset + pq.byteLength) as ArrayBuffer });
    expect(rows).toHaveLength(n);
    expect(new Set(rows.map((r) => r.trialId)).size).toBe(n);
    expect(rows.every((r) => typeof r.valAcc === 'number' && typeof r.engine === 'string' && r.engine.length > 0)).toBe(true);

    // sweep results: table, CSV (same as trials.csv), JSON
    const table = await runCli(['results', out.sweepId], env);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^trial\s+loss\s+width\s+P\s+lr\s+T\s+A\s+seed\s+trainAcc\s+valAcc/);
    expect(lines).toHaveLength(n + 2);
    expect(lines[n + 1]).toContain(`${n} of ${n} trials recorded (completed)`);

    const csv = await runCli(['results', out.sweepId, '--format', 'csv'], env);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe(readFileSync(path.join(results, 'trials.csv'), 'utf8'));
    const parsed = parse(csv.stdout, { columns: true }) as Record<string, string>[];
    expect(parsed).toHaveLength(n);
    expect(Object.keys(parsed[0])).toEqual(expect.arrayContaining(['trialId', 'loss', 'width', 'params', 'lr', 'period', 'amplitude', 'seed', 'valAcc', 'sharpnessStatic', 'diverged', 'stepsPerSecond', 'engine', 'backend']));

    const json = await runCli(['results', out.sweepId, '--format', 'json'], env);
    expect(json.code, json.stderr).toBe(0);
    const j = lastJson<{ sweepId: string; status: string; total: number; trials: unknown[]; thresholds: Record<string, unknown> }>(json);
    expect(j).toMatchObject({ sweepId: out.sweepId, status: 'completed', total: n });
    expect(j.trials).toHaveLength(n);
    expect(Object.keys(j.thresholds).sort()).toEqual(['ce', 'dce', 'dmse1', 'mse']);

    // --results reads the folder without Temporal (no server address in the environment).
    const offline = await runCli(['results', '--results', results, '--format', 'json'], cleanEnv({ TEMPORAL_ADDRESS: '127.0.0.1:9' }));
    expect(offline.code, offline.stderr).toBe(0);
    expect(lastJson<{ trials: unknown[] }>(offline).trials).toHaveLength(n);

    // sweep list
    const list = await runCli(['list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    const mine = lastJson<{ sweeps: any[] }>(list).sweeps.find((s) => s.sweepId === out.sweepId);
    expect(mine).toMatchObject({ name: 'report-e2e', status: 'COMPLETED', done: n, total: n, resultsUri: results, workflowId: out.workflowId });
    const listText = await runCli(['list'], env);
    expect(listText.stdout).toMatch(new RegExp(`^SWEEP\\s+NAME\\s+STATUS\\s+STARTED\\s+TRIALS`, 'm'));
    expect(listText.stdout).toMatch(new RegExp(`${out.sweepId}\\s+report-e2e\\s+COMPLETED\\s+\\S+ \\S+\\s+${n}/${n}`));

    // sweep report
    const htmlFile = path.join(dir, 'out', 'report.html');
    mkdirSync(path.dirname(htmlFile), { recursive: true });
    const rep = await runCli(['report', out.sweepId, '--out', htmlFile, '--json'], env);
    expect(rep.code, rep.stderr).toBe(0);
    expect(lastJson(rep)).toMatchObject({ sweepId: out.sweepId, out: htmlFile, stored: `${results}/report.html`, trials: n });
    const html = readFileSync(htmlFile, 'utf8');
    expect(readFileSync(path.join(results, 'report.html'), 'utf8')).toBe(html);

    // In a real browser: no errors, nothing fetched, every chart drawn, a thresholds row per loss.
    const b = await openInChromium(htmlFile);
    try {
      const { page } = b;
      const charts = page.locator('figure.chart > svg');
      const count = await charts.count();
      expect(count).toBe(2 + 4 + 2 + 2); // accuracy x2, sharpness per loss, heatmap per dynamical loss, instability x2
      for (let i = 0; i < count; i++) {
        const box = await charts.nth(i).boundingBox();
        expect(box!.width, `chart ${i}`).toBeGreaterThan(100);
        expect(box!.height, `chart ${i}`).toBeGreaterThan(100);
        expect(await charts.nth(i).locator('path, line, rect').count()).toBeGreaterThan(10);
      }
      const losses = await page.locator('#thresholds tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-loss')));
      expect(losses).toEqual(['ce', 'dce', 'mse', 'dmse1']);
      // The answer first: one sentence per dynamical loss (dce vs ce, dmse1 vs mse), read from the page.
      const findings = await page.locator('#findings li').allInnerTexts();
      expect(findings).toHaveLength(2);
      expect(findings[0]).toMatch(/\bdce\b.*\bce\b/);
      expect(findings[1]).toMatch(/\bdmse1\b.*\bmse\b/);
      await expect(page.locator('#metadata').innerText()).resolves.toContain(out.sweepId);
      // Instability: a row per loss (one lr) of the drawn trials; some cross 2/eta, and both figures are drawn.
      const unstable = await page.locator('#instability-table tbody tr').evaluateAll((trs) =>
        trs.map((tr) => ({ loss: tr.getAttribute('data-loss'), lr: tr.getAttribute('data-lr'), crossed: Number(tr.children[3].textContent) })),
      );
      expect(unstable.map((r) => `${r.loss} ${r.lr}`)).toEqual(['ce 2', 'dce 2', 'mse 2', 'dmse1 2']);
      expect(unstable.some((r) => r.crossed > 0)).toBe(true);
      for (const id of ['chart-instability-raster', 'chart-instability-phase']) {
        const svg = page.locator(`#${id} > svg`);
        await expect(svg.locator('text').allInnerTexts()).resolves.not.toContain('no data');
        expect((await svg.boundingBox())!.height, id).toBeGreaterThan(150);
      }
      await expect(page.locator('#chart-instability-raster').innerText()).resolves.toMatch(/(dce|dmse1) w=\d+ lr=2 T=\d+ A=\d+ seed \d/);
      const links = await page.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      expect(links).toEqual([expect.stringMatching(/\/namespaces\/default\/workflows\/sweep-/)]);
      await page.screenshot({ path: path.join(SHOTS, 'report-e2e.png'), fullPage: true });
      expect(b.consoleErrors).toEqual([]);
      expect(b.pageErrors).toEqual([]);
      expect(b.externalRequests).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('cancels a running sweep: CANCELED on the server, summary says cancelled, finished records kept', { timeout: 400_000 }, async () => {
    const grid = path.join(dir, 'cancel.yaml');
    writeFileSync(
      grid,
      reportGrid
        .replace('name: report-e2e', 'name: cancel-e2e')
        .replace('steps: 200', 'steps: 6000')
        .replace('sharpnessEvery: 25', 'sharpnessEvery: 1000')
        .replace('width: [2, 4, 8]', 'width: [24, 32]')
        .replace('period: [40, 80]', 'period: [40]')
        .replace('amplitude: [1, 3]', 'amplitude: [3]')
        .replace('seed: [0, 1]', `seed: [${Array.from({ length: 30 }, (_, i) => i).join(', ')}]`) +
        // 240 one-trial packs take minutes on two threads, so the cancel lands while packs are still queued.
        'execution:\n  packSize: 1\n  heartbeatTimeoutS: 10\n',
    );
    const started = await runCli(['start', grid, '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const s = lastJson<{ sweepId: string; workflowId: string; trials: number; resultsUri: string }>(started);
    const trialsDir = path.join(s.resultsUri, 'trials');
    const recorded = () => (existsSync(trialsDir) ? readdirSync(trialsDir).filter((f) => f.endsWith('.json')) : []);
    const deadline = Date.now() + 240_000;
    while (recorded().length === 0) {
      if (Date.now() > deadline) throw new Error(`no trial finished in time\n${worker.log().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const before = recorded();
    expect(before.length).toBeLessThan(s.trials);

    const cancel = await runCli(['cancel', s.sweepId, '--wait', '--json'], env);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(lastJson(cancel)).toMatchObject({ sweepId: s.sweepId, status: 'cancelled' });

    const desc = await client.workflow.getHandle(s.workflowId).describe();
    expect(desc.status.name).toBe('CANCELLED');
    const summary = JSON.parse(readFileSync(path.join(s.resultsUri, 'summary.json'), 'utf8'));
    expect(summary.status).toBe('cancelled');
    const after = recorded();
    expect(after).toEqual(expect.arrayContaining(before));
    expect(summary.completed).toBe(after.length);
    expect(summary.completed).toBeLessThan(s.trials);
    expect(summary.failures.every((f: { message: string }) => typeof f.message === 'string')).toBe(true);
    expect(summary.trials - summary.completed).toBe(summary.failed);
    // The tables and the report cover what finished.
    expect(readFileSync(path.join(s.resultsUri, 'trials.csv'), 'utf8').trim().split('\n')).toHaveLength(after.length + 1);
    expect(readFileSync(path.join(s.resultsUri, 'report.html'), 'utf8')).toContain('cancelled');

    // Cancelling again, or an unknown sweep, is a failure (exit 1) that says why.
    const again = await runCli(['cancel', s.sweepId], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not running \(CANCELLED\)/);
    const unknown = await runCli(['cancel', 'no-such-sweep'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no sweep no-such-sweep/);
  });
});
