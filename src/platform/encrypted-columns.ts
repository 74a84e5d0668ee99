import { getTableName } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';

type EncryptedTable = PgTable & { id: PgColumn };

interface EncryptedColumn {
  table: EncryptedTable;
  column: PgColumn;
  /** The property name of the column in the Drizzle table, for updates. */
  key: string;
}

export const encryptedColumns: EncryptedColumn[] = [];

/** Modules declare their encrypted columns beside their schema, so rotation reaches every one of them. */
export function registerEncryptedColumn(table: EncryptedTable, key: string) {
  const column = (table as unknown as Record<string, PgColumn>)[key];
  if (!column) throw new Error(`${getTableName(table)} has no column ${key}`);
  encryptedColumns.push({ table, column, key });
}
