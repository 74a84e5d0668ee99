import { type Static, type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';
import { AppError } from './errors.ts';

export const MAX_PAGE_SIZE = 100;

/** Spread into a route's querystring schema. */
export const PageParams = {
  limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20, description: 'Page size' }),
  cursor: Type.Optional(
    Type.String({ maxLength: 512, description: 'Opaque: the `next_cursor` of the previous page' }),
  ),
};

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({
    data: Type.Array(item),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Null on the last page' }),
  });

export interface PageResult<T> {
  data: T[];
  next_cursor: string | null;
}

export const encodeCursor = (key: unknown[]): string =>
  Buffer.from(JSON.stringify(key)).toString('base64url');

/** Decodes a cursor and checks it has the shape this list's sort key has; anything else is the caller's error. */
export function decodeCursor<S extends TSchema>(cursor: string | undefined, shape: S): Static<S> | undefined {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!Value.Check(shape, key)) {
    throw new AppError(400, 'invalid_cursor', 'the cursor is not one this list gave out', [
      { in: 'query', field: 'cursor', message: 'is not valid for this list' },
    ]);
  }
  return key as Static<S>;
}

/** Lists the first `limit` rows of `rows` (fetched with limit + 1) and the cursor after the last one. */
export function toPage<R, O>(
  rows: R[],
  limit: number,
  keyOf: (row: R) => unknown[],
  map: (row: R) => O,
): PageResult<O> {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return {
    data: data.map(map),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  };
}

/** The cursor shape of lists ordered by id (UUIDv7, so by creation time). */
export const IdCursor = Type.Tuple([Type.String({ format: 'uuid' })]);
