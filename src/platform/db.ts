import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { fillPlaceholders, Placeholder, type SQL } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { type PgDatabase, PgDialect, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { currentTraceparent, TRACE_KEY } from './trace.ts';

/**
 * A database handle or an open transaction: both run the same queries. It knows no module's tables: a
 * module queries its own through the Drizzle tables it imports (there are no relational `db.query.*`
 * reads, which are what a Drizzle schema given to the handle would be for).
 */
export type Db = PgDatabase<PgQueryResultHKT>;

export interface SqlResult {
  rows: Record<string, unknown>[];
}

/** The raw connection under a handle: what pg-boss and health checks speak to. */
export interface SqlClient {
  query(text: string, values?: unknown[]): Promise<SqlResult>;
}

export interface Database {
  kind: 'pglite' | 'postgres';
  db: Db;
  /** Runs one statement, or several when there are no values (the way pg-boss sends its DDL). */
  sql: SqlClient;
  /** The connection pool's state, for the metrics; the embedded database has one connection and no pool. */
  pool?: () => PoolState;
  close(): Promise<void>;
}

export interface PoolState {
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

export class DatabaseLockedError extends Error {}

// pg returns bigint (count(*)) as string by default; our counts fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Lock files this process holds: its own pid in a lock file is only stale when it is not one of these. */
const heldLocks = new Set<string>();

/** Owning the embedded data directory: PGlite has no lock of its own, and two writers corrupt it. */
function acquireLock(lockFile: string): () => void {
  const path = resolve(lockFile);
  if (heldLocks.has(path)) {
    throw new DatabaseLockedError(
      `the embedded database is already open in this process (lock file ${path}); close it first`,
    );
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldLocks.add(path);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        heldLocks.delete(path);
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(path, 'utf8'));
      // Our own pid without our own hold is a lock left by an earlier process that had the same pid (containers).
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new DatabaseLockedError(
          `the embedded database is in use by process ${holder} (lock file ${path}); ` +
            'stop that process first, or set DATABASE_URL to use a PostgreSQL server',
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new DatabaseLockedError(`could not take the embedded database lock ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function pgliteSqlClient(client: Pick<PGlite, 'query' | 'exec'>): SqlClient {
  return {
    async query(text, values) {
      if (values && values.length > 0) return client.query(text, values) as Promise<SqlResult>;
      const results = await client.exec(text);
      return { rows: results.flatMap((r) => r.rows as Record<string, unknown>[]) };
    },
  };
}

export function fromPglite(client: PGlite, release: () => void = () => {}): Database {
  return {
    kind: 'pglite',
    db: joiningTransactions(drizzlePglite(client) as unknown as Db),
    sql: joiningSqlClient(pgliteSqlClient(client)),
    async close() {
      try {
        await client.close();
      } finally {
        release();
      }
    },
  };
}

export async function openPglite(dataDir: string): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const release = acquireLock(join(dataDir, 'pgdata.lock'));
  try {
    const client = await PGlite.create(join(dataDir, 'pgdata'), { extensions: { pg_trgm } });
    return fromPglite(client, release);
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * How long an idle pooled connection is kept. A new PostgreSQL connection is dear: a process forked, its
 * catalog caches filled, and every prepared statement parsed and planned again (the bid statement's first
 * plans are dear). pg's default of 10 s closed the whole pool in any lull of that length, and the
 * next burst of traffic paid for all of it.
 */
const POOL_IDLE_TIMEOUT_MS = 10 * 60_000;

type ConnectCallback = (
  err: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (release?: unknown) => void,
) => void;

/**
 * A pool whose checked-out clients go back by themselves when their connection dies. Drizzle's pooled
 * `transaction()` (0.45) sends BEGIN before the try/finally that releases the client, so a BEGIN on a
 * connection the server had just ended kept its client forever: a burst of cut connections and the pool was
 * empty, every later request waiting on it. Release becomes idempotent, so the holder's own release, when
 * there is one, is a no-op rather than pg-pool's double-release error.
 */
class Pool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback) {
    // With a callback it is pool.query, which releases the client on every path.
    if (callback) return super.connect(callback);
    return super.connect().then(releasedWhenLost);
  }
}

function releasedWhenLost(client: pg.PoolClient): pg.PoolClient {
  const release = client.release;
  let released = false;
  const onEnd = () => client.release(new Error('the connection was lost'));
  client.once('end', onEnd);
  client.release = (err?: Error | boolean) => {
    if (released) return;
    released = true;
    client.removeListener('end', onEnd);
    release(err);
  };
  return client;
}

export function openPostgres(url: string, poolSize: number): Database {
  const pool = new Pool({ connectionString: url, max: poolSize, idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS });
  // A connection the server ends (pg_terminate_backend, a restart, a failover) emits 'error' on its client.
  // The pool listens only while a client is idle (and re-emits that here); a checked-out client, in a
  // transaction between two statements, had no listener, and its error crashed the process. Now the
  // statement in flight fails (answered 503 database_unavailable) and the pool drops the broken client when
  // it comes back; the next query opens a new connection.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return {
    kind: 'postgres',
    db: joiningTransactions(drizzlePg(pool) as unknown as Db),
    sql: joiningSqlClient(pool as unknown as SqlClient),
    pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => pool.end(),
  };
}

export function openDatabase(options: { databaseUrl?: string; dataDir: string; poolSize: number }) {
  return options.databaseUrl
    ? Promise.resolve(openPostgres(options.databaseUrl, options.poolSize))
    : openPglite(options.dataDir);
}

/** The transaction the current call runs in, if any: set by `transaction` on a joining handle. */
const currentTransaction = new AsyncLocalStorage<Db>();

/**
 * A handle that joins the transaction its caller holds. Inside `db.transaction(fn)`, every query made through
 * the handle, from `fn` or from any service `fn` calls however deep, runs in that transaction, and a nested
 * `db.transaction` takes a savepoint in it. So a service never needs `tx` handed to it, and on the embedded
 * database, whose single connection a transaction holds, a nested call never waits for a connection its own
 * caller holds. Outside a transaction the handle is the plain database.
 */
function joiningTransactions(root: Db): Db {
  const transaction = (fn: (tx: Db) => Promise<unknown>, config?: unknown) => {
    const run = (tx: Db) => currentTransaction.run(tx, () => fn(tx));
    const outer = currentTransaction.getStore();
    return outer ? outer.transaction(run) : root.transaction(run, config as never);
  };
  return new Proxy(root, {
    get(target, property) {
      if (property === 'transaction') return transaction;
      const current = currentTransaction.getStore() ?? target;
      const value = Reflect.get(current, property, current);
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}

/** The raw client that joins the current transaction as the handle does (pg-boss sends through it). */
function joiningSqlClient(base: SqlClient): SqlClient {
  return {
    query(text, values) {
      const tx = currentTransaction.getStore();
      return (tx ? sqlClientOf(tx) : base).query(text, values);
    },
  };
}

/**
 * Runs `fn` outside the transaction its callback chain began in, once that transaction has ended: an answer
 * sent after the commit or rollback must not reach for the finished transaction. Never while it is still
 * open: on the embedded database its one connection is held, and `fn` would wait for it forever.
 */
export const outsideTransaction = <T>(fn: () => T): T => currentTransaction.exit(fn);

/**
 * Whether the call runs inside a transaction. A statement prepared once on the handle (`.prepare()`) is bound
 * to the plain database, not to the transaction of its caller: run there, it would escape the transaction on
 * PostgreSQL and wait forever for the embedded database's one connection. Inside one, build the query again.
 */
export const inTransaction = (): boolean => currentTransaction.getStore() !== undefined;

type RawClient = (pg.Pool | pg.PoolClient | PGlite) & { exec?: unknown };

const rawClientOf = (tx: Db): RawClient =>
  (tx as unknown as { _: { session: { client: RawClient } } })._.session.client;

const isPglite = (client: RawClient): client is PGlite => typeof client.exec === 'function';

/** The raw client behind a transaction, so that a job is enqueued in the same transaction. */
export function sqlClientOf(tx: Db): SqlClient {
  const client = rawClientOf(tx);
  return isPglite(client) ? pgliteSqlClient(client) : (client as unknown as SqlClient);
}

const dialect = new PgDialect();

/**
 * A statement run by name, so PostgreSQL parses and plans it once per connection rather than on every call:
 * hand-written SQL (Drizzle's builder has no data-modifying CTEs) with `sql.placeholder`s filled by the
 * executor's values, or a query built from optional parts, whose every shape gets a statement of its own.
 * The name is a hash of the text, so equal shapes share a statement and different ones never collide.
 * Rows come back as the driver parses them, with the column names the SQL gives. PGlite runs it unnamed:
 * one connection, and nothing there is measured for speed. A placeholder named `TRACE_KEY` (a statement
 * that enqueues jobs, `events.emitSql`) is filled with the trace context of the call.
 */
export function prepareSql<Row>(db: Db, query: SQL) {
  const { sql: text, params } = dialect.sqlToQuery(query);
  const name = `q_${createHash('sha1').update(text).digest('base64url')}`;
  const traced = params.some((p) => p instanceof Placeholder && p.name === TRACE_KEY);
  return async (values: Record<string, unknown> = {}): Promise<Row[]> => {
    const client = rawClientOf(db);
    const args = fillPlaceholders(params, traced ? { [TRACE_KEY]: currentTraceparent(), ...values } : values);
    const result = isPglite(client)
      ? await client.query(text, args)
      : await client.query({ name, text, values: args });
    return result.rows as Row[];
  };
}
