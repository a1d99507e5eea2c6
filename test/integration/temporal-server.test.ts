/**
 * Smoke test: a real Temporal dev server starts on free ports, a @temporalio/client Connection can list workflows
 * in the 'default' namespace, custom search attributes are registered, and stop() leaves no process behind.
 */
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTemporal, type TemporalServer } from '../support/servers.js';

let server: TemporalServer;
let connection: Connection;

beforeAll(async () => {
  server = await startTemporal({ searchAttributes: { DynsweepSweepId: 'Keyword', DynsweepTrialIndex: 'Int' } });
  console.log(`[temporal] dev server ready in ${server.startupMs} ms at ${server.address}`);
  connection = await Connection.connect({ address: server.address });
});

afterAll(async () => {
  await connection?.close();
  await server?.stop();
});

describe('temporal dev server', () => {
  it('serves the default namespace and lists workflows', async () => {
    const client = new Client({ connection, namespace: server.namespace });
    const ns = await connection.workflowService.describeNamespace({ namespace: 'default' });
    expect(ns.namespaceInfo?.name).toBe('default');
    const before: string[] = [];
    for await (const wf of client.workflow.list()) before.push(wf.workflowId);
    expect(before).toEqual([]);

    // Start a workflow (no worker needed to be listed), with a search attribute, then find it by that attribute.
    const handle = await client.workflow.start('noSuchWorkflowType', {
      taskQueue: 'smoke',
      workflowId: 'smoke-1',
      searchAttributes: { DynsweepSweepId: ['sweep-42'] },
    });
    let found: string[] = [];
    for (let i = 0; i < 100 && found.length === 0; i++) {
      found = [];
      for await (const wf of client.workflow.list({ query: `DynsweepSweepId = "sweep-42"` })) found.push(wf.workflowId);
      if (found.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(found).toEqual(['smoke-1']);
    await handle.terminate('smoke test done');
  });

  it('registered the requested search attributes', async () => {
    const res = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(res.customAttributes ?? {})).toEqual(expect.arrayContaining(['DynsweepSweepId', 'DynsweepTrialIndex']));
  });
});

describe('server lifecycle', () => {
  it('stops cleanly, leaving no process in its group and freeing the port', async () => {
    const t0 = performance.now();
    const other = await startTemporal();
    const startMs = Math.round(performance.now() - t0);
    const pid = other.pid;
    expect(() => process.kill(-pid, 0)).not.toThrow();
    const t1 = performance.now();
    await other.stop();
    console.log(`[temporal] second server: start ${startMs} ms (${other.startupMs} ms to ready), stop ${Math.round(performance.now() - t1)} ms`);
    expect(() => process.kill(-pid, 0)).toThrow(/ESRCH/);
    await expect(Connection.connect({ address: other.address, connectTimeout: 1000 })).rejects.toThrow();
  });
});
