/**
 * The store roots a worker may write under. A workflow's input names its results location (`resultsUri`), and
 * anyone who can start a workflow on the namespace chooses it: a worker writes only under the roots its operator
 * configured and refuses every other location with an error that says how to allow it.
 *
 *   $SWEEP_STORE          the worker's own root (unset: ./sweeps of its working folder, the CLI's default)
 *   $SWEEP_STORE_ALLOW    more roots, comma-separated (s3://bucket/prefix or folders)
 *   allowFile             one root per line, read on every check (the embedded local stack adds the roots its
 *                         CLI commands write to, without restarting its worker)
 *
 * A location is under a root when it is the root or below it: for S3 the same bucket and a key prefix that
 * continues the root's at a '/', for folders the resolved path (s3://b/run is not under s3://b/ru).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Store } from '../core/store.js';
import { storeLocation } from './open.js';

/** A location outside every allowed root. */
export class StoreNotAllowedError extends Error {
  override readonly name = 'StoreNotAllowedError';
}

export interface AllowListOptions {
  env?: NodeJS.ProcessEnv;
  /** Base of relative roots; default process.cwd(). */
  cwd?: string;
  /** A file of further roots, one per line ('#' starts a comment), re-read on every check. */
  allowFile?: string;
}

/** The roots from the environment, canonical (as Store.uri spells them); a malformed one is an error. */
export function allowedRoots(opts: AllowListOptions = {}): string[] {
  const env = opts.env ?? process.env;
  const own = env.SWEEP_STORE?.trim() || './sweeps';
  const extra = (env.SWEEP_STORE_ALLOW ?? '').split(',').map((r) => r.trim()).filter((r) => r !== '');
  return [own, ...extra].map((r) => canonical(r, opts.cwd, r === own ? 'SWEEP_STORE' : 'SWEEP_STORE_ALLOW'));
}

/** The roots listed in an allow file (missing file: none). */
export function rootsInFile(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '')
    .map((r) => canonical(r, path.dirname(file), file));
}

/** True when `uri` is `root` or lies below it (both canonical). */
export function isUnder(uri: string, root: string): boolean {
  if (root.startsWith('s3://') !== uri.startsWith('s3://')) return false;
  if (root.startsWith('s3://')) return uri === root || uri.startsWith(`${root}/`);
  const rel = path.relative(root, uri);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Wrap a store opener so that it opens only locations under the allowed roots; any other location throws a
 * StoreNotAllowedError naming the roots and how to allow it.
 */
export function allowListed(open: (uri: string) => Store, opts: AllowListOptions = {}): (uri: string) => Store {
  const fixed = allowedRoots(opts);
  return (uri: string) => {
    const loc = storeLocation(uri, { cwd: opts.cwd }).uri;
    const roots = opts.allowFile ? [...fixed, ...rootsInFile(opts.allowFile)] : fixed;
    if (!roots.some((r) => isUnder(loc, r))) {
      throw new StoreNotAllowedError(
        `this worker does not write to ${loc}: it writes only under ${roots.join(', ')}. ` +
          `To allow it, add its root to SWEEP_STORE_ALLOW (comma-separated) in the worker's environment and restart the worker`,
      );
    }
    return open(uri);
  };
}

function canonical(root: string, cwd: string | undefined, from: string): string {
  try {
    return storeLocation(root, { cwd }).uri;
  } catch (err) {
    throw new Error(`${from}: store root ${JSON.stringify(root)}: ${(err as Error).message}`, { cause: err });
  }
}
