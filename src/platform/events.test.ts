import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, sleep, until } from '../../test/helper.ts';
import { firstIdAt, newId } from './columns.ts';
import { type Database, prepareSql } from './db.ts';
import { createEventBus, type DomainEvent, purgeEventDeliveries, subscribe } from './events.ts';
import { eventDeliveries } from './events-schema.ts';
import { createJobs, type Jobs } from './jobs.ts';

/**
 * Events reach every subscriber of their type, each as a job of its own: retried on its own, handled once
 * per event id, and never when the transaction that emitted them rolled back.
 */
const log = pino({ level: 'silent' });
let database: Database;
const running: Jobs[] = [];
let sequence = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  // What the test subscribers do: a row each time a handler's work commits.
  await database.sql.query(
    'create table test_event_effects (subscriber text not null, event_id uuid not null)',
  );
});
afterEach(async () => {
  for (const jobs of running.splice(0)) await jobs.stop(2_000);
});
afterAll(() => database.close());

class Rollback extends Error {}

interface ThingHappened extends DomainEvent<'thing_happened'> {
  thing_id: string;
}

/** A bus with workers, and module names no other test uses. */
function busOn() {
  const jobs = createJobs({ database, log, work: true, pollingIntervalSeconds: 0.5 });
  running.push(jobs);
  const n = ++sequence;
  return { jobs, events: createEventBus({ db: database.db, jobs }), alpha: `alpha${n}`, beta: `beta${n}` };
}

/** A subscriber whose work is a row in test_event_effects; `runs` counts every call of its handler. */
function effectOf(module: string, fail: (attempt: number) => boolean = () => false) {
  const runs: string[] = [];
  const subscription = subscribe<ThingHappened>({
    module,
    types: ['thing_happened'],
    retryDelaySeconds: 1,
    async handle(event) {
      runs.push(event.id);
      await database.db.execute(
        sql`insert into test_event_effects (subscriber, event_id) values (${module}, ${event.id}::uuid)`,
      );
      // After its write: a failure must take the write back with it.
      if (fail(runs.length)) throw new Error(`${module} failed on attempt ${runs.length}`);
    },
  });
  return { subscription, runs };
}

async function effects(module: string, eventId: string) {
  const { rows } = await database.sql.query(
    'select count(*)::int as n from test_event_effects where subscriber = $1 and event_id = $2',
    [module, eventId],
  );
  return rows[0]!.n as number;
}

async function jobsOf(queue: string, eventId: string) {
  const { rows } = await database.sql.query(
    `select state, retry_count from pgboss.job where name = $1 and data->>'id' = $2 order by created_on, id`,
    [queue, eventId],
  );
  return rows as { state: string; retry_count: number }[];
}

/** Two subscribers to `thing_happened`, started; the first fails on the attempts `failAlpha` names. */
async function twoSubscribers(failAlpha?: (attempt: number) => boolean) {
  const { jobs, events, alpha, beta } = busOn();
  const a = effectOf(alpha, failAlpha);
  const b = effectOf(beta);
  events.subscribe(a.subscription, b.subscription);
  await jobs.start();
  return { events, alpha, beta, a, b };
}

const thing = (id = newId()) => ({ id, type: 'thing_happened' as const, thing_id: newId() });

