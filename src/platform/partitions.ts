import { type SQL, sql } from 'drizzle-orm';
import type { Db } from './db.ts';
import { defineJob, PLATFORM_TIME_ZONE } from './jobs.ts';

/**
 * Time-partitioned tables (ARCHITECTURE.md, "Partitioned tables"). A table is range-partitioned by its UUIDv7
 * id, whose first 48 bits are its creation time in milliseconds, so each partition holds the rows made in one
 * period and the primary key stays unique across all of them. Periods begin at midnight in the platform time
 * zone, as the days of rollups and cron schedules do; weeks begin on Monday.
 */
export type PartitionPeriod = 'day' | 'week' | 'month';

export interface PartitionedTable {
  /** The parent table, which its module's migration creates with `PARTITION BY RANGE ("id")`. */
  table: string;
  period: PartitionPeriod;
  /** Partitions are kept ready for the current period and this many after it. */
  ahead: number;
}

export interface Partition {
  name: string;
  /** The first millisecond of its period, and the first of the next: its rows' ids were made in between. */
  from: Date;
  to: Date;
}

const STEP: Record<PartitionPeriod, string> = { day: '1 day', week: '1 week', month: '1 month' };
// A partition is named after its table and the day its period begins: `_p` and eight digits.
const NAME = /^[a-z_][a-z0-9_]{0,52}$/;
const BOUND = /^FOR VALUES FROM \('([0-9a-f-]{36})'\) TO \('([0-9a-f-]{36})'\)$/;
/** How long partition DDL waits for a lock before it gives up, to be tried again on the next run. */
const LOCK_TIMEOUT = sql.raw(`set local lock_timeout = '5s'`);
const KEY_BATCH = 10_000;

export function definePartitionedTable(declaration: PartitionedTable): PartitionedTable {
  if (!NAME.test(declaration.table)) {
    throw new Error(
      `partitioned table name ${declaration.table} must be a lower-case identifier of at most 53 characters`,
    );
  }
  if (!Number.isInteger(declaration.ahead) || declaration.ahead < 1) {
    throw new Error(
      `partitioned table ${declaration.table}: ahead must be a whole number of periods, at least 1`,
    );
  }
  return declaration;
}

/**
 * The smallest UUIDv7 made in the millisecond `ms`: the 48-bit time, version 7, variant 10, all else zero.
 * A period's partition runs from the smallest id of its first millisecond up to, not including, the smallest
 * of the next period's, so it holds every UUIDv7 of its period down to the largest (`...-7fff-bfff-ffff...`).
 */
export function firstUuidv7Of(ms: number): string {
  const time = ms.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7000-8000-000000000000`;
}

const timeOfUuid = (id: string) => new Date(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16));

interface Bounded extends Partition {
  fromId: string;
}

async function rowsOf<T>(db: Db, query: SQL): Promise<T[]> {
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}

/** One process at a time changes a table's partitions; the other waits, then finds the work done. */
const lockPartitionsOf = async (tx: Db, table: string) => {
  await tx.execute(LOCK_TIMEOUT);
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`partitions:${table}`}))`);
};

async function partitionsIn(db: Db, table: string): Promise<Bounded[]> {
  const [parent] = await rowsOf<{ column: string | null }>(
    db,
    sql`select (select a.attname from pg_attribute a
                 where a.attrelid = p.partrelid and a.attnum = p.partattrs[0] and p.partnatts = 1) as column
        from pg_partitioned_table p
        where p.partrelid = to_regclass(${table}) and p.partstrat = 'r'`,
  );
  if (parent?.column !== 'id') {
    throw new Error(`${table} is not a table partitioned by range of id; its migration must create it so`);
  }
  const children = await rowsOf<{ name: string; bound: string }>(
    db,
    sql`select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = to_regclass(${table})`,
  );
  return children
    .map(({ name, bound }) => {
      const ids = BOUND.exec(bound);
      // A default partition would take rows with no partition of their own, then block the one that should.
      if (!ids)
        throw new Error(
          `${table} has partition ${name} (${bound}), not a range of ids as partitions are made`,
        );
      const [, fromId = '', toId = ''] = ids;
      return { name, from: timeOfUuid(fromId), to: timeOfUuid(toId), fromId };
    })
    .sort((a, b) => a.from.getTime() - b.from.getTime());
}

/** The periods of `table` from the one holding `now` to `ahead` after it, with their partitions' names. */
async function periodsOf(db: Db, { table, period, ahead }: PartitionedTable, now: Date) {
  const step = STEP[period];
  const rows = await rowsOf<{ day: string; from_ms: number; to_ms: number }>(
    db,
    sql`with first as (select date_trunc(${period}::text, ${now.toISOString()}::timestamptz at time zone ${PLATFORM_TIME_ZONE}) as at)
        select to_char(s, 'YYYYMMDD') as day,
               (extract(epoch from s at time zone ${PLATFORM_TIME_ZONE}) * 1000)::float8 as from_ms,
               (extract(epoch from (s + ${step}::interval) at time zone ${PLATFORM_TIME_ZONE}) * 1000)::float8 as to_ms
        from first, generate_series(first.at, first.at + ${ahead}::int * ${step}::interval, ${step}::interval) s`,
  );
  return rows.map((r) => ({ name: `${table}_p${r.day}`, from: new Date(r.from_ms), to: new Date(r.to_ms) }));
}

