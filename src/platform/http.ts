import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import { type Static, type TSchema, Type } from 'typebox';

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

const JSON_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array']);

/**
 * A field that is always present in a response and may be null. A schema of one JSON type without an enum
 * becomes that type or null (`type: ['string', 'null']`), which fast-json-stringify writes after a typeof
 * check; for an `anyOf` it runs an Ajv validator (format checks included) on every value it writes, which
 * made up much of an order list's serialization. Other schemas stay a union with null.
 */
export function Nullable<T extends TSchema>(schema: T) {
  const { type, enum: oneOf, const: only } = schema as { type?: unknown; enum?: unknown; const?: unknown };
  const single =
    typeof type === 'string' && JSON_TYPES.has(type) && oneOf === undefined && only === undefined;
  return Type.Unsafe<Static<T> | null>(
    single ? { ...schema, type: [type, 'null'] } : Type.Union([schema, Type.Null()]),
  );
}

/** The columns every soft-deletable row shows staff. */
export const RowMeta = {
  id: Type.String({ format: 'uuid' }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  is_deleted: Type.Boolean(),
  deleted_at: Nullable(Type.String({ format: 'date-time' })),
  restored_at: Nullable(Type.String({ format: 'date-time' })),
};
