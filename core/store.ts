/**
 * The results store: one interface, two implementations (storage/local.ts, storage/s3.ts).
 * Keys are relative, '/'-separated (e.g. 'trials/abc.json'); a store is already scoped to its root
 * (a folder, or an S3 bucket + prefix). Writes are idempotent: putting the same key twice leaves one object.
 */
export interface Store {
  /** Where this store lives, as a user would type it: an absolute path or s3://bucket/prefix. */
  readonly uri: string;
  put(key: string, body: string | Uint8Array, contentType?: string): Promise<void>;
  /**
   * Write an object from a stream of chunks (tables of a large sweep) without holding it whole in memory. Like
   * put, the object appears only when complete; a failed stream leaves no object behind.
   */
  putStream(key: string, chunks: AsyncIterable<Uint8Array>, contentType?: string): Promise<void>;
  /** The object's bytes, or null when it does not exist. */
  get(key: string): Promise<Uint8Array | null>;
  getText(key: string): Promise<string | null>;
  exists(key: string): Promise<boolean>;
  /** All keys under a prefix (relative to the store root), sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** A store scoped to a sub-prefix of this one (e.g. one sweep's results folder). */
  child(prefix: string): Store;
}
