import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import { type TSchema, Type } from 'typebox';

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** A module's routes: a Fastify plugin that receives the services it calls. */
export type RoutesPlugin<Deps extends object> = FastifyPluginAsyncTypebox<Deps>;

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'UUIDv7 id' }) });

export const Ok = Type.Object({ ok: Type.Literal(true) });

/** A field that is always present in a response and may be null. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** The columns every soft-deletable row shows staff. */
export const RowMeta = {
  id: Type.String({ format: 'uuid' }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  is_deleted: Type.Boolean(),
  deleted_at: Nullable(Type.String({ format: 'date-time' })),
  restored_at: Nullable(Type.String({ format: 'date-time' })),
};
