import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { StorageConfig } from '../config.ts';
import { checkKey, type FileStorage, StorageObjectMissingError } from './storage.ts';

/**
 * A stream is sent in parts of this size, one at a time: an upload holds one part in memory, whatever its
 * size. A body that ends within the first part is one PutObject; S3's smallest multipart part is 5 MiB.
 */
const PART_BYTES = 5 * 1024 * 1024;

export type S3StorageConfig = Extract<StorageConfig, { kind: 's3' }>;

/**
 * Checksums only where the operation requires one. The SDK's default (a CRC32 on every upload, sent as an
 * aws-chunked trailer) is one S3-compatible servers do not all speak, and the bytes are hashed (SHA-256) by
 * the file service anyway.
 */
export const s3Client = (config: S3StorageConfig) =>
  new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: config.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

const isMissing = (error: unknown) => {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'NoSuchKey' || name === 'NotFound' || $metadata?.httpStatusCode === 404;
};

/**
 * Files as objects of an S3-compatible bucket, named `prefix + key`. An object appears whole when its upload
 * completes (PutObject, or a multipart upload's completion) and not before; a failed multipart upload is
 * aborted, so it leaves no parts behind.
 */
export function createS3Storage(config: S3StorageConfig, client = s3Client(config)): FileStorage {
  const { bucket, prefix } = config;
  const objectKey = (key: string) => {
    checkKey(key);
    return `${prefix}${key}`;
  };

  return {
    async put(key, body) {
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: objectKey(key), Body: body },
        partSize: PART_BYTES,
        queueSize: 1,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (error) {
        // The body's own failure (a size limit, the client gone) is the answer, not what aborting the upload said.
        throw (body instanceof Readable && body.errored) || error;
      }
    },

    async get(key) {
      try {
        const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
        return Body as Readable;
      } catch (error) {
        if (isMissing(error)) throw new StorageObjectMissingError(key);
        throw error;
      }
    },

    async delete(key) {
      // S3 answers a delete of a missing object as done.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
    },

    // A probe object written and removed: the bucket exists, is reachable and takes writes with these credentials.
    async check() {
      const probe = `${prefix}.probe-${randomBytes(8).toString('hex')}`;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: probe, Body: '.' }));
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: probe }));
    },
  };
}
