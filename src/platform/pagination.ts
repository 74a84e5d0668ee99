import { asc, desc, gt, lt } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { type Static, type TProperties, type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';
import { AppError } from './errors.ts';
import { Component, Ref, Uuid } from './schemas.ts';

export const MAX_PAGE_SIZE = 100;

const PageParams = {
  limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20, description: 'Page size' }),
  cursor: Type.Optional(
    Type.String({ maxLength: 512, description: 'Opaque: the `next_cursor` of the previous page' }),
  ),
};

/** What a service's list takes: how many rows, and where the previous page ended. */
export interface PageRequest {
  limit: number;
  cursor?: string;
}

/**
 * The query string of every list route: its filters (a multi-valued one declared with `OneOrMore`, the
 * order with `Sort`), then `limit` and `cursor`. A parameter the list does not declare is a 400, as on
 * every route (platform/contract.ts), so a misspelt or retired one (`order`) is never silently ignored.
 */
export const ListQuery = <P extends TProperties>(filters: P) => Type.Object({ ...filters, ...PageParams });

/**
 * A list's `sort`: the orders it offers, each a word (`newest`, `oldest`, `rating`, `price`, ...), never a
 * direction or a column. `description` says what a word means where it is not plain. Without a default
 * (one that depends on other parameters) wrap it in `Type.Optional` and say the default in `description`.
 */
export const Sort = <V extends string[]>(
  values: readonly [...V],
  options: { default?: V[number]; description?: string },
) => Type.Enum(values, options);

/**
 * A filter that takes one or more values, on every route the same way: the parameter repeated
 * (`status=open&status=under_review`); one value alone is one parameter. A comma-separated value is not
 * one of the values, so it is a 400.
 */
export const OneOrMore = <V extends string[]>(values: readonly [...V], description: string) =>
  Type.Optional(
    Type.Array(Type.Enum(values), {
      maxItems: values.length,
      description: `${description}. One or more: repeat the parameter, once for each value`,
    }),
  );

/** A page of a list, named after its items (`OrderSummaryPage`): the items are a component too. */
export const Page = <T extends TSchema>(name: string, item: T) =>
  Component(
    name,
    Type.Object({
      data: Type.Array(Ref(item)),
      next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Null on the last page' }),
    }),
  );

export interface PageResult<T> {
  data: T[];
  next_cursor: string | null;
}

const invalidCursor = () =>
  new AppError(400, 'invalid_cursor', 'the cursor is not one this list gave out', [
    { in: 'query', field: 'cursor', message: 'is not valid for this list' },
  ]);

export interface ListCursor<K> {
  /** The sort key the page starts after; undefined for the first page; a 400 for another list's cursor. */
  decode(cursor: string | undefined): K | undefined;
  encode(key: K): string;
  /** The first `limit` of `rows` (fetched with limit + 1) and the cursor after the last one. */
  page<R, O>(rows: R[], limit: number, keyOf: (row: R) => K, map: (row: R) => O): PageResult<O>;
}

/**
 * The cursors of one list in one order. A cursor holds the list's name beside the sort key of the page's
 * last row, so a cursor another list gave out, or this list in another order, is a 400 `invalid_cursor`
 * rather than a page of something else. Name a list `module.list:sort`.
 */
export function listCursor<S extends TSchema>(list: string, key: S): ListCursor<Static<S>> {
  const shape = Type.Tuple([Type.Literal(list), key]);
  const encode = (value: Static<S>) => Buffer.from(JSON.stringify([list, value])).toString('base64url');
  return {
    encode,
    decode(cursor) {
      if (cursor === undefined) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      } catch {
        throw invalidCursor();
      }
      if (!Value.Check(shape, parsed)) throw invalidCursor();
      return (parsed as [string, Static<S>])[1];
    },
    page(rows, limit, keyOf, map) {
      const data = rows.slice(0, limit);
      const last = data[data.length - 1];
      return {
        data: data.map(map),
        next_cursor: rows.length > limit && last !== undefined ? encode(keyOf(last)) : null,
      };
    },
  };
}

/** The orders of a list in id order: UUIDv7 ids follow creation time, so `newest` is the id descending. */
export const ID_SORTS = ['newest', 'oldest'] as const;
export type IdSort = (typeof ID_SORTS)[number];

/**
 * A list ordered by its id column. Called with a request (and the sort), it decodes the cursor before any
 * query runs and gives what the query adds (`where`, `orderBy`, `limit`: one row more than the page, to know
 * whether another follows) and the page of the rows it returned.
 */
export function idPages(list: string, id: PgColumn) {
  const cursors = {
    newest: listCursor(`${list}:newest`, Uuid),
    oldest: listCursor(`${list}:oldest`, Uuid),
  };
  return (request: PageRequest, sort: IdSort = 'newest') => {
    const cursor = cursors[sort];
    const after = cursor.decode(request.cursor);
    return {
      where: after === undefined ? undefined : sort === 'newest' ? lt(id, after) : gt(id, after),
      orderBy: sort === 'newest' ? desc(id) : asc(id),
      limit: request.limit + 1,
      page: <R, O>(rows: R[], idOf: (row: R) => string, map: (row: R) => O) =>
        cursor.page(rows, request.limit, idOf, map),
    };
  };
}

/** One page's part of an `idPages` list query. */
export type IdPage = ReturnType<ReturnType<typeof idPages>>;
