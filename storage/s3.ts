/**
 * S3 Store (AWS S3 or any S3-compatible server such as MinIO).
 *
 * Configuration, in order of precedence: explicit options, then the standard AWS environment:
 *  - endpoint: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL (unset: real AWS). When an endpoint is set, path-style
 *    addressing (http://host/bucket/key) is used, which MinIO and most S3-compatible servers need.
 *  - region: AWS_REGION, AWS_DEFAULT_REGION, the shared config profile; 'us-east-1' when a custom endpoint is set
 *    and nothing else says otherwise.
 *  - credentials: the SDK's default provider chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN],
 *    AWS_PROFILE and ~/.aws, SSO, web identity, container/instance metadata).
 * Retries follow the SDK defaults (standard mode, 3 attempts; AWS_MAX_ATTEMPTS / AWS_RETRY_MODE apply).
 * The bucket is created only when asked (createBucket option, or ensureBucket()).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { Store } from '../core/store.js';
import { guessContentType, normaliseChildPrefix, sortKeys, toBytes, validateKey, validatePrefix } from './keys.js';

export interface S3StoreOptions {
  /** Override the endpoint (otherwise AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / real AWS). */
  endpoint?: string;
  region?: string;
  /** Static credentials; otherwise the SDK default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Force path-style addressing; default: true when an endpoint is set, false otherwise. */
  forcePathStyle?: boolean;
  /** Create the bucket on first use when it does not exist. Default false. */
  createBucket?: boolean;
  /** Use this client instead of building one (the options above are then ignored, except createBucket). */
  client?: S3Client;
  /** Extra S3Client configuration (e.g. maxAttempts, requestHandler). */
  clientConfig?: S3ClientConfig;
  /**
   * Environment to read AWS_ENDPOINT_URL[_S3], AWS_REGION/AWS_DEFAULT_REGION and AWS_ACCESS_KEY_ID/
   * AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN from; default process.env (then credentials come from the SDK chain).
   */
  env?: NodeJS.ProcessEnv;
}

