import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../../test/global-setup.ts';
import { createTestApp, createTestDatabase } from '../../test/helper.ts';
import { type Database, type Db, openPostgres } from './db.ts';
import {
  createPartitionManager,
  definePartitionedTable,
  firstUuidv7Of,
  type PartitionedTable,
  type PartitionPeriod,
} from './partitions.ts';

/**
 * The partition manager on a table made here as a module's migration would make it (ARCHITECTURE.md,
 * "Partitioned tables"): messages of a room, partitioned by id, with (room_id, seq) unique across partitions
 * through its key table. Dates are in the past, so retention may take them; the platform day is Asia/Bishkek
 * (UTC+6), so a Bishkek midnight is 18:00 UTC the day before.
 */
let database: Database;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
});
afterAll(() => database.close());

const lastUuidv7Of = (ms: number) => `${firstUuidv7Of(ms).slice(0, 14)}7fff-bfff-ffffffffffff`;
const at = (iso: string) => new Date(iso).getTime();
const ROOM_A = '00000000-0000-4000-8000-00000000000a';
const ROOM_B = '00000000-0000-4000-8000-00000000000b';

async function rows<T>(query: ReturnType<typeof sql>, on: Db = db): Promise<T[]> {
  return ((await on.execute(query)) as unknown as { rows: T[] }).rows;
}

/** The parent, its key table and the key's trigger, as the module's migration writes them. */
async function messagesTable(period: PartitionPeriod, ahead = 1): Promise<PartitionedTable> {
  const table = `test_messages_${randomBytes(4).toString('hex')}`;
  const t = sql.identifier(table);
  const seqs = sql.identifier(`${table}_seqs`);
  await db.execute(sql`create table ${t} (
      id uuid primary key not null,
      created_at timestamptz default now() not null,
      room_id uuid not null,
      seq bigint not null,
      body text not null
    ) partition by range (id)`);
  await db.execute(sql`create index ${sql.identifier(`${table}_room_idx`)} on ${t} (room_id, id)`);
  await db.execute(sql`create table ${seqs} (
      room_id uuid not null,
      seq bigint not null,
      id uuid not null unique,
      primary key (room_id, seq)
    )`);
  await db.execute(sql`create trigger ${sql.identifier(`${table}_room_seq`)}
      after insert or delete or update of room_id, seq on ${t}
      for each row execute function partitioned_unique_key(${sql.raw(`'${table}_seqs'`)}, 'room_id', 'seq')`);
  return definePartitionedTable({ table, period, ahead });
}

const insertMessage = (table: PartitionedTable, id: string, roomId: string, seq: number, on: Db = db) =>
  on.execute(
    sql`insert into ${sql.identifier(table.table)} (id, room_id, seq, body) values (${id}, ${roomId}, ${seq}, 'hello')`,
  );

const placed = (table: PartitionedTable) =>
  rows<{ id: string; partition: string; room_id: string; seq: number }>(
    sql`select id, tableoid::regclass::text as partition, room_id, seq::int as seq
        from ${sql.identifier(table.table)} order by id`,
  );

const keysOf = (table: PartitionedTable) =>
  rows<{ id: string; room_id: string; seq: number }>(
    sql`select id, room_id, seq::int as seq from ${sql.identifier(`${table.table}_seqs`)} order by id`,
  );

const exists = async (name: string) =>
  (await rows<{ oid: string | null }>(sql`select to_regclass(${name})::text as oid`))[0]?.oid != null;

/** A database error's SQLSTATE and constraint, wherever the driver wrapped it. */
async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeDefined();
  let e = error as { code?: string; constraint?: string; cause?: unknown };
  while (!e.code && e.cause) e = e.cause as typeof e;
  return { code: e.code, constraint: e.constraint };
}

/**
 * Another process on the same database: a second pool on PostgreSQL. The embedded database belongs to one
 * process, so there two callers in this one share it.
 */
async function secondProcess(): Promise<{ db: Db; close(): Promise<void> }> {
  if (!inject('pgTemplate')) return { db, close: async () => {} };
  const [{ name } = { name: '' }] = await rows<{ name: string }>(sql`select current_database() as name`);
  const other = openPostgres(withDatabase(process.env.DATABASE_URL as string, name), 4);
  return { db: other.db, close: () => other.close() };
}

