import { getTableName } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';

type EncryptedTable = PgTable & { id: PgColumn };

export interface EncryptedColumn {
  table: EncryptedTable;
  column: PgColumn;
  /** The property name of the column in the Drizzle table, for updates. */
  key: string;
}

/**
 * Declares a column that holds `FieldCipher` ciphertext. A module lists its own beside its schema and app.ts
 * hands every module's list to key rotation, so rotation reaches each of them and nothing else.
 */
export function encryptedColumn(table: EncryptedTable, key: string): EncryptedColumn {
  const column = (table as unknown as Record<string, PgColumn>)[key];
  if (!column) throw new Error(`${getTableName(table)} has no column ${key}`);
  return { table, column, key };
}
