/**
 * Filesystem Store: one file per key under a root folder.
 *
 * put() writes a temp file next to the target and renames it into place, so readers never see a partial
 * object and concurrent puts of one key leave exactly one complete object (last rename wins). Putting the same
 * key twice is harmless (idempotent). delete() of a missing key is a no-op. Limitation (unlike S3): a key cannot
 * also be a "folder" of other keys ('a' and 'a/b' cannot coexist); such a put fails with a clear error.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { Store } from '../core/store.js';
import { InvalidKeyError, normaliseChildPrefix, sortKeys, toBytes, validateKey, validatePrefix } from './keys.js';

/** Marker in temp-file names; such files are never listed, and keys may not contain it. */
const TMP_MARKER = '.dynsweep-tmp-';

export interface LocalStoreOptions {
  /** fsync each file before renaming it into place (durable across power loss). Default true. */
  fsync?: boolean;
}

export class LocalStore implements Store {
  readonly uri: string;
  readonly root: string;
  private readonly fsync: boolean;

  constructor(root: string, opts: LocalStoreOptions = {}) {
    if (!path.isAbsolute(root)) throw new Error(`LocalStore root must be an absolute path, got ${JSON.stringify(root)}`);
    this.root = path.resolve(root);
    this.uri = this.root;
    this.fsync = opts.fsync ?? true;
  }

  private pathOf(key: string): string {
    validateKey(key);
    if (key.includes(TMP_MARKER)) throw new InvalidKeyError(key, `must not contain '${TMP_MARKER}'`);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: string | Uint8Array, _contentType?: string): Promise<void> {
    await this.writeAtomically(key, (fh) => fh.writeFile(toBytes(body)));
  }

  async putStream(key: string, chunks: AsyncIterable<Uint8Array>, _contentType?: string): Promise<void> {
    await this.writeAtomically(key, async (fh) => {
      for await (const chunk of chunks) await fh.write(chunk);
    });
  }

  /** Write a temp file next to the key's file (fsynced when asked), then rename it into place. */
  private async writeAtomically(key: string, write: (fh: FileHandle) => Promise<unknown>): Promise<void> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw this.wrap('put', key, err);
    }
    const tmp = path.join(dir, `${TMP_MARKER}${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}`);
    try {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await write(fh);
        if (this.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw this.wrap('put', key, err);
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    const file = this.pathOf(key);
    try {
      const buf = await readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (isMissing(err)) return null;
      throw this.wrap('get', key, err);
    }
  }

  async getText(key: string): Promise<string | null> {
    const bytes = await this.get(key);
    return bytes === null ? null : new TextDecoder().decode(bytes);
  }

  async exists(key: string): Promise<boolean> {
    const file = this.pathOf(key);
    try {
      return (await stat(file)).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw this.wrap('exists', key, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    // Walk only the deepest folder the prefix fully names, then filter by plain string prefix (S3 semantics).
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const start = dirKey === '' ? this.root : path.join(this.root, ...dirKey.split('/'));
    const out: string[] = [];
    await this.walk(start, dirKey, prefix, out);
    return sortKeys(out);
  }

  private async walk(dir: string, dirKey: string, prefix: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw this.wrap('list', prefix, err);
    }
    for (const ent of entries) {
      if (ent.name.startsWith(TMP_MARKER)) continue;
      const key = dirKey === '' ? ent.name : `${dirKey}/${ent.name}`;
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      if (ent.isSymbolicLink()) {
        const st = await stat(path.join(dir, ent.name)).catch(() => null);
        isDir = st?.isDirectory() ?? false;
        isFile = st?.isFile() ?? false;
      }
      if (isDir) {
        // Descend only when keys under this folder can still match the prefix.
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) await this.walk(path.join(dir, ent.name), key, prefix, out);
      } else if (isFile && key.startsWith(prefix)) {
        out.push(key);
      }
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      const st = await stat(file);
      if (!st.isFile()) return; // a "folder" is not an object; nothing to delete
      await rm(file, { force: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw this.wrap('delete', key, err);
    }
  }

  child(prefix: string): Store {
    const sub = normaliseChildPrefix(prefix);
    if (sub === '') return this;
    return new LocalStore(path.join(this.root, ...sub.split('/')), { fsync: this.fsync });
  }

  private wrap(op: string, key: string, err: unknown): Error {
    const e = err as NodeJS.ErrnoException;
    let hint = '';
    if (e?.code === 'ENOTDIR' || e?.code === 'EEXIST' || e?.code === 'EISDIR') {
      hint = ' (a key cannot be both an object and a prefix of other keys in a local store)';
    } else if (e?.code === 'EACCES' || e?.code === 'EPERM') {
      hint = ' (permission denied)';
    } else if (e?.code === 'ENOSPC') {
      hint = ' (disk full)';
    }
    return new Error(`local store ${this.root}: ${op} ${JSON.stringify(key)} failed: ${e?.message ?? String(err)}${hint}`, {
      cause: err,
    });
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}