describe('creating partitions ahead', () => {
  it('makes the current period and the ones ahead, each from the first UUIDv7 of its first Bishkek midnight', async () => {
    const manager = createPartitionManager({ db });
    const month = await messagesTable('month', 2);
    const week = await messagesTable('week', 1);
    const day = await messagesTable('day', 1);
    manager.register(month, week, day);

    // A Wednesday, 02:00 in Bishkek: still the 20th there.
    const created = await manager.createAhead(new Date('2021-01-19T20:00:00Z'));

    // Each period: the day it begins, and its first and last instants in UTC.
    const expected: [PartitionedTable, string, string, string][] = [
      [month, '20210101', '2020-12-31T18:00:00Z', '2021-01-31T18:00:00Z'],
      [month, '20210201', '2021-01-31T18:00:00Z', '2021-02-28T18:00:00Z'],
      [month, '20210301', '2021-02-28T18:00:00Z', '2021-03-31T18:00:00Z'],
      [week, '20210118', '2021-01-17T18:00:00Z', '2021-01-24T18:00:00Z'],
      [week, '20210125', '2021-01-24T18:00:00Z', '2021-01-31T18:00:00Z'],
      [day, '20210120', '2021-01-19T18:00:00Z', '2021-01-20T18:00:00Z'],
      [day, '20210121', '2021-01-20T18:00:00Z', '2021-01-21T18:00:00Z'],
    ];
    for (const table of [month, week, day]) {
      expect(await manager.partitionsOf(table)).toEqual(
        expected
          .filter(([t]) => t === table)
          .map(([, first, from, to]) => ({
            name: `${table.table}_p${first}`,
            from: new Date(from),
            to: new Date(to),
          })),
      );
    }
    expect(created.sort()).toEqual(expected.map(([t, first]) => `${t.table}_p${first}`).sort());
    const [bound] = await rows<{ bound: string }>(
      sql`select pg_get_expr(relpartbound, oid) as bound from pg_class where relname = ${`${month.table}_p20210201`}`,
    );
    expect(bound?.bound).toBe(
      `FOR VALUES FROM ('${firstUuidv7Of(at('2021-01-31T18:00:00Z'))}') TO ('${firstUuidv7Of(at('2021-02-28T18:00:00Z'))}')`,
    );
    expect(firstUuidv7Of(at('2021-01-31T18:00:00Z'))).toBe('01775999-fd00-7000-8000-000000000000');
  });

  it('creating again, or from two processes at once, makes each partition once and fails nowhere', async () => {
    const other = await secondProcess();
    try {
      for (let round = 0; round < 3; round++) {
        const table = await messagesTable('day', 3);
        const first = createPartitionManager({ db });
        const second = createPartitionManager({ db: other.db });
        first.register(table);
        second.register(table);
        const now = new Date('2021-06-10T12:00:00Z');

        const [a, b] = await Promise.all([first.createAhead(now), second.createAhead(now)]);

        const names = ['20210610', '20210611', '20210612', '20210613'].map((d) => `${table.table}_p${d}`);
        expect([...a, ...b].sort()).toEqual(names);
        expect((await first.partitionsOf(table)).map((p) => p.name)).toEqual(names);
        expect(await first.createAhead(now)).toEqual([]);
        // A day later one more partition is due, and only that one is made.
        expect(await second.createAhead(new Date('2021-06-11T12:00:00Z'))).toEqual([
          `${table.table}_p20210614`,
        ]);
      }
    } finally {
      await other.close();
    }
  });

  it('the job makes the partitions of the registered tables for now, and the app schedules it', async () => {
    const manager = createPartitionManager({ db });
    const table = await messagesTable('day', 2);
    manager.register(table);
    const log = pino({ level: 'silent' });

    await manager.job.handle({}, { log, jobId: 'job-1', retryCount: 0 });
    await manager.job.handle({}, { log, jobId: 'job-2', retryCount: 0 });

    const partitions = await manager.partitionsOf(table);
    expect(partitions).toHaveLength(3);
    const [current] = partitions;
    expect(current!.from.getTime()).toBeLessThanOrEqual(Date.now());
    expect(current!.to.getTime()).toBeGreaterThan(Date.now());
    // A row made now has its partition.
    await insertMessage(table, uuidv7(), ROOM_A, 1);
    expect((await placed(table)).map((r) => r.partition)).toEqual([current!.name]);

    const t = await createTestApp();
    try {
      const schedules = await t.app.services.jobs.boss.getSchedules();
      expect(schedules.map((s) => s.name)).toContain(manager.job.name);
      expect(schedules.find((s) => s.name === manager.job.name)?.cron).toBe(manager.job.cron);
    } finally {
      await t.close();
    }
  });

  it('refuses a table that is not partitioned by range of id, and a declaration it cannot name', async () => {
    const table = `test_plain_${randomBytes(4).toString('hex')}`;
    await db.execute(sql`create table ${sql.identifier(table)} (id uuid primary key)`);
    const manager = createPartitionManager({ db });
    manager.register(definePartitionedTable({ table, period: 'day', ahead: 1 }));
    await expect(manager.createAhead()).rejects.toThrow(`${table} is not a table partitioned by range of id`);
    expect(await exists(`${table}_p20210101`)).toBe(false);

    expect(() => definePartitionedTable({ table: 'Chat Messages', period: 'day', ahead: 1 })).toThrow(
      'must be a lower-case identifier',
    );
    expect(() => definePartitionedTable({ table: 'x'.repeat(54), period: 'day', ahead: 1 })).toThrow(
      'at most 53 characters',
    );
    expect(() => definePartitionedTable({ table: 'chat_messages', period: 'day', ahead: 0 })).toThrow(
      'ahead must be a whole number of periods, at least 1',
    );
  });
});

