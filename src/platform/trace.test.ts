import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helper.ts';
import { newId } from './columns.ts';
import { type Database, prepareSql } from './db.ts';
import { createEventBus, subscribe } from './events.ts';
import { createJobs, defineJob } from './jobs.ts';
import { formatTraceparent, parseTraceparent, runInTrace, type TraceContext } from './trace.ts';

/** The trace context of what enqueued a job travels with it, by every way a job is enqueued, into its logs. */
let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

const trace = (n: number): TraceContext => ({
  traceId: n.toString(16).padStart(32, 'a'),
  parentId: n.toString(16).padStart(16, 'b'),
  flags: '01',
});

describe('traceparent', () => {
  it('takes version 00 with lower-case hex ids that are not all zeros, and nothing else', () => {
    const given = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(parseTraceparent(given)).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: '01',
    });
    expect(formatTraceparent(parseTraceparent(given)!)).toBe(given);
    for (const bad of [
      given.toUpperCase(),
      given.replace(/^00/, '01'),
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      `${given}-extra`,
      '',
      undefined,
      ['a'],
    ]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });
});

describe('a job enqueued in a trace', () => {
  it('carries the trace by enqueue, emit and a prepared statement’s emitSql, and its log lines have the trace id', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    const jobs = createJobs({ database, log, work: false });
    const seen: unknown[] = [];
    const direct = defineJob<{ n: number }>({
      name: `trace.direct-${newId()}`,
      async handle(data, ctx) {
        seen.push(data);
        ctx.log.info('direct ran');
      },
    });
    jobs.register(direct);
    const events = createEventBus({ db: database.db, jobs });
    const module = `trace${Date.now()}`;
    events.subscribe(
      subscribe({
        module,
        types: ['traced'],
        async handle(event, ctx) {
          seen.push(event);
          ctx.log.info('event heard');
        },
      }),
    );
    await jobs.start();
    try {
      // Prepared once, run in two traces and in none: each run stores its own.
      const emitting = prepareSql(
        database.db,
        sql`with told as (${events.emitSql(['traced'], sql`select jsonb_build_object('id', ${sql.placeholder('id')}::text, 'type', 'traced')`)}) select 1`,
      );
      const ids = [newId(), newId(), newId(), newId()];
      await runInTrace(trace(1), () => jobs.enqueue(database.db, direct, { n: 1 }));
      await runInTrace(trace(2), () => events.emit({ id: ids[0], type: 'traced' }));
      await runInTrace(trace(3), () => emitting({ id: ids[1] }));
      await runInTrace(trace(4), () => emitting({ id: ids[2] }));
      await emitting({ id: ids[3] });

      const { rows } = await database.sql.query(
        `select name, data from pgboss.job where name = $1 or name = $2 order by created_on, data->>'id'`,
        [direct.name, `${module}.on.traced`],
      );
      const stored = rows.map((r) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data));
      const traceOf = (id: string) => stored.find((d) => d.id === id)?.traceparent;
      expect(stored.find((d) => d.n === 1)?.traceparent).toBe(formatTraceparent(trace(1)));
      expect(traceOf(ids[0]!)).toBe(formatTraceparent(trace(2)));
      expect(traceOf(ids[1]!)).toBe(formatTraceparent(trace(3)));
      expect(traceOf(ids[2]!)).toBe(formatTraceparent(trace(4)));
      expect(stored.find((d) => d.id === ids[3])).not.toHaveProperty('traceparent');

      await jobs.runQueued([direct.name, `${module}.on.traced`]);
      // Handlers get the data as it was given, without the trace.
      expect(seen).toContainEqual({ n: 1 });
      expect(seen).toContainEqual({ id: ids[0], type: 'traced' });
      const traced = (id: string, msg: string) =>
        lines.filter((l) => l.msg === msg && l.traceId === id).length;
      expect(traced(trace(1).traceId, 'direct ran')).toBe(1);
      for (const n of [2, 3, 4]) expect(traced(trace(n).traceId, 'event heard'), String(n)).toBe(1);
      const untraced = lines.filter((l) => l.msg === 'event heard' && l.traceId === undefined);
      expect(untraced).toHaveLength(1);
    } finally {
      await jobs.stop(2_000);
    }
  });

  it('a job enqueued by a traced job carries the same trace', async () => {
    const jobs = createJobs({ database, log: pino({ level: 'silent' }), work: false });
    const second = defineJob<object>({ name: `trace.second-${newId()}`, async handle() {} });
    const first = defineJob<object>({
      name: `trace.first-${newId()}`,
      async handle() {
        await jobs.enqueue(database.db, second, {});
      },
    });
    jobs.register(first, second);
    await jobs.start();
    try {
      await runInTrace(trace(5), () => jobs.enqueue(database.db, first, {}));
      await jobs.runQueued([first.name]);
      const { rows } = await database.sql.query(`select data from pgboss.job where name = $1`, [second.name]);
      const data = rows.map((r) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data));
      expect(data).toEqual([{ traceparent: formatTraceparent(trace(5)) }]);
    } finally {
      await jobs.stop(2_000);
    }
  });
});