export class S3StoreError extends Error {
  override readonly name = 'S3StoreError';
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Builds an S3Client the way S3Store does (useful for tests and tooling). */
export function makeS3Client(opts: S3StoreOptions = {}): { client: S3Client; endpoint: string | undefined } {
  const env = opts.env ?? process.env;
  const endpoint = nonEmpty(opts.endpoint) ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  const region =
    nonEmpty(opts.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? (endpoint ? 'us-east-1' : undefined);
  const config: S3ClientConfig = { ...opts.clientConfig };
  if (endpoint) config.endpoint = endpoint;
  if (region) config.region = region;
  config.forcePathStyle = opts.forcePathStyle ?? config.forcePathStyle ?? endpoint !== undefined;
  if (endpoint) {
    // SDK >= 3.729 adds CRC checksums to every request by default, which some S3-compatible servers reject; with a
    // custom endpoint only send/validate them when an operation requires it (env/config can still override).
    config.requestChecksumCalculation ??= env.AWS_REQUEST_CHECKSUM_CALCULATION ? undefined : 'WHEN_REQUIRED';
    config.responseChecksumValidation ??= env.AWS_RESPONSE_CHECKSUM_VALIDATION ? undefined : 'WHEN_REQUIRED';
  }
  if (opts.credentials) {
    config.credentials = opts.credentials;
  } else if (opts.env && opts.env !== process.env && nonEmpty(env.AWS_ACCESS_KEY_ID) && nonEmpty(env.AWS_SECRET_ACCESS_KEY)) {
    // The SDK's default chain reads process.env; honour keys given in a custom env explicitly.
    config.credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID!.trim(),
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY!.trim(),
      ...(nonEmpty(env.AWS_SESSION_TOKEN) ? { sessionToken: env.AWS_SESSION_TOKEN!.trim() } : {}),
    };
  }
  return { client: new S3Client(config), endpoint };
}

interface SharedState {
  client: S3Client;
  endpoint: string | undefined;
  createBucket: boolean;
  bucketReady?: Promise<void>;
  bucketVerified: boolean;
}

interface ParsedS3 {
  bucket: string;
  prefix: string;
}

/** Size of the parts of a multipart upload (S3's minimum is 5 MiB for every part but the last). */
const PART_BYTES = 8 * 1024 * 1024;

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses 's3://bucket[/prefix][/]' into bucket and a normalised prefix ('' or 'a/b', no slashes at the ends). */
export function parseS3Uri(uri: string): ParsedS3 {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(uri);
  if (!m) throw new Error(`not an S3 URI: ${JSON.stringify(uri)} (expected s3://bucket/prefix)`);
  const bucket = m[1] ?? '';
  if (!BUCKET_RE.test(bucket) || bucket.includes('..')) {
    throw new Error(
      `invalid S3 bucket name ${JSON.stringify(bucket)} in ${JSON.stringify(uri)}: 3-63 characters of lowercase letters, digits, '.', '-'`,
    );
  }
  let prefix = m[2] ?? '';
  while (prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  if (prefix !== '') prefix = normaliseChildPrefix(prefix);
  return { bucket, prefix };
}

export class S3Store implements Store {
  readonly uri: string;
  readonly bucket: string;
  /** '' or 'a/b' (no trailing slash). */
  readonly prefix: string;
  readonly client: S3Client;
  readonly endpoint: string | undefined;
  private readonly shared: SharedState;

  /**
   * @param uri 's3://bucket[/prefix]'
   * @param opts client configuration; see S3StoreOptions
   * @param shared internal: state shared between a store and its children (one client, one bucket check)
   */
  constructor(uri: string, opts: S3StoreOptions = {}, shared?: SharedState) {
    const { bucket, prefix } = parseS3Uri(uri);
    this.bucket = bucket;
    this.prefix = prefix;
    this.uri = prefix === '' ? `s3://${bucket}` : `s3://${bucket}/${prefix}`;
    if (!shared) {
      const made = opts.client
        ? { client: opts.client, endpoint: opts.endpoint }
        : makeS3Client(opts);
      shared = { ...made, createBucket: opts.createBucket ?? false, bucketVerified: false };
    }
    this.shared = shared;
    this.client = shared.client;
    this.endpoint = shared.endpoint;
  }

  private fullKey(key: string): string {
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  /** Creates the bucket if it does not exist (tolerates a concurrent creator). */
  async ensureBucket(): Promise<void> {
    this.shared.bucketReady ??= (async () => {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      } catch (err) {
        if (!isNotFound(err)) throw this.wrap('head bucket', '', err);
        try {
          await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
        } catch (err2) {
          const name = errName(err2);
          if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw this.wrap('create bucket', '', err2);
        }
      }
      this.shared.bucketVerified = true;
    })().catch((err: unknown) => {
      this.shared.bucketReady = undefined; // allow a retry later
      throw err;
    });
    return this.shared.bucketReady;
  }

  private async ready(): Promise<void> {
    if (this.shared.createBucket) await this.ensureBucket();
  }

  async put(key: string, body: string | Uint8Array, contentType?: string): Promise<void> {
    validateKey(key);
    await this.ready();
    const bytes = toBytes(body);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: contentType ?? guessContentType(key),
        }),
      );
    } catch (err) {
      throw this.wrap('put', key, err);
    }
  }

  /**
   * Chunks are gathered into parts of PART_BYTES; an object smaller than one part is a single PutObject, a larger
   * one a multipart upload (aborted when the stream or a part fails, so no partial object is left).
   */
  async putStream(key: string, chunks: AsyncIterable<Uint8Array>, contentType?: string): Promise<void> {
    validateKey(key);
    await this.ready();
    const Key = this.fullKey(key);
    const ContentType = contentType ?? guessContentType(key);
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const parts: { ETag: string | undefined; PartNumber: number }[] = [];
    const take = (): Uint8Array => {
      const body = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      return body;
    };
    const uploadPart = async (body: Uint8Array) => {
      uploadId ??= (await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ContentType }))).UploadId;
      const PartNumber = parts.length + 1;
      const res = await this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber, Body: body, ContentLength: body.byteLength }),
      );
      parts.push({ ETag: res.ETag, PartNumber });
    };
    try {
      for await (const chunk of chunks) {
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= PART_BYTES) await uploadPart(take());
      }
      if (uploadId === undefined) {
        const body = take();
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: body.byteLength, ContentType }));
        return;
      }
      if (pendingBytes > 0) await uploadPart(take());
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (err) {
      if (uploadId !== undefined) {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId })).catch(() => undefined);
      }
      throw this.wrap('put', key, err);
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    validateKey(key);
    await this.ready();
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      if (!res.Body) return new Uint8Array(0);
      return await res.Body.transformToByteArray();
    } catch (err) {
      if (errName(err) === 'NoSuchKey') return null;
      throw this.wrap('get', key, err);
    }
  }

  async getText(key: string): Promise<string | null> {
    const bytes = await this.get(key);
    return bytes === null ? null : new TextDecoder().decode(bytes);
  }

  async exists(key: string): Promise<boolean> {
    validateKey(key);
    await this.ready();
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      return true;
    } catch (err) {
      if (!isNotFound(err)) throw this.wrap('exists', key, err);
    }
    // HEAD cannot tell "no such key" from "no such bucket" (no error body): check the bucket once.
    if (!this.shared.bucketVerified) {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
        this.shared.bucketVerified = true;
      } catch (err) {
        if (isNotFound(err)) throw this.noSuchBucket('exists', key, err);
        throw this.wrap('exists', key, err);
      }
    }
    return false;
  }

  async list(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    await this.ready();
    const base = this.prefix === '' ? '' : `${this.prefix}/`;
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: token }),
        );
        for (const obj of res.Contents ?? []) {
          if (obj.Key !== undefined && obj.Key.startsWith(base)) keys.push(obj.Key.slice(base.length));
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.wrap('list', prefix, err);
    }
    return sortKeys(keys);
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.ready();
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
    } catch (err) {
      if (errName(err) === 'NoSuchKey') return;
      throw this.wrap('delete', key, err);
    }
  }

  child(prefix: string): Store {
    const sub = normaliseChildPrefix(prefix);
    if (sub === '') return this;
    const full = this.prefix === '' ? sub : `${this.prefix}/${sub}`;
    return new S3Store(`s3://${this.bucket}/${full}`, {}, this.shared);
  }

  private where(): string {
    return `${this.uri}${this.endpoint ? ` at ${this.endpoint}` : ''}`;
  }

  private noSuchBucket(op: string, key: string, err: unknown): S3StoreError {
    return new S3StoreError(
      `S3 store ${this.where()}: ${op}${key ? ` ${JSON.stringify(key)}` : ''} failed: bucket '${this.bucket}' does not exist ` +
        `(create it, or open the store with { createBucket: true })`,
      'NoSuchBucket',
      { cause: err },
    );
  }

  private wrap(op: string, key: string, err: unknown): S3StoreError {
    const name = errName(err);
    const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
    const what = `S3 store ${this.where()}: ${op}${key ? ` ${JSON.stringify(key)}` : ''} failed`;
    const raw = err instanceof Error ? err.message : String(err);
    if (name === 'NoSuchBucket') return this.noSuchBucket(op, key, err);
    if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'InvalidClientTokenId' || name === 'ExpiredToken') {
      return new S3StoreError(
        `${what}: credentials rejected (${name}: ${raw}). Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY ` +
          `(or AWS_PROFILE) for this endpoint`,
        name,
        { cause: err },
      );
    }
    if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
      return new S3StoreError(
        `${what}: access denied (${name ?? 'HTTP 403'}). The credentials are invalid or lack permission on bucket ` +
          `'${this.bucket}'; check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)`,
        name ?? 'AccessDenied',
        { cause: err },
      );
    }
    if (name === 'CredentialsProviderError') {
      return new S3StoreError(
        `${what}: no AWS credentials found (${raw}). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE`,
        name,
        { cause: err },
      );
    }
    if (/Region is missing/i.test(raw)) {
      return new S3StoreError(`${what}: no AWS region configured; set AWS_REGION`, 'RegionMissing', { cause: err });
    }
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ECONNRESET' || code === 'ETIMEDOUT') {
      return new S3StoreError(`${what}: cannot reach the S3 endpoint (${code}: ${raw}); check AWS_ENDPOINT_URL`, code, {
        cause: err,
      });
    }
    return new S3StoreError(`${what}: ${name ?? 'error'}${status ? ` (HTTP ${status})` : ''}: ${raw}`, name, { cause: err });
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s !== undefined && s.trim() !== '' ? s.trim() : undefined;
}

function errName(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string; code?: string };
  return e?.Code ?? e?.name;
}

function isNotFound(err: unknown): boolean {
  const name = errName(err);
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket' || status === 404;
}
