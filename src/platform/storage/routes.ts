import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { actorOf } from '../auth.ts';
import { IdParams, Nullable, type RoutesPlugin } from '../http.ts';
import { validatorCompiler } from '../validation.ts';
import { fileResponse, sendStoredFile } from './reply.ts';
import { FILE_PURPOSES } from './schema.ts';
import {
  type FileRow,
  type FileService,
  MAX_IMAGE_PIXELS,
  MAX_IMAGE_SIDE,
  MAX_UPLOAD_BYTES,
  UnsupportedMediaTypeError,
  UPLOAD_CONTENT_TYPES,
  UPLOAD_PURPOSES,
  UPLOAD_RULES,
} from './service.ts';

const Binary = Type.Unsafe<Buffer>({ type: 'string', format: 'binary' });

export const FileResponse = Type.Object({
  id: Type.String({ format: 'uuid' }),
  purpose: Type.Enum(FILE_PURPOSES),
  content_type: Type.String({ description: 'Detected from the bytes' }),
  size_bytes: Type.Integer(),
  original_name: Nullable(Type.String({ description: 'The `X-File-Name` given at upload; metadata only' })),
  created_at: Type.String({ format: 'date-time' }),
});

const limits = UPLOAD_PURPOSES.map((p) => {
  const rule = UPLOAD_RULES[p];
  return `\`${p}\`: ${rule.types.join(', ')}, at most ${rule.maxBytes / 1024 / 1024} MB`;
}).join('; ');

/**
 * The body is kept as raw bytes. Its JSON form (what the idempotency check hashes) is its digest, so an
 * `Idempotency-Key` retry of a 10 MB upload is compared by hash, not by a 40 MB array of numbers.
 */
function rawBody(bytes: Buffer): Buffer {
  const digest = createHash('sha256').update(bytes).digest('hex');
  Object.defineProperty(bytes, 'toJSON', { value: () => ({ sha256: digest, size: bytes.length }) });
  return bytes;
}

/** Percent-encoded UTF-8 is how a non-ASCII name fits in a header; a bare name is taken as it is. */
function fileNameHeader(request: FastifyRequest): string | undefined {
  const raw = request.headers['x-file-name'];
  if (typeof raw !== 'string') return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Images open in the browser; anything else downloads. The name is RFC 5987-encoded. */
function contentDisposition(file: FileRow) {
  const kind = file.contentType.startsWith('image/') ? 'inline' : 'attachment';
  if (!file.originalName) return kind;
  const encoded = encodeURIComponent(file.originalName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename*=UTF-8''${encoded}`;
}

export const fileRoutes: RoutesPlugin<{ files: FileService }> = async (app, { files }) => {
  // Only this plugin's routes take raw file bodies; JSON and text are not uploads.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    UPLOAD_CONTENT_TYPES,
    { parseAs: 'buffer', bodyLimit: MAX_UPLOAD_BYTES },
    (_request, body, done) => done(null, rawBody(body as Buffer)),
  );

  app.post(
    '/files',
    {
      bodyLimit: MAX_UPLOAD_BYTES,
      config: {
        access: 'user',
        location: '/files/{id}',
        // Per user, so one account cannot fill the disk; generous for an app uploading a few photos.
        rateLimit: {
          max: 60,
          timeWindow: 60_000,
          keyGenerator: (request: FastifyRequest) => request.actor?.userId ?? request.ip,
        },
      },
      // The body is bytes, checked by sniffing them in the service; the schema below only documents it.
      validatorCompiler: (route) => (route.httpPart === 'body' ? () => true : validatorCompiler(route)),
      schema: {
        tags: ['files'],
        operationId: 'uploadFile',
        summary: 'Upload a file as the raw request body',
        description:
          `Send the file's bytes as the body with its \`Content-Type\` (${UPLOAD_CONTENT_TYPES.join(', ')}); ` +
          'no multipart. The type is checked against the bytes: content that is not an accepted type is 415 ' +
          '`unsupported_media_type`; an image whose header does not decode (type and dimensions) or that is ' +
          'cut short, or a PDF without its end, is 415 `file_not_decodable`; an accepted type sent under ' +
          'another type is 415 `file_type_mismatch`. ' +
          `An image may be at most ${MAX_IMAGE_SIDE} pixels a side and ${MAX_IMAGE_PIXELS / 1_000_000} megapixels ` +
          '(else 422 `image_too_large`). ' +
          `Limits per purpose: ${limits}; larger is 413 \`file_too_large\`. ` +
          'A full disk is 507 `insufficient_storage` (nothing is stored; retry later). ' +
          "An account's files together may take the `storage_quota_bytes` setting (200 MB unless changed); " +
          'an upload beyond it is 413 `storage_quota_exceeded`. ' +
          'The optional `X-File-Name` header (percent-encoded UTF-8) is kept as metadata only. ' +
          "The answer's `id` is what profile photo and verification requests refer to.",
        consumes: UPLOAD_CONTENT_TYPES,
        querystring: Type.Object({ purpose: Type.Enum(UPLOAD_PURPOSES) }),
        headers: Type.Object({
          'x-file-name': Type.Optional(
            Type.String({ maxLength: 1024, description: 'The original file name' }),
          ),
        }),
        body: Binary,
        response: {
          201: FileResponse,
          413: Type.Ref('Problem'),
          415: Type.Ref('Problem'),
          422: Type.Ref('Problem'),
          507: Type.Ref('Problem'),
        },
      },
    },
    async (request, reply) => {
      const declaredType = request.headers['content-type'];
      if (!declaredType)
        throw new UnsupportedMediaTypeError('send the file as the body, with its Content-Type');
      const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const file = await files.upload(actorOf(request), request.query.purpose, {
        bytes,
        declaredType,
        originalName: fileNameHeader(request),
      });
      return reply.status(201).send(file);
    },
  );

  app.get(
    '/files/:id',
    {
      config: { access: 'user' },
      schema: {
        tags: ['files'],
        operationId: 'downloadFile',
        summary: 'Download a file',
        description:
          "The file's owner may download it, and so may whoever may see what it is attached to: " +
          `${files.describeVisibility()}. Anyone else gets 404.`,
        params: IdParams,
        response: {
          200: fileResponse(UPLOAD_CONTENT_TYPES),
          404: Type.Ref('Problem'),
        },
      },
    },
    async (request, reply) => {
      const opened = await files.open(actorOf(request), request.params.id);
      return sendStoredFile(reply, opened, {
        cacheControl: 'private, max-age=3600, immutable',
        disposition: contentDisposition(opened.file),
      });
    },
  );
};
