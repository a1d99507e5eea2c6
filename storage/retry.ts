/**
 * A Store whose calls outlast an outage: transient errors (S3 endpoint down or throttling, a full or flaky disk)
 * are retried with exponential backoff until a time budget is spent, so a storage outage of minutes costs time,
 * never the work of a pack. Errors a retry cannot fix (an invalid key, rejected credentials, a missing bucket,
 * permission denied) fail at once. putStream is not retried here (its chunks are consumed once): its caller is.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../core/store.js';
import { InvalidKeyError } from './keys.js';
import { S3StoreError } from './s3.js';

export interface StoreRetryPolicy {
  /** Keep retrying a call for this long (ms) before its last error is thrown. Default 600,000 (10 minutes). */
  budgetMs?: number;
  /** First backoff (ms), doubled after each failure. Default 1,000. */
  initialMs?: number;
  /** Longest backoff (ms). Default 30,000. */
  maxMs?: number;
  /** Told of every failed attempt that will be retried (for logs and metrics). */
  onRetry?: (err: unknown, op: string, attempt: number, waitMs: number) => void;
}

/** S3 error codes that mean "wrong configuration", and local errno codes that mean the same. */
const PERMANENT_CODES = new Set([
  'NoSuchBucket',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidClientTokenId',
  'ExpiredToken',
  'AccessDenied',
  'Forbidden',
  'CredentialsProviderError',
  'RegionMissing',
  'EACCES',
  'EPERM',
  'ENOTDIR',
  'EISDIR',
]);

export function isPermanentStoreError(err: unknown): boolean {
  if (err instanceof InvalidKeyError) return true;
  const code = err instanceof S3StoreError ? err.code : ((err as { cause?: NodeJS.ErrnoException })?.cause?.code ?? undefined);
  return code !== undefined && PERMANENT_CODES.has(code);
}

export function withRetries(store: Store, policy: StoreRetryPolicy = {}): Store {
  const budgetMs = policy.budgetMs ?? 600_000;
  const initialMs = policy.initialMs ?? 1_000;
  const maxMs = policy.maxMs ?? 30_000;
  async function retried<T>(op: string, call: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + budgetMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const wait = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
        if (isPermanentStoreError(err) || Date.now() + wait > deadline) throw err;
        policy.onRetry?.(err, op, attempt, wait);
        await sleep(wait);
      }
    }
  }
  return {
    uri: store.uri,
    put: (key, body, contentType) => retried(`put ${key}`, () => store.put(key, body, contentType)),
    putStream: (key, chunks, contentType) => store.putStream(key, chunks, contentType),
    get: (key) => retried(`get ${key}`, () => store.get(key)),
    getText: (key) => retried(`get ${key}`, () => store.getText(key)),
    exists: (key) => retried(`exists ${key}`, () => store.exists(key)),
    list: (prefix) => retried(`list ${prefix}`, () => store.list(prefix)),
    delete: (key) => retried(`delete ${key}`, () => store.delete(key)),
    child: (prefix) => withRetries(store.child(prefix), policy),
  };
}
