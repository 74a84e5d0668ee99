import { pgTable, uuid } from 'drizzle-orm/pg-core';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { AppError } from './errors.ts';
import { idPages, listCursor } from './pagination.ts';

/** A table only for its id column: the cursors are checked before any query runs. */
const things = pgTable('things', { id: uuid('id').primaryKey() });

const ID = '0195f0c2-0000-7000-8000-000000000001';
const refused = (decode: () => unknown) => {
  try {
    decode();
  } catch (error) {
    return error instanceof AppError ? [error.status, error.code] : error;
  }
  return 'taken';
};

describe('a list’s cursors', () => {
  const amount = listCursor(
    'orders.order_bids:amount',
    Type.Tuple([Type.Integer(), Type.String({ format: 'uuid' })]),
  );

  it('give back the key they were made from, and nothing on the first page', () => {
    expect(amount.decode(amount.encode([120_000, ID]))).toEqual([120_000, ID]);
    expect(amount.decode(undefined)).toBeUndefined();
  });

  it('are refused by another list, by this list in another order, and when forged', () => {
    const other = listCursor(
      'orders.my_bids:amount',
      Type.Tuple([Type.Integer(), Type.String({ format: 'uuid' })]),
    );
    const newest = idPages('orders.order_bids', things.id);
    const given = amount.encode([120_000, ID]);
    expect(refused(() => other.decode(given))).toEqual([400, 'invalid_cursor']);
    expect(refused(() => newest({ limit: 1, cursor: given }))).toEqual([400, 'invalid_cursor']);
    for (const forged of [
      'garbage',
      'e30',
      Buffer.from(JSON.stringify([120_000, ID])).toString('base64url'),
    ]) {
      expect(refused(() => amount.decode(forged))).toEqual([400, 'invalid_cursor']);
    }
    const wrongKey = Buffer.from(JSON.stringify(['orders.order_bids:amount', ['a lot', ID]])).toString(
      'base64url',
    );
    expect(refused(() => amount.decode(wrongKey))).toEqual([400, 'invalid_cursor']);
  });

  it('make a page of the first `limit` rows and a cursor only when a row is left over', () => {
    const rows = [1, 2, 3].map((n) => ({ n, id: ID }));
    const full = amount.page(
      rows,
      2,
      (r) => [r.n, r.id],
      (r) => r.n,
    );
    expect(full.data).toEqual([1, 2]);
    expect(amount.decode(full.next_cursor ?? undefined)).toEqual([2, ID]);
    expect(
      amount.page(
        rows,
        3,
        (r) => [r.n, r.id],
        (r) => r.n,
      ),
    ).toEqual({ data: [1, 2, 3], next_cursor: null });
  });
});
