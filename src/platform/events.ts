import { lt, type SQL, sql } from 'drizzle-orm';
import { firstIdAt, newId } from './columns.ts';
import { type Db, prepareSql } from './db.ts';
import { eventDeliveries } from './events-schema.ts';
import { defineJob, type JobContext, type Jobs } from './jobs.ts';
import { TRACE_KEY } from './trace.ts';

/**
 * Something that happened in a module, told to every module that subscribed to its type. The emitter
 * knows none of them. The payload carries ids: a subscriber reloads what it needs, and skips what is gone.
 */
export interface DomainEvent<Type extends string = string> {
  /** UUIDv7, chosen where the event is emitted: each subscriber handles one id once. */
  id: string;
  type: Type;
}

/** An event as its emitter hands it over: `emit` chooses the id unless the emitter has. */
export type NewEvent<E extends DomainEvent> = Omit<E, 'id'> & { id?: string };

/** What an emitting module is given: it emits its own events, and learns nothing of who hears them. */
export interface Emitter<E extends DomainEvent> {
  /**
   * Emits in the caller's transaction (through the joining handle), so the events exist only if the change
   * commits: one job for each subscriber of each event, in one statement.
   */
  emit(...events: NewEvent<E>[]): Promise<void>;
  /**
   * `emit` inside a statement that makes the change: the SQL of a data-modifying CTE that emits one event
   * for each row of `rows`, a query of one jsonb column, the whole event (id and type included). `types`
   * names every type the rows can have. The statement is run through `prepareSql`, which fills in the
   * trace context its jobs carry.
   */
  emitSql(types: readonly E['type'][], rows: SQL): SQL;
}

/**
 * A module's handler for some types of event, declared by that module and wired in app.ts. Each type gets
 * a queue of its own (`<module>.on.<type>`): its jobs are retried on their own, apart from every other
 * subscriber's. The handler runs in a transaction with the record that it handled the event, so a second
 * delivery of the same event id (a retry after a crash that came after the commit, or the event emitted
 * twice) does nothing. It does database work, or enqueues a job for a call to an outside system; it does
 * not make that call itself, which would hold a connection (on the embedded database, the only one) while
 * it waits.
 */
export interface Subscription<E extends DomainEvent = DomainEvent> {
  module: string;
  types: readonly E['type'][];
  handle(event: E, ctx: JobContext): Promise<void>;
  retryLimit?: number;
  retryDelaySeconds?: number;
}

export const subscribe = <E extends DomainEvent>(subscription: Subscription<E>) => subscription;

/** The queue of one module's subscription to one type. */
export const subscriberQueue = (module: string, type: string) => `${module}.on.${type}`;

/**
 * How long a subscriber remembers an event it handled. A second delivery comes from the event's job run
 * again (retried, or expired while its process died), and pg-boss keeps a job 14 days at most.
 */
const DELIVERIES_KEPT_DAYS = 30;

export function createEventBus({ db, jobs }: { db: Db; jobs: Jobs }) {
  const queuesOf = new Map<string, string[]>();
  // An emit or a prepared statement has read the subscribers; one wired later would miss events.
  let sealed = false;

  async function deliverOnce(
    queue: string,
    event: DomainEvent,
    ctx: JobContext,
    handle: Subscription['handle'],
  ) {
    await db.transaction(async () => {
      const [first] = await db
        .insert(eventDeliveries)
        .values({ subscriber: queue, eventId: event.id })
        .onConflictDoNothing()
        .returning({ id: eventDeliveries.id });
      if (!first) {
        ctx.log.info({ eventId: event.id }, 'event already handled by this subscriber');
        return;
      }
      await handle(event, ctx);
    });
  }

  return {
    subscribe(...subscriptions: Subscription[]) {
      if (sealed) throw new Error('subscriptions are wired in app.ts before the first event is emitted');
      for (const subscription of subscriptions) {
        for (const type of subscription.types) {
          const queue = subscriberQueue(subscription.module, type);
          const queues = queuesOf.get(type) ?? [];
          if (queues.includes(queue)) throw new Error(`${queue} is subscribed twice`);
          jobs.register(
            defineJob<DomainEvent>({
              name: queue,
              retryLimit: subscription.retryLimit,
              retryDelaySeconds: subscription.retryDelaySeconds,
              handle: (event, ctx) => deliverOnce(queue, event, ctx, subscription.handle),
            }),
          );
          queuesOf.set(type, [...queues, queue]);
        }
      }
    },

    async emit(...events: NewEvent<DomainEvent>[]) {
      sealed = true;
      const rows = events.flatMap((e) => {
        const event = { ...e, id: e.id ?? newId() };
        return (queuesOf.get(e.type) ?? []).map((queue) => ({ queue, event }));
      });
      if (rows.length === 0) return;
      await db.execute(
        jobs.enqueueSql(
          rows.map((r) => r.queue),
          sql`select x->>'queue', x->'event' from jsonb_array_elements(${JSON.stringify(rows)}::jsonb) x`,
        ),
      );
    },

    emitSql(types: readonly string[], rows: SQL): SQL {
      sealed = true;
      const fanOut = types.flatMap((type) => (queuesOf.get(type) ?? []).map((queue) => ({ type, queue })));
      // A CTE with no subscriber to tell still has to be valid SQL.
      if (fanOut.length === 0) return sql`select where false`;
      const pairs = sql.join(
        fanOut.map(({ type, queue }) => sql`(${type}, ${queue})`),
        sql`, `,
      );
      return jobs.enqueueSql(
        fanOut.map((f) => f.queue),
        sql`select s.queue, e.data from (${rows}) e (data)
          join (values ${pairs}) s (type, queue) on s.type = e.data->>'type'`,
        sql`${sql.placeholder(TRACE_KEY)}`,
      );
    },
  };
}

/** Deliveries past their keeping time go: daily, by the id's time, so the purge walks the primary key. */
export const purgeEventDeliveries = (db: Db) =>
  defineJob<Record<string, never>>({
    name: 'platform.purge-event-deliveries',
    cron: '23 4 * * *',
    async handle(_data, { log }) {
      const cutoff = firstIdAt(new Date(Date.now() - DELIVERIES_KEPT_DAYS * 86_400_000));
      // Counted in the database: a day of deliveries is too many ids to send back.
      const [row] = await prepareSql<{ purged: number }>(
        db,
        sql`with gone as (delete from ${eventDeliveries} where ${lt(eventDeliveries.id, cutoff)} returning 1)
          select count(*)::int as purged from gone`,
      )();
      log.info({ purged: row?.purged }, 'purged event deliveries');
    },
  });

/** Until the notifications module hears them: a subscriber that logs each event, so they stay visible. */
export const logEvents = (types: readonly string[]) =>
  subscribe({
    module: 'log',
    types,
    async handle(event, { log }) {
      log.info({ event }, 'event');
    },
  });
