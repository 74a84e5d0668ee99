import { and, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { chatReports, chatRestrictions } from './schema.ts';

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

export type NewReport = typeof chatReports.$inferInsert;

export async function insertReport(db: Db, report: NewReport) {
  const [row] = await db.insert(chatReports).values(report).returning();
  return row as ReportRow;
}

export async function reportById(db: Db, id: string) {
  const [row] = await db.select().from(chatReports).where(eq(chatReports.id, id));
  return row;
}

export async function lockReport(db: Db, id: string) {
  const [row] = await db.select().from(chatReports).where(eq(chatReports.id, id)).for('update');
  return row;
}

export async function updateReport(db: Db, id: string, set: Partial<NewReport>) {
  const [row] = await db.update(chatReports).set(set).where(eq(chatReports.id, id)).returning();
  return row as ReportRow;
}

export const reportsIn = (
  db: Db,
  statuses: readonly ReportRow['status'][],
  page: { where?: SQL; orderBy: SQL; limit: number },
) =>
  db
    .select()
    .from(chatReports)
    .where(and(inArray(chatReports.status, [...statuses]), page.where))
    .orderBy(page.orderBy)
    .limit(page.limit);

export async function insertRestriction(db: Db, restriction: typeof chatRestrictions.$inferInsert) {
  const [row] = await db.insert(chatRestrictions).values(restriction).returning();
  return row;
}
