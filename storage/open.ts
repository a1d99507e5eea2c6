/**
 * openStore(uri): the one place that turns a user-supplied store location into a Store.
 *
 *   s3://bucket/prefix   -> S3Store (AWS or S3-compatible via AWS_ENDPOINT_URL)
 *   file:///abs/path     -> LocalStore
 *   /abs/path, rel/path  -> LocalStore (relative paths resolve against opts.cwd, default process.cwd());
 *                           '~/x' expands to the home folder
 * Anything else (gs://, http://, file://host/...) is rejected with an error that lists the accepted forms.
 */
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store } from '../core/store.js';
import { LocalStore, type LocalStoreOptions } from './local.js';
import { parseS3Uri, S3Store, type S3StoreOptions } from './s3.js';

export interface OpenStoreOptions {
  /** Base folder for relative paths; default process.cwd(). */
  cwd?: string;
  /** Options for s3:// stores (endpoint, region, credentials, createBucket, ...). */
  s3?: S3StoreOptions;
  /** Shorthand for s3.createBucket: create the bucket on first use when missing. */
  createBucket?: boolean;
  /** Options for local stores. */
  local?: LocalStoreOptions;
}

const ACCEPTED = 's3://bucket/prefix, file:///absolute/path, or a filesystem path';

export function openStore(uri: string, opts: OpenStoreOptions = {}): Store {
  const loc = storeLocation(uri, opts);
  if (loc.kind === 'local') return new LocalStore(loc.uri, opts.local);
  const s3opts: S3StoreOptions = { ...opts.s3 };
  if (opts.createBucket !== undefined) s3opts.createBucket = opts.createBucket;
  return new S3Store(loc.uri, s3opts);
}

/** Where a store location points, in the canonical form its Store's `uri` has, without opening anything. */
export function storeLocation(uri: string, opts: Pick<OpenStoreOptions, 'cwd'> = {}): { kind: 's3' | 'local'; uri: string } {
  if (typeof uri !== 'string' || uri.trim() === '') {
    throw new Error(`store location is empty; expected ${ACCEPTED}`);
  }
  const loc = uri.trim();
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(loc)?.[1]?.toLowerCase();

  if (scheme === 's3') {
    if (!loc.startsWith('s3://')) throw new Error(`malformed S3 store URI ${JSON.stringify(uri)}; expected s3://bucket/prefix`);
    const { bucket, prefix } = parseS3Uri(loc);
    return { kind: 's3', uri: prefix === '' ? `s3://${bucket}` : `s3://${bucket}/${prefix}` };
  }

  if (scheme === 'file') {
    let p: string;
    try {
      p = fileURLToPath(loc);
    } catch (err) {
      throw new Error(
        `bad file store URI ${JSON.stringify(uri)}: ${(err as Error).message}; expected file:///absolute/path (three slashes)`,
        { cause: err },
      );
    }
    return { kind: 'local', uri: path.resolve(p) };
  }

  // A one-letter "scheme" could be a Windows drive (C:\...); anything longer with ':' followed by '//' is a URL.
  if (scheme !== undefined && (scheme.length > 1 || process.platform !== 'win32') && /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(loc)) {
    throw new Error(`unsupported store URI scheme '${scheme}:' in ${JSON.stringify(uri)}; expected ${ACCEPTED}`);
  }

  let p = loc;
  if (p === '~' || p.startsWith('~/')) p = path.join(homedir(), p.slice(1));
  return { kind: 'local', uri: path.resolve(opts.cwd ?? process.cwd(), p) };
}
