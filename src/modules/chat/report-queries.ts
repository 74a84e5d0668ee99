import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { chatReports } from './schema.ts';

export type ReportRow = typeof chatReports.$inferSelect;

/** Whether any report was made of a message of the room: its context is then open to moderators. */
export async function hasReportIn(db: Db, roomId: string) {
  const [row] = await db
    .select({ one: sql`1` })
    .from(chatReports)
    .where(eq(chatReports.roomId, roomId))
    .limit(1);
  return row !== undefined;
}
