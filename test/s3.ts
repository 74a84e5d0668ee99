/** A real S3-compatible server (s3rver, on local disk) for the tests of the S3 storage backend. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { s3Client } from '../src/platform/storage/s3.ts';

/** s3rver's own key pair: it checks every request's signature against it. */
export const S3_CREDENTIALS = { S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' };

export interface S3Server {
  endpoint: string;
  /** A new empty bucket: the environment of an app that stores its files there, under `prefix`. */
  bucket(prefix?: string): Promise<{ env: Record<string, string>; name: string; client: S3Client }>;
  close(): Promise<void>;
}

export async function startS3Server(): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'kg-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    async bucket(prefix = '') {
      const name = `kg-test-${randomBytes(4).toString('hex')}`;
      const env = {
        STORAGE_URL: `s3://${name}${prefix ? `/${prefix}` : ''}`,
        S3_ENDPOINT: endpoint,
        ...S3_CREDENTIALS,
      };
      const client = s3Client({
        kind: 's3',
        bucket: name,
        prefix: '',
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return { env, name, client };
    },
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Every object in the bucket. (s3rver does not list multipart uploads, nor abort them: what a failed upload
 * leaves of its parts is not seen here; AWS S3 and the servers that abort them leave nothing.)
 */
export async function bucketContents(client: S3Client, bucket: string) {
  const objects: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    objects.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return objects.sort();
}