describe('an event with two subscribers', () => {
  it('reaches each subscriber once, as a job of its own queue', async () => {
    const { events, alpha, beta, a, b } = await twoSubscribers();

    const event = thing();
    await database.db.transaction(async () => {
      await events.emit(event);
    });

    await until(async () => (await effects(alpha, event.id)) === 1 && (await effects(beta, event.id)) === 1);
    await until(
      async () =>
        (await jobsOf(`${alpha}.on.thing_happened`, event.id))[0]?.state === 'completed' &&
        (await jobsOf(`${beta}.on.thing_happened`, event.id))[0]?.state === 'completed',
    );
    // Three polling rounds more: nothing runs again.
    await sleep(1_500);
    expect(a.runs).toEqual([event.id]);
    expect(b.runs).toEqual([event.id]);
    expect(await jobsOf(`${alpha}.on.thing_happened`, event.id)).toEqual([
      { state: 'completed', retry_count: 0 },
    ]);
    expect(await jobsOf(`${beta}.on.thing_happened`, event.id)).toEqual([
      { state: 'completed', retry_count: 0 },
    ]);
  });

  it('one failing is retried alone: the other completes once, and the failed attempt’s work is undone', async () => {
    const { events, alpha, beta, a, b } = await twoSubscribers((attempt) => attempt === 1);

    const event = thing();
    await events.emit(event);

    await until(async () => (await jobsOf(`${alpha}.on.thing_happened`, event.id))[0]?.state === 'completed');
    await until(async () => (await jobsOf(`${beta}.on.thing_happened`, event.id))[0]?.state === 'completed');
    expect(a.runs).toEqual([event.id, event.id]);
    expect(b.runs).toEqual([event.id]);
    expect(await jobsOf(`${alpha}.on.thing_happened`, event.id)).toEqual([
      { state: 'completed', retry_count: 1 },
    ]);
    expect(await jobsOf(`${beta}.on.thing_happened`, event.id)).toEqual([
      { state: 'completed', retry_count: 0 },
    ]);
    expect(await effects(alpha, event.id)).toBe(1);
    expect(await effects(beta, event.id)).toBe(1);
  });

  it('a second delivery of one event id to a subscriber does nothing', async () => {
    const { jobs, events, alpha } = busOn();
    const a = effectOf(alpha);
    events.subscribe(a.subscription);
    await jobs.start();

    // The same event twice, as a job run again after its handler committed would bring it.
    const event = thing();
    await events.emit(event);
    await events.emit(event);

    await until(async () => {
      const runs = await jobsOf(`${alpha}.on.thing_happened`, event.id);
      return runs.length === 2 && runs.every((r) => r.state === 'completed');
    });
    expect(a.runs).toEqual([event.id]);
    expect(await effects(alpha, event.id)).toBe(1);
    const delivered = await database.db
      .select({ subscriber: eventDeliveries.subscriber, eventId: eventDeliveries.eventId })
      .from(eventDeliveries)
      .where(sql`${eventDeliveries.eventId} = ${event.id}`);
    expect(delivered).toEqual([{ subscriber: `${alpha}.on.thing_happened`, eventId: event.id }]);
  });

  it('emitted in a transaction that rolls back, it reaches no one', async () => {
    const { events, alpha, beta, a, b } = await twoSubscribers();

    const event = thing();
    await expect(
      database.db.transaction(async () => {
        await events.emit(event);
        throw new Rollback('the change failed after its event was emitted');
      }),
    ).rejects.toBeInstanceOf(Rollback);

    await sleep(2_000);
    expect(await jobsOf(`${alpha}.on.thing_happened`, event.id)).toEqual([]);
    expect(await jobsOf(`${beta}.on.thing_happened`, event.id)).toEqual([]);
    expect(a.runs).toEqual([]);
    expect(b.runs).toEqual([]);
  });

  it('emitted inside a statement, it reaches each subscriber of its type', async () => {
    const { events, alpha, beta, a, b } = await twoSubscribers();

    const event = thing();
    await prepareSql(
      database.db,
      sql`with told as (${events.emitSql(['thing_happened'], sql`select ${JSON.stringify(event)}::jsonb`)})
        select 1`,
    )();
    await until(async () => (await effects(alpha, event.id)) === 1 && (await effects(beta, event.id)) === 1);
    expect(a.runs).toEqual([event.id]);
    expect(b.runs).toEqual([event.id]);
  });
});

describe('wiring', () => {
  it('refuses a subscriber wired after the first event was emitted, and one wired twice', async () => {
    const { events, alpha, beta } = busOn();
    events.subscribe(effectOf(alpha).subscription);
    expect(() => events.subscribe(effectOf(alpha).subscription)).toThrow(/subscribed twice/);
    await events.emit(thing());
    expect(() => events.subscribe(effectOf(beta).subscription)).toThrow(/before the first event/);
  });

  it('an event no one subscribed to is emitted as nothing, by a call or inside a statement', async () => {
    const { events } = busOn();
    const event = thing();
    await events.emit(event);
    const [row] = await prepareSql<{ n: number }>(
      database.db,
      sql`with told as (${events.emitSql(['thing_happened'], sql`select ${JSON.stringify(event)}::jsonb`)})
        select count(*)::int as n from pgboss.job where data->>'id' = ${event.id}`,
    )();
    expect(row).toEqual({ n: 0 });
  });
});

describe('the daily purge of deliveries', () => {
  it('forgets deliveries older than 30 days and keeps the newer ones', async () => {
    const day = 86_400_000;
    const old = firstIdAt(new Date(Date.now() - 31 * day));
    const recent = firstIdAt(new Date(Date.now() - 29 * day));
    await database.db.insert(eventDeliveries).values([
      { id: old, subscriber: 'purge.on.thing_happened', eventId: newId() },
      { id: recent, subscriber: 'purge.on.thing_happened', eventId: newId() },
    ]);
    await purgeEventDeliveries(database.db).handle({}, { log, jobId: 'test', retryCount: 0 });
    const left = await database.db
      .select({ id: eventDeliveries.id })
      .from(eventDeliveries)
      .where(sql`${eventDeliveries.subscriber} = 'purge.on.thing_happened'`);
    expect(left).toEqual([{ id: recent }]);
  });

  it('the first id of a moment sorts before every id made at or after it', () => {
    const at = new Date();
    const floor = firstIdAt(at);
    expect(floor < newId()).toBe(true);
    expect(firstIdAt(new Date(at.getTime() - 1)) < floor).toBe(true);
  });
});
