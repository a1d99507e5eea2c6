/**
 * The bytes of a data file at a path or an s3://bucket/key URI (core/datasets/load.ts ReadBytes): what `sweep
 * validate` and every worker read a file dataset with. S3 goes through S3Store (AWS_ENDPOINT_URL for MinIO, the
 * standard credential chain). A missing file or object is a DatasetError naming it.
 */
import { readFile } from 'node:fs/promises';
import { DatasetError } from '../core/datasets/table.js';
import { S3Store } from './s3.js';

export async function readLocation(location: string): Promise<Uint8Array> {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  if (/^s3:\/\//i.test(location) && !s3) throw new DatasetError(location, 'not an S3 object URI (expected s3://bucket/key)');
  if (s3) {
    let bytes: Uint8Array | null;
    try {
      bytes = await new S3Store(`s3://${s3[1]}`).get(s3[2]);
    } catch (err) {
      throw new DatasetError(location, `cannot read: ${(err as Error).message}`);
    }
    if (bytes === null) throw new DatasetError(location, 'no such object');
    return bytes;
  }
  try {
    return await readFile(location);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new DatasetError(location, `cannot read: ${why}`);
  }
}
