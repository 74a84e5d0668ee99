import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { FileRow } from './service.ts';

const binary = { type: 'string', format: 'binary' } as const;

/** The documented 200 answer of a route that sends a stored file of one of `types`. */
export const fileResponse = (
  types: readonly string[],
  description = 'The bytes, with the type detected at upload',
) => ({
  description,
  content: Object.fromEntries(types.map((t) => [t, { schema: binary }])),
});

export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

/**
 * Sends a stored file. The type is the one sniffed at upload; the sandboxing policy keeps a file that
 * a browser opens directly from running anything.
 */
export function sendStoredFile(
  reply: FastifyReply,
  { file, stream }: { file: FileRow; stream: Readable },
  options: { cacheControl: string; disposition?: string },
) {
  reply
    .type(file.contentType)
    .header('content-length', file.sizeBytes)
    .header('cache-control', options.cacheControl)
    .header('content-security-policy', "default-src 'none'; sandbox");
  if (options.disposition) reply.header('content-disposition', options.disposition);
  return reply.send(stream);
}
