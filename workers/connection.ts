/**
 * Where Temporal is and how to talk to it, for the CLI and the workers alike: Temporal's environment configuration
 * (@temporalio/envconfig: a TOML profile file, then TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_TLS*, TEMPORAL_GRPC_META_* over it), then the --address / --namespace / --profile flags over both.
 *
 * The settings hold secrets (an API key, a client key): they go to the connection and nowhere else. `security`
 * says what is configured without any value, for logs and messages.
 */
import { existsSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';

/** Command-line overrides; each beats the profile file and the environment. */
export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  /** Profile of the config file (default: $TEMPORAL_PROFILE, else "default"). */
  profile?: string;
}

export interface TemporalSettings {
  /** Frontend host:port; undefined when nothing names one. */
  address?: string;
  namespace: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
  /** What protects the connection, without secrets: "plaintext", "TLS", "mTLS, API key", ... */
  security: string;
}

/** A configuration the user has to fix (a missing profile or file, TLS without an address, ...). */
export class ConnectionConfigError extends Error {
  override readonly name = 'ConnectionConfigError';
}

/** The connection settings from the flags, the profile file and the environment. */
export function temporalSettings(flags: ConnectionFlags = {}, env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  // An empty variable means unset, as everywhere else in sweep (envconfig would take '' as a value).
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  const file = vars.TEMPORAL_CONFIG_FILE;
  // envconfig quietly ignores a missing file; a file the user named must exist.
  if (file !== undefined && !existsSync(file)) throw new ConnectionConfigError(`TEMPORAL_CONFIG_FILE=${file}: no such file`);
  let options;
  try {
    const profile = loadClientConfigProfile({ profile: flags.profile, overrideEnvVars: vars });
    options = toClientOptions(profile);
  } catch (err) {
    const where = file ?? 'the Temporal config file';
    throw new ConnectionConfigError(`Temporal connection settings (${where}, TEMPORAL_* variables): ${(err as Error).message}`, { cause: err });
  }
  const { connectionOptions: c } = options;
  const tls = c.tls ?? undefined;
  const settings: TemporalSettings = {
    address: flags.address ?? c.address,
    namespace: flags.namespace ?? options.namespace ?? 'default',
    tls,
    apiKey: typeof c.apiKey === 'string' ? c.apiKey : undefined,
    // envconfig's grpc_meta: header names to string values.
    metadata: c.metadata as Record<string, string> | undefined,
    security: describeSecurity(tls, typeof c.apiKey === 'string'),
  };
  if (settings.address === undefined && (tls || settings.apiKey !== undefined)) {
    throw new ConnectionConfigError(
      `${settings.security} is configured but no Temporal address: set TEMPORAL_ADDRESS, --address or the profile's address`,
    );
  }
  return settings;
}

/** The options both Connection.connect (client) and NativeConnection.connect (worker) take. */
export function connectionOptions(s: TemporalSettings & { address: string }) {
  return { address: s.address, tls: s.tls, apiKey: s.apiKey, metadata: s.metadata };
}

function describeSecurity(tls: TLSConfig | boolean | undefined, apiKey: boolean): string {
  const parts = !tls ? ['plaintext'] : [typeof tls === 'object' && tls.clientCertPair ? 'mTLS' : 'TLS'];
  if (apiKey) parts.push('API key');
  return parts.join(', ');
}
