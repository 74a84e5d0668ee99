import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { AppError } from '../errors.ts';
import { createContentInspector, type InspectedContent } from './sniff.ts';
import { type FileStorage, newStorageKey } from './storage.ts';
import { tooLarge } from './upload-rules.ts';

/**
 * An upload's bytes, stored as they arrived under a new key, with what was learnt of them on the way. The
 * object is removed again unless `upload` makes a file of it (`discard`, when the request ends).
 */
export interface ReceivedUpload {
  storageKey: string;
  size: number;
  sha256: string;
  content: InspectedContent;
  state: 'received' | 'stored' | 'discarded';
  /** What the idempotency check hashes: a retry is the same upload when its bytes are. */
  toJSON(): { sha256: string; size: number };
}

const received = new WeakSet<object>();
export const isReceivedUpload = (value: unknown): value is ReceivedUpload =>
  typeof value === 'object' && value !== null && received.has(value);

/** The request's body ended before it was whole: the client went away or the connection broke. */
class UploadCutShortError extends AppError {
  constructor() {
    super(400, 'upload_incomplete', 'the upload ended before all of its bytes arrived');
  }
}

/**
 * Streams `body` to storage under a new key as it arrives, hashing and inspecting it on the way, and stops
 * with 413 `file_too_large` past `maxBytes` (`purpose` names the purpose in the message when it is known).
 */
export async function receiveUpload(
  storage: FileStorage,
  body: Readable,
  { maxBytes, purpose: known }: { maxBytes: number; purpose: string | undefined },
): Promise<ReceivedUpload> {
  const hash = createHash('sha256');
  const inspector = createContentInspector();
  let size = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes) return done(tooLarge(known, maxBytes));
      hash.update(chunk);
      inspector.push(chunk);
      done(null, chunk);
    },
  });
  // Piped, not pipelined: a refusal must leave the request open for its 413 (Fastify then closes it).
  const cutShort = () => {
    if (!body.readableEnded) counted.destroy(new UploadCutShortError());
  };
  body.once('error', cutShort).once('close', cutShort);
  body.pipe(counted);
  const storageKey = newStorageKey();
  try {
    await storage.put(storageKey, counted);
  } finally {
    body.unpipe(counted);
    body.removeListener('error', cutShort).removeListener('close', cutShort);
  }
  const sha256 = hash.digest('hex');
  const upload: ReceivedUpload = {
    storageKey,
    size,
    sha256,
    content: inspector.finish(),
    state: 'received',
    toJSON: () => ({ sha256, size }),
  };
  received.add(upload);
  return upload;
}
