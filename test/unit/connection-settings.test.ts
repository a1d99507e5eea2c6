import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnectionConfigError, temporalSettings } from '../../workers/connection.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-envconfig-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const cert = file('client.pem', '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n');
const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nsecret-key\n-----END PRIVATE KEY-----\n');
const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
const toml = file(
  'temporal.toml',
  `[profile.default]
address = "default.example:7233"

[profile.prod]
address = "prod.example:7233"
namespace = "sweeps"
[profile.prod.tls]
client_cert_path = "${cert}"
client_key_path = "${key}"
server_ca_cert_path = "${ca}"
server_name = "temporal.prod"
`,
);
/** No variables but the config file: HOME etc. must not leak a user's own temporal.toml into the test. */
const env = (vars: Record<string, string> = {}) => ({ TEMPORAL_CONFIG_FILE: toml, ...vars });

describe('Temporal connection settings (envconfig, then flags)', () => {
  it('reads the default profile, plaintext', () => {
    expect(temporalSettings({}, env())).toMatchObject({ address: 'default.example:7233', namespace: 'default', security: 'plaintext' });
  });

  it('reads a named profile with mTLS files: certificate, key and CA bytes, server name', () => {
    const s = temporalSettings({ profile: 'prod' }, env());
    expect(s).toMatchObject({ address: 'prod.example:7233', namespace: 'sweeps', security: 'mTLS' });
    const tls = s.tls as { clientCertPair: { crt: Uint8Array; key: Uint8Array }; serverRootCACertificate: Uint8Array; serverNameOverride: string };
    expect(Buffer.from(tls.clientCertPair.key).toString()).toContain('secret-key');
    expect(Buffer.from(tls.serverRootCACertificate).toString()).toContain('ca');
    expect(tls.serverNameOverride).toBe('temporal.prod');
    // The same through TEMPORAL_PROFILE.
    expect(temporalSettings({}, env({ TEMPORAL_PROFILE: 'prod' })).security).toBe('mTLS');
  });

  it('lets the TEMPORAL_* variables override the profile, and the flags override both', () => {
    const e = env({ TEMPORAL_PROFILE: 'prod', TEMPORAL_ADDRESS: 'env.example:7233', TEMPORAL_NAMESPACE: 'env-ns', TEMPORAL_API_KEY: 'k-123' });
    expect(temporalSettings({}, e)).toMatchObject({ address: 'env.example:7233', namespace: 'env-ns', apiKey: 'k-123', security: 'mTLS, API key' });
    expect(temporalSettings({ address: 'flag.example:1', namespace: 'flag-ns' }, e)).toMatchObject({ address: 'flag.example:1', namespace: 'flag-ns' });
  });

  it('turns TLS on for an API key and for TEMPORAL_TLS, with TLS files from the variables', () => {
    expect(temporalSettings({}, { TEMPORAL_ADDRESS: 'a:1', TEMPORAL_API_KEY: 'k' })).toMatchObject({ tls: true, security: 'TLS, API key' });
    expect(temporalSettings({}, { TEMPORAL_ADDRESS: 'a:1', TEMPORAL_TLS: 'true' }).security).toBe('TLS');
    const s = temporalSettings({}, { TEMPORAL_ADDRESS: 'a:1', TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: key });
    expect(s.security).toBe('mTLS');
  });

  it('has no address without configuration (the CLI then starts the local stack); empty variables are unset', () => {
    const none = path.join(dir, 'no-such-dir');
    expect(temporalSettings({}, { HOME: none, XDG_CONFIG_HOME: none, TEMPORAL_ADDRESS: '' })).toMatchObject({ address: undefined, namespace: 'default', security: 'plaintext' });
  });

  it('refuses what it cannot honour, naming it', () => {
    expect(() => temporalSettings({ profile: 'staging' }, env())).toThrow(/Profile 'staging' not found/);
    expect(() => temporalSettings({}, { TEMPORAL_CONFIG_FILE: path.join(dir, 'missing.toml') })).toThrow(/TEMPORAL_CONFIG_FILE=.*missing\.toml: no such file/);
    expect(() => temporalSettings({}, { TEMPORAL_CONFIG_FILE: file('bad.toml', '[profile.default\n') })).toThrow(ConnectionConfigError);
    // A secured connection is never silently dropped for the plaintext local stack.
    const none = path.join(dir, 'no-such-dir');
    expect(() => temporalSettings({}, { HOME: none, XDG_CONFIG_HOME: none, TEMPORAL_API_KEY: 'k' })).toThrow(/TLS, API key is configured but no Temporal address/);
  });
});
