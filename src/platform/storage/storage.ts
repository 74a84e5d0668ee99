import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Config } from '../config.ts';
import { InsufficientStorageError } from '../errors.ts';

/**
 * Where the bytes of uploaded files live. Keys are made by the file service (random, never from user
 * input); a backend may still refuse a key that does not look like one. Local disk by default
 * (`createLocalStorage`); an S3-compatible bucket with `STORAGE_URL=s3://bucket` (`createS3Storage`).
 */
export interface FileStorage {
  /**
   * Stores the bytes under `key`, given whole or as a stream read as it arrives (an upload of any size takes
   * a bounded amount of memory). The object is complete or absent, never half written: a stream that fails
   * (a size limit broken half-way) stores nothing, and `put` rejects with the stream's error.
   */
  put(key: string, body: Uint8Array | Readable): Promise<void>;
  /** A stream of the object's bytes; `StorageObjectMissingError` when there is none. */
  get(key: string): Promise<Readable>;
  /** Removes the object; removing one that is not there is not an error, so it is safe to retry. */
  delete(key: string): Promise<void>;
  /** Fails unless an object could be stored now (readiness): the disk is full, the directory read-only. */
  check(): Promise<void>;
}

export class StorageObjectMissingError extends Error {
  constructor(key: string) {
    super(`no stored object with key ${key}`);
  }
}

/** Lower-case hex only: the same on case-insensitive file systems, and no way out of the directory. */
const KEY = /^[0-9a-f]{32,128}$/;

/** A fresh storage key: 256 random bits in hex. */
export const newStorageKey = () => randomBytes(32).toString('hex');

export function checkKey(key: string) {
  if (!KEY.test(key)) throw new Error('invalid storage key');
}

/** The file system has no room, or the quota is used up. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/** Writes `body` to a new file at `path` and flushes it: the write is on disk or it failed. */
async function writeFileDurably(path: string, body: Uint8Array | Readable) {
  const handle = await open(path, 'wx', 0o600);
  try {
    if (body instanceof Readable) {
      // One chunk at a time: the next is read once this one is written.
      for await (const chunk of body) await handle.write(chunk as Buffer);
    } else await handle.writeFile(body);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Fails unless a file can be written in `dir` now: a probe of one byte, so that a full disk fails it and not
 * only a read-only one. The probe is removed whatever happens.
 */
export async function probeWritable(dir: string) {
  await mkdir(dir, { recursive: true });
  const probe = join(dir, `.probe-${randomBytes(8).toString('hex')}`);
  try {
    await writeFileDurably(probe, Buffer.from('.'));
  } finally {
    await rm(probe, { force: true });
  }
}

/**
 * Files on local disk under `dir`, spread over 256 subdirectories by the key's first two characters.
 * A write goes to a temporary file in `dir/.tmp` (same file system), is flushed, then renamed into place.
 */
export function createLocalStorage(dir: string): FileStorage {
  const tmpDir = join(dir, '.tmp');
  const pathOf = (key: string) => {
    checkKey(key);
    return join(dir, key.slice(0, 2), key);
  };

  return {
    async put(key, body) {
      const target = pathOf(key);
      const tmp = join(tmpDir, `${randomBytes(16).toString('hex')}.part`);
      try {
        await mkdir(tmpDir, { recursive: true });
        await mkdir(dirname(target), { recursive: true });
        await writeFileDurably(tmp, body);
        await rename(tmp, target);
      } catch (error) {
        await rm(tmp, { force: true });
        // A full disk is an answer the client can act on (507), not a 500; nothing was stored.
        if (NO_SPACE.has((error as NodeJS.ErrnoException).code ?? '')) throw new InsufficientStorageError();
        throw error;
      }
    },

    async get(key) {
      const path = pathOf(key);
      try {
        // Opening first surfaces a missing file here, not as a stream error half-way through a response.
        const handle = await open(path, 'r');
        return handle.createReadStream();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageObjectMissingError(key);
        throw error;
      }
    },

    async delete(key) {
      await rm(pathOf(key), { force: true });
    },

    check: () => probeWritable(tmpDir),
  };
}

/** The storage the configuration names: local disk under `DATA_DIR/files` unless `STORAGE_URL` is set. */
export async function createStorage(config: Pick<Config, 'dataDir' | 'storage'>): Promise<FileStorage> {
  if (config.storage.kind === 'local') return createLocalStorage(join(config.dataDir, 'files'));
  // Loaded only where it is used: the S3 client is a large import for a start that does not need it.
  const { createS3Storage } = await import('./s3.ts');
  return createS3Storage(config.storage);
}
