import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { actorOf } from '../auth.ts';
import { problems } from '../documentation.ts';
import { IdParams, Nullable, type RoutesPlugin } from '../http.ts';
import { Component, Ref } from '../schemas.ts';
import { validatorCompiler } from '../validation.ts';
import { isReceivedUpload } from './receive.ts';
import { fileResponse, sendStoredFile } from './reply.ts';
import { FILE_PURPOSES } from './schema.ts';
import type { FileRow, FileService } from './service.ts';
import {
  MAX_IMAGE_PIXELS,
  MAX_IMAGE_SIDE,
  MAX_UPLOAD_BYTES,
  UnsupportedMediaTypeError,
  UPLOAD_CONTENT_TYPES,
  UPLOAD_PURPOSES,
  UPLOAD_RULES,
} from './upload-rules.ts';

const Binary = Type.Unsafe<Buffer>({ type: 'string', format: 'binary' });

export const FileResponse = Component(
  'StoredFile',
  Type.Object({
    id: Type.String({ format: 'uuid' }),
    purpose: Type.Enum(FILE_PURPOSES),
    content_type: Type.String({ description: 'Detected from the bytes' }),
    size_bytes: Type.Integer(),
    original_name: Nullable(Type.String({ description: 'The `X-File-Name` given at upload; metadata only' })),
    attached: Type.Boolean({
      description:
        'Whether something refers to the file (a profile, an order, a verification, a dispute). An upload attached to nothing is removed a day after it was made, and its owner may delete it',
    }),
    created_at: Type.String({ format: 'date-time' }),
  }),
);

const limits = UPLOAD_PURPOSES.map((p) => {
  const rule = UPLOAD_RULES[p];
  return `\`${p}\`: ${rule.types.join(', ')}, at most ${rule.maxBytes / 1024 / 1024} MB`;
}).join('; ');

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
  // Only this plugin's routes take raw file bodies; JSON and text are not uploads. The body goes to storage
  // as it arrives, before the handler runs: its JSON form, what the idempotency check hashes, is the digest
  // of its bytes, so an `Idempotency-Key` retry of a 10 MB upload is compared by hash.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(UPLOAD_CONTENT_TYPES, (request: FastifyRequest, payload: Readable) =>
    files.receive(payload, {
      purpose: (request.query as { purpose?: unknown }).purpose,
      contentLength: Number(request.headers['content-length'] ?? 0),
      ownerId: request.actor?.userId ?? undefined,
    }),
  );
  // A body received but not made a file (a refusal, a replayed key, a bad query) leaves nothing behind; before
  // the answer goes, so that a client who hears it finds nothing stored.
  app.addHook('onSend', async (request, _reply, payload) => {
    if (isReceivedUpload(request.body)) await files.discard(request.body);
    return payload;
  });

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
          `Limits per purpose: ${limits}; larger is 413 \`file_too_large\`, as soon as the Content-Length ` +
          'or the bytes received say so. The body is stored as it arrives; one that ends before its ' +
          'Content-Length is 400 `upload_incomplete`. ' +
          'A full disk is 507 `insufficient_storage` (nothing is stored; retry later). ' +
          "An account's files together may take the `storage_quota_bytes` setting (200 MB unless changed); " +
          'an upload beyond it is 413 `storage_quota_exceeded`. ' +
          'The optional `X-File-Name` header (percent-encoded UTF-8) is kept as metadata only. ' +
          "The answer's `id` is what profile photo, verification, order, completion and dispute requests refer " +
          'to. An upload that nothing refers to a day after it was made is removed.',
        consumes: UPLOAD_CONTENT_TYPES,
        querystring: Type.Object({ purpose: Type.Enum(UPLOAD_PURPOSES) }),
        headers: Type.Object({
          'x-file-name': Type.Optional(
            Type.String({ maxLength: 1024, description: 'The original file name' }),
          ),
        }),
        body: Binary,
        response: {
          201: Ref(FileResponse),
          ...problems({
            400: ['upload_incomplete'],
            413: ['file_too_large', 'storage_quota_exceeded'],
            415: ['file_not_decodable', 'file_type_mismatch'],
            422: ['empty_file', 'image_too_large'],
          }),
        },
      },
    },
    async (request, reply) => {
      const declaredType = request.headers['content-type'];
      if (!declaredType)
        throw new UnsupportedMediaTypeError('send the file as the body, with its Content-Type');
      const file = await files.upload(actorOf(request), request.query.purpose, {
        received: isReceivedUpload(request.body) ? request.body : undefined,
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
        response: { 200: fileResponse(UPLOAD_CONTENT_TYPES), ...problems({ 404: ['file_not_found'] }) },
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

  app.delete(
    '/files/:id',
    {
      config: { access: 'user' },
      schema: {
        tags: ['files'],
        operationId: 'deleteFile',
        summary: 'Delete an upload of mine that nothing uses',
        description:
          'The owner deletes one of their uploads that nothing refers to (`attached` false): one they did not ' +
          'use, or took off what used it. The file is gone at once (downloads are 404) and its bytes are ' +
          'removed from storage a moment later; the space counts against the quota no more. A file that ' +
          'something refers to (a profile photo, an order’s or a completion photo, verification or dispute ' +
          'evidence) is 409 `file_attached`: take it off there first. Anyone else’s file is 404 ' +
          '`file_not_found`, as an unknown one is. Unused uploads are removed a day after they were made ' +
          'anyway.',
        params: IdParams,
        response: {
          204: Type.Null({ description: 'Deleted' }),
          ...problems({ 404: ['file_not_found'], 409: ['file_attached'] }),
        },
      },
    },
    async (request, reply) => {
      await files.deleteUnattached(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );
};
