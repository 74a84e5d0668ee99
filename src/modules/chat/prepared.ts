import { getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { type Db, prepareSql } from '../../platform/db.ts';

/**
 * A table's columns under the keys Drizzle's `select()` gives them, for hand-written statements whose rows
 * stand for its rows: the driver parses the values as Drizzle would have them (timestamps as dates, bigints
 * as numbers, jsonb parsed).
 */
export const columnsOf = (table: PgTable, alias: string) =>
  sql.raw(
    Object.entries(getTableColumns(table))
      .map(([key, column]) => `${alias}."${column.name}" as "${key}"`)
      .join(', '),
  );

/**
 * A statement of the chat's hot paths (a send, a page), written once and run by name through `prepareSql`:
 * Drizzle's builder, run anew on every call, was most of a send's CPU, and PostgreSQL planned each text
 * again (bench/README.md, "Chat (issue 21)"). Prepared for each handle it is run on, inside a transaction
 * too, where the handle reaches the transaction's connection.
 */
export function statement<Row>(query: SQL) {
  const byHandle = new WeakMap<Db, (values?: Record<string, unknown>) => Promise<Row[]>>();
  return (db: Db, values: Record<string, unknown>) => {
    let run = byHandle.get(db);
    if (!run) {
      run = prepareSql<Row>(db, query);
      byHandle.set(db, run);
    }
    return run(values);
  };
}
