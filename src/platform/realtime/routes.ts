import type { FastifyInstance } from 'fastify';
import { asyncApiDocument, type FrameRegistry } from './frames.ts';

/**
 * The realtime protocol's AsyncAPI document at `/docs/asyncapi.json`, beside the OpenAPI one
 * (`/docs/json`), made on first request from the frames registered before the app started.
 */
export function registerRealtimeDocs(app: FastifyInstance, frames: FrameRegistry, version: string) {
  let document: ReturnType<typeof asyncApiDocument> | undefined;
  app.get(
    '/docs/asyncapi.json',
    { config: { access: 'public' }, schema: { hide: true } },
    async (_request, reply) => {
      document ??= asyncApiDocument(frames.list(), { title: 'kg-job-portal realtime API', version });
      return reply.type('application/json').send(document);
    },
  );
}