describe('rows in partitions', () => {
  const boundary = at('2021-01-31T18:00:00Z'); // 1 February, 00:00 in Bishkek

  async function januaryAndFebruary() {
    const manager = createPartitionManager({ db });
    const table = await messagesTable('month', 1);
    manager.register(table);
    await manager.createAhead(new Date('2021-01-15T00:00:00Z'));
    return { manager, table, jan: `${table.table}_p20210101`, feb: `${table.table}_p20210201` };
  }

  it('land in the partition of the period their id was made in, on either side of the boundary', async () => {
    const { table, jan, feb } = await januaryAndFebruary();
    const lastOfJanuary = lastUuidv7Of(boundary - 1);
    const madeLastMsOfJanuary = uuidv7({ msecs: boundary - 1 });
    const firstOfFebruary = firstUuidv7Of(boundary);
    const madeFirstMsOfFebruary = uuidv7({ msecs: boundary });
    for (const [seq, id] of [
      lastOfJanuary,
      madeLastMsOfJanuary,
      firstOfFebruary,
      madeFirstMsOfFebruary,
    ].entries()) {
      await insertMessage(table, id, ROOM_A, seq);
    }

    expect(await placed(table)).toEqual(
      [
        { id: madeLastMsOfJanuary, partition: jan, room_id: ROOM_A, seq: 1 },
        { id: lastOfJanuary, partition: jan, room_id: ROOM_A, seq: 0 },
        { id: firstOfFebruary, partition: feb, room_id: ROOM_A, seq: 2 },
        { id: madeFirstMsOfFebruary, partition: feb, room_id: ROOM_A, seq: 3 },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
  });

  it('a row whose period has no partition is refused, not parked in a default partition', async () => {
    const { table } = await januaryAndFebruary();
    const march = uuidv7({ msecs: at('2021-03-02T00:00:00Z') });
    expect(await failure(insertMessage(table, march, ROOM_A, 1))).toMatchObject({ code: '23514' });
    expect(await placed(table)).toEqual([]);
    expect(await keysOf(table)).toEqual([]);
  });

  it('a (room, seq) key holds across partitions, follows deletes and updates, and names its constraint', async () => {
    const { table, jan, feb } = await januaryAndFebruary();
    const january = uuidv7({ msecs: boundary - 86_400_000 });
    await insertMessage(table, january, ROOM_A, 1);

    const duplicate = uuidv7({ msecs: boundary + 86_400_000 });
    expect(await failure(insertMessage(table, duplicate, ROOM_A, 1))).toEqual({
      code: '23505',
      constraint: `${table.table}_seqs_pkey`,
    });
    // Two rows in one statement, one partition each: the statement fails as a whole.
    await expect(
      db.execute(sql`insert into ${sql.identifier(table.table)} (id, room_id, seq, body)
          values (${uuidv7({ msecs: boundary - 1000 })}, ${ROOM_B}, 7, 'a'), (${uuidv7({ msecs: boundary + 1000 })}, ${ROOM_B}, 7, 'b')`),
    ).rejects.toThrow();
    expect((await placed(table)).map((r) => r.id)).toEqual([january]);

    const february = uuidv7({ msecs: boundary + 86_400_000 });
    await insertMessage(table, february, ROOM_A, 2);
    await insertMessage(table, uuidv7({ msecs: boundary + 2 * 86_400_000 }), ROOM_B, 1);
    expect((await placed(table)).map((r) => [r.partition, r.room_id, r.seq])).toEqual([
      [jan, ROOM_A, 1],
      [feb, ROOM_A, 2],
      [feb, ROOM_B, 1],
    ]);

    // A deleted row's key is free again; an updated row takes its new key and frees the old one.
    await db.execute(sql`delete from ${sql.identifier(table.table)} where id = ${january}`);
    await insertMessage(table, uuidv7({ msecs: boundary + 3 * 86_400_000 }), ROOM_A, 1);
    await db.execute(sql`update ${sql.identifier(table.table)} set seq = 3 where id = ${february}`);
    await insertMessage(table, uuidv7({ msecs: boundary + 4 * 86_400_000 }), ROOM_A, 2);
    expect(
      await failure(insertMessage(table, uuidv7({ msecs: boundary + 5 * 86_400_000 }), ROOM_A, 3)),
    ).toEqual({
      code: '23505',
      constraint: `${table.table}_seqs_pkey`,
    });

    const stored = await placed(table);
    expect((await keysOf(table)).map((k) => [k.id, k.room_id, k.seq])).toEqual(
      stored.map((r) => [r.id, r.room_id, r.seq]),
    );
    expect(stored.map((r) => [r.room_id, r.seq]).sort()).toEqual(
      [
        [ROOM_A, 1],
        [ROOM_A, 2],
        [ROOM_A, 3],
        [ROOM_B, 1],
      ].sort(),
    );
  });
});

describe('retiring old partitions', () => {
  /** January to April 2021 by month, with a message of room A in each of the first three. */
  async function fourMonths() {
    const manager = createPartitionManager({ db });
    const table = await messagesTable('month', 3);
    manager.register(table);
    await manager.createAhead(new Date('2021-01-15T00:00:00Z'));
    const ids = ['2021-01-10', '2021-02-10', '2021-03-10'].map((day) =>
      uuidv7({ msecs: at(`${day}T00:00:00Z`) }),
    );
    for (const [i, id] of ids.entries()) await insertMessage(table, id, ROOM_A, i + 1);
    const name = (month: string) => `${table.table}_p2021${month}01`;
    return { manager, table, ids, name };
  }

  it('drops the partitions whose period ended by the cutoff and keeps newer rows and their keys', async () => {
    const { manager, table, ids, name } = await fourMonths();

    // In the middle of March: January and February have ended, March has not.
    expect(await manager.dropOlderThan(table, new Date('2021-03-15T00:00:00Z'))).toEqual([
      name('01'),
      name('02'),
    ]);

    expect((await manager.partitionsOf(table)).map((p) => p.name)).toEqual([name('03'), name('04')]);
    expect(await exists(name('01'))).toBe(false);
    expect(await exists(name('02'))).toBe(false);
    expect(await placed(table)).toEqual([{ id: ids[2], partition: name('03'), room_id: ROOM_A, seq: 3 }]);
    // The dropped rows' keys went with them; the kept row's key still holds.
    expect(await keysOf(table)).toEqual([{ id: ids[2], room_id: ROOM_A, seq: 3 }]);
    await insertMessage(table, uuidv7({ msecs: at('2021-03-20T00:00:00Z') }), ROOM_A, 1);
    expect(
      await failure(insertMessage(table, uuidv7({ msecs: at('2021-03-21T00:00:00Z') }), ROOM_A, 3)),
    ).toMatchObject({ code: '23505' });

    expect(await manager.dropOlderThan(table, new Date('2021-03-15T00:00:00Z'))).toEqual([]);
    expect(await placed(table)).toHaveLength(2);
  });

  it('a cutoff on a period’s last boundary takes that period; one in the future is refused and takes nothing', async () => {
    const { manager, table, name } = await fourMonths();
    expect(await manager.dropOlderThan(table, new Date('2021-01-31T17:59:59.999Z'))).toEqual([]);
    expect(await manager.dropOlderThan(table, new Date('2021-01-31T18:00:00Z'))).toEqual([name('01')]);

    await expect(manager.dropOlderThan(table, new Date(Date.now() + 60_000))).rejects.toThrow(
      'is in the future',
    );
    expect((await manager.partitionsOf(table)).map((p) => p.name)).toEqual([
      name('02'),
      name('03'),
      name('04'),
    ]);
    expect(await placed(table)).toHaveLength(2);
  });

  it('detaching leaves the old partitions as tables of their own, with their rows, out of the parent', async () => {
    const { manager, table, ids, name } = await fourMonths();

    expect(await manager.detachOlderThan(table, new Date('2021-02-15T00:00:00Z'))).toEqual([name('01')]);

    expect((await manager.partitionsOf(table)).map((p) => p.name)).toEqual([
      name('02'),
      name('03'),
      name('04'),
    ]);
    expect((await placed(table)).map((r) => r.id)).toEqual([ids[1], ids[2]]);
    expect(await rows(sql`select id, seq::int as seq from ${sql.identifier(name('01'))}`)).toEqual([
      { id: ids[0], seq: 1 },
    ]);
    expect((await keysOf(table)).map((k) => k.seq)).toEqual([2, 3]);
  });

  it('two retentions at once retire each partition once', async () => {
    const other = await secondProcess();
    try {
      const { manager, table, name } = await fourMonths();
      const elsewhere = createPartitionManager({ db: other.db });
      const cutoff = new Date('2021-03-15T00:00:00Z');

      const [a, b] = await Promise.all([
        manager.dropOlderThan(table, cutoff),
        elsewhere.dropOlderThan(table, cutoff),
      ]);

      expect([...a, ...b].sort()).toEqual([name('01'), name('02')]);
      expect((await manager.partitionsOf(table)).map((p) => p.name)).toEqual([name('03'), name('04')]);
    } finally {
      await other.close();
    }
  });
});
