import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startTemporal, type TemporalServer } from '../support/servers.js';
import { cleanEnv, lastJson, runCli, startWorker, tinyGrid, type WorkerProcess } from '../support/cli.js';
import { makePki, startTlsProxy, type Pki, type TlsProxy } from '../support/tls.js';

/** Every string and byte array in a (protobuf) object, as text: history events, payloads, memos. */
function textOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) value.forEach((v) => textOf(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => textOf(v, out));
  return out;
}

/** The text of every file under a folder, with its path. */
function filesUnder(dir: string): { file: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [{ file: p, text: readFileSync(p, 'latin1') }];
  });
}

/**
 * The CLI and a worker reach Temporal only through a TLS-terminating proxy that requires a client certificate,
 * configured by Temporal's environment configuration alone (a TOML profile with the certificate, key and CA, and
 * an API key in TEMPORAL_API_KEY). The dev server behind it speaks plaintext: the test talks to it directly to read
 * what the sweep left in Temporal and checks that no secret is there, in the results or in any output.
 */
describe('a sweep over mTLS, configured by a Temporal profile, leaving no secret behind', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-mtls-'));
  const store = path.join(dir, 'store');
  const apiKey = `dynsweep-test-key-${Date.now().toString(36)}-do-not-log`;
  let temporal: TemporalServer;
  let pki: Pki;
  let proxy: TlsProxy;
  let worker: WorkerProcess;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    temporal = await startTemporal();
    pki = makePki(dir);
    proxy = await startTlsProxy(pki, temporal.address);
    const config = path.join(dir, 'temporal.toml');
    writeFileSync(
      config,
      `[profile.mtls]
address = "${proxy.address}"
namespace = "default"
[profile.mtls.tls]
client_cert_path = "${pki.clientCert}"
client_key_path = "${pki.clientKey}"
server_ca_cert_path = "${pki.caCert}"
server_name = "localhost"
`,
    );
    env = cleanEnv({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'mtls', TEMPORAL_API_KEY: apiKey, SWEEP_STORE: store });
    worker = await startWorker(env, ['--concurrency', '1']);
  }, 180_000);

  afterAll(async () => {
    await worker?.stop();
    await proxy?.stop();
    await temporal?.stop();
  });

  it('runs a sweep with the CLI and the worker both through the proxy', async () => {
    expect(worker.log()).toContain(`polling ${proxy.address} namespace default (mTLS, API key)`);
    const grid = path.join(dir, 'grid.yaml');
    writeFileSync(grid, tinyGrid({ name: 'mtls', widths: '[2, 4]', losses: '[ce, dce]', seeds: '[0]' }));
    const run = await runCli(['start', grid, '--wait', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const out = lastJson<{ sweepId: string; status: string; completed: number; trials: number }>(run);
    expect(out).toMatchObject({ status: 'completed', trials: 4, completed: 4 });
    // Both sides came in through the proxy, each with the client certificate.
    expect(proxy.handshakes()).toBeGreaterThanOrEqual(2);

    // Nothing secret in Temporal (history: inputs, results, memo, summaries, failures), the store, or any output.
    const direct = await Connection.connect({ address: temporal.address });
    try {
      const handle = new Client({ connection: direct }).workflow.getHandle(`sweep-${out.sweepId}`);
      const [history, desc] = await Promise.all([handle.fetchHistory(), handle.describe()]);
      const keyBody = readFileSync(pki.clientKey, 'utf8').split('\n')[1];
      const secrets = [apiKey, pki.clientKey, keyBody, path.basename(pki.clientKey, '.key') + '.key'];
      const inTemporal = [...textOf(history), ...textOf(desc.raw), JSON.stringify(desc.memo ?? {})].join('\n');
      expect(inTemporal).toContain(out.sweepId); // the scan sees the history's text
      const stored = filesUnder(store);
      expect(stored.length).toBeGreaterThan(5);
      for (const s of secrets) {
        expect(inTemporal.includes(s), `${s} in workflow history or description`).toBe(false);
        for (const f of stored) expect(f.text.includes(s), `${s} in ${f.file}`).toBe(false);
        expect(`${run.stdout}${run.stderr}${worker.log()}`.includes(s), `${s} in CLI or worker output`).toBe(false);
      }
    } finally {
      await direct.close();
    }
  }, 300_000);

  it('refuses a client without a certificate, and one without TLS', async () => {
    const refusedBefore = proxy.refused();
    // TLS with the right CA but no client certificate: the proxy ends the handshake.
    const noCert = cleanEnv({ TEMPORAL_ADDRESS: proxy.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert, TEMPORAL_TLS_SERVER_NAME: 'localhost' });
    const list = await runCli(['list', '--json'], noCert, 60_000);
    expect(list.code).toBe(1);
    expect(list.stderr).toContain(`cannot reach Temporal at ${proxy.address} (TLS)`);
    await expect(Connection.connect({ address: proxy.address, connectTimeout: 3000 })).rejects.toThrow();
    expect(proxy.refused()).toBeGreaterThan(refusedBefore);
    // The same CLI call with the profile gets through.
    const ok = await runCli(['list', '--json'], env, 60_000);
    expect(ok.code, ok.stderr).toBe(0);
  }, 120_000);
});
