/**
 * Key and prefix validation shared by every Store implementation.
 *
 * A key is a relative, '/'-separated path: 'trials/abc.json'. It must not be empty, start or end with '/',
 * contain empty segments ('a//b'), '.' or '..' segments, backslashes, or control characters, and must fit
 * within S3's 1024-byte key limit. A prefix (for list() and child()) follows the same rules except that it
 * may be empty and may end with a single '/'.
 */

export class InvalidKeyError extends Error {
  override readonly name = 'InvalidKeyError';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid store key ${JSON.stringify(key)}: ${reason}`);
  }
}

const MAX_KEY_BYTES = 1024;
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkSegments(original: string, body: string): void {
  if (body.startsWith('/')) throw new InvalidKeyError(original, "must not start with '/' (keys are relative)");
  if (body.includes('\\')) throw new InvalidKeyError(original, "must not contain '\\' (use '/' as separator)");
  if (CONTROL.test(body)) throw new InvalidKeyError(original, 'must not contain control characters');
  for (const seg of body.split('/')) {
    if (seg === '') throw new InvalidKeyError(original, "must not contain empty segments ('//')");
    if (seg === '.' || seg === '..') throw new InvalidKeyError(original, `must not contain '${seg}' segments`);
  }
  if (Buffer.byteLength(body, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidKeyError(original, `longer than ${MAX_KEY_BYTES} bytes`);
  }
}

/** Throws InvalidKeyError unless `key` is a valid object key; returns it unchanged. */
export function validateKey(key: string): string {
  if (typeof key !== 'string') throw new InvalidKeyError(String(key), 'must be a string');
  if (key === '') throw new InvalidKeyError(key, 'must not be empty');
  if (key.endsWith('/')) {
    if (key.startsWith('/')) throw new InvalidKeyError(key, "must not start with '/' (keys are relative)");
    throw new InvalidKeyError(key, "must not end with '/'");
  }
  checkSegments(key, key);
  return key;
}

/**
 * Validates a list()/child() prefix. '' means "everything". A trailing '/' is allowed and kept: list('trials/')
 * matches 'trials/x' but not 'trials-old/x', while list('trials') matches both (plain string-prefix semantics,
 * as in S3).
 */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new InvalidKeyError(String(prefix), 'prefix must be a string');
  if (prefix === '') return prefix;
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (body === '') throw new InvalidKeyError(prefix, "prefix must not be '/' (use '' for the whole store)");
  checkSegments(prefix, body);
  return prefix;
}

/** A child prefix, normalised to 'a/b' (no trailing slash). Empty means the same root. */
export function normaliseChildPrefix(prefix: string): string {
  validatePrefix(prefix);
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/** Byte-wise (UTF-8) ordering, the order S3 lists keys in; equals plain ordering for ASCII keys. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function sortKeys(keys: string[]): string[] {
  return keys.sort(compareKeys);
}

/** A best-effort Content-Type for a key when the caller does not pass one. */
export function guessContentType(key: string): string {
  const dot = key.lastIndexOf('.');
  const ext = dot >= 0 ? key.slice(dot + 1).toLowerCase() : '';
  switch (ext) {
    case 'json':
      return 'application/json';
    case 'jsonl':
    case 'ndjson':
      return 'application/x-ndjson';
    case 'txt':
    case 'log':
      return 'text/plain; charset=utf-8';
    case 'csv':
      return 'text/csv; charset=utf-8';
    case 'yaml':
    case 'yml':
      return 'application/yaml';
    case 'html':
      return 'text/html; charset=utf-8';
    case 'svg':
      return 'image/svg+xml';
    case 'png':
      return 'image/png';
    default:
      return 'application/octet-stream';
  }
}

export function toBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? new TextEncoder().encode(body) : body;
}