/** The tables that hold `table`'s unique keys: the first argument of each `partitioned_unique_key` trigger on it. */
const keyTablesOf = (db: Db, table: string) =>
  rowsOf<{ key_table: string }>(
    db,
    sql`select distinct split_part(encode(t.tgargs, 'escape'), '\\000', 1) as key_table
        from pg_trigger t
        where t.tgrelid = to_regclass(${table}) and t.tgfoid = to_regproc('partitioned_unique_key')`,
  );

export type PartitionManager = ReturnType<typeof createPartitionManager>;

export function createPartitionManager({ db }: { db: Db }) {
  const tables: PartitionedTable[] = [];

  /**
   * A new partition is made as a table of its own and then attached: attaching locks the parent only against
   * other DDL (SHARE UPDATE EXCLUSIVE), where `CREATE TABLE ... PARTITION OF` would stop its reads and writes.
   */
  async function createAheadFor(declaration: PartitionedTable, now: Date): Promise<string[]> {
    return db.transaction(async (tx) => {
      await lockPartitionsOf(tx, declaration.table);
      const existing = await partitionsIn(tx, declaration.table);
      const parent = sql.identifier(declaration.table);
      const created: string[] = [];
      for (const period of await periodsOf(tx, declaration, now)) {
        if (existing.some((p) => p.from < period.to && period.from < p.to)) continue;
        const partition = sql.identifier(period.name);
        await tx.execute(sql`create table ${partition} (like ${parent} including all)`);
        // Partition bounds take no parameters; both are made here from a number, as literals.
        const from = sql.raw(`'${firstUuidv7Of(period.from.getTime())}'`);
        const to = sql.raw(`'${firstUuidv7Of(period.to.getTime())}'`);
        await tx.execute(
          sql`alter table ${parent} attach partition ${partition} for values from (${from}) to (${to})`,
        );
        created.push(period.name);
      }
      return created;
    });
  }

  /**
   * Takes out of `table` every partition whose period ended by `cutoff`; the one holding `cutoff` stays, so no
   * row made after it goes. Then deletes the unique keys of rows no longer in the table, in batches after the
   * commit: until then an old key still holds, which is stricter than needed, never looser.
   */
  async function retire(declaration: PartitionedTable, cutoff: Date, drop: boolean): Promise<string[]> {
    if (cutoff.getTime() > Date.now()) {
      throw new RangeError(
        `retention cutoff ${cutoff.toISOString()} for ${declaration.table} is in the future`,
      );
    }
    const { retired, firstKept } = await db.transaction(async (tx) => {
      await lockPartitionsOf(tx, declaration.table);
      const partitions = await partitionsIn(tx, declaration.table);
      const old = partitions.filter((p) => p.to <= cutoff);
      const parent = sql.identifier(declaration.table);
      for (const { name } of old) {
        await tx.execute(sql`alter table ${parent} detach partition ${sql.identifier(name)}`);
        if (drop) await tx.execute(sql`drop table ${sql.identifier(name)}`);
      }
      return { retired: old.map((p) => p.name), firstKept: partitions.find((p) => p.to > cutoff)?.fromId };
    });
    // No row of the table has an id below its first partition: every key there belongs to a row gone.
    const gone = firstKept ? sql`id < ${firstKept}::uuid` : sql`true`;
    for (const { key_table } of await keyTablesOf(db, declaration.table)) {
      const keys = sql.identifier(key_table);
      for (;;) {
        const deleted = await rowsOf<{ id: string }>(
          db,
          sql`delete from ${keys} where id in (select id from ${keys} where ${gone} limit ${KEY_BATCH}) returning id`,
        );
        if (deleted.length < KEY_BATCH) break;
      }
    }
    return retired;
  }

  async function createAhead(now = new Date()): Promise<string[]> {
    const created: string[] = [];
    for (const declaration of tables) created.push(...(await createAheadFor(declaration, now)));
    return created;
  }

  return {
    /** Modules hand their partitioned tables over before start. */
    register(...declarations: PartitionedTable[]) {
      tables.push(...declarations);
    },

    /**
     * Makes the partitions every registered table lacks for the period holding `now` and those ahead of it.
     * Safe to run again and from two processes at once. Run at start, so no process writes before its
     * partitions exist, and by the job below.
     */
    createAhead,

    /** `table`'s partitions, oldest first. */
    async partitionsOf(declaration: PartitionedTable): Promise<Partition[]> {
      const partitions = await partitionsIn(db, declaration.table);
      return partitions.map(({ name, from, to }) => ({ name, from, to }));
    },

    /**
     * Detaches the partitions whose period ended by `cutoff` and leaves them as tables of their own under the
     * same names, for an archive step to read and then drop. Answers their names.
     */
    detachOlderThan: (declaration: PartitionedTable, cutoff: Date) => retire(declaration, cutoff, false),

    /** Detaches and drops the partitions whose period ended by `cutoff`: a retention. Answers their names. */
    dropOlderThan: (declaration: PartitionedTable, cutoff: Date) => retire(declaration, cutoff, true),

    /** Hourly, so a period's partition exists `ahead` periods before its first row. */
    job: defineJob<Record<string, never>>({
      name: 'platform.create-partitions-ahead',
      cron: '23 * * * *',
      async handle(_data, { log }) {
        const created = await createAhead();
        if (created.length > 0) log.info({ created }, 'created partitions ahead');
      },
    }),
  };
}
