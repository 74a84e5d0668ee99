import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseLockedError, fromPglite, openPglite } from './db.ts';

/** One embedded database directory, one owner: the lock file `pgdata.lock` keeps a second one out. */
const dirs: string[] = [];
/** Made once and reused: creating a PGlite data directory takes seconds. */
let shared: string | undefined;
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir() {
  const dir = mkdtempSync(join(tmpdir(), 'kg-lock-'));
  dirs.push(dir);
  return dir;
}

/** The pid of a process that has exited. */
async function deadPid() {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('the embedded database lock', () => {
  it('refuses a second open of the same directory in one process, naming pgdata.lock, and opens again after close', async () => {
    const dir = dataDir();
    shared = dir;
    const first = await openPglite(dir);
    const lockFile = join(dir, 'pgdata.lock');
    expect(readFileSync(lockFile, 'utf8')).toBe(String(process.pid));

    const second = openPglite(dir);
    await expect(second).rejects.toBeInstanceOf(DatabaseLockedError);
    await expect(second).rejects.toThrow(/pgdata\.lock/);
    // The refusal leaves the owner's lock and connection alone.
    expect(existsSync(lockFile)).toBe(true);
    expect((await first.sql.query('select 1 as one')).rows).toEqual([{ one: 1 }]);

    await first.sql.query('create table kept (n int)');
    await first.sql.query('insert into kept values (42)');
    await first.close();
    expect(existsSync(lockFile)).toBe(false);

    const again = await openPglite(dir);
    expect((await again.sql.query('select n from kept')).rows).toEqual([{ n: 42 }]);
    await again.close();
  });

  it('takes over a lock left by a process that died', async () => {
    const dir = shared ?? dataDir();
    const lockFile = join(dir, 'pgdata.lock');
    writeFileSync(lockFile, String(await deadPid()));

    const database = await openPglite(dir);
    expect(readFileSync(lockFile, 'utf8')).toBe(String(process.pid));
    await database.close();
    expect(existsSync(lockFile)).toBe(false);
  });

  it('takes over a lock with its own pid that it does not hold (a restarted container reuses pids)', async () => {
    const dir = shared ?? dataDir();
    const lockFile = join(dir, 'pgdata.lock');
    writeFileSync(lockFile, String(process.pid));

    const database = await openPglite(dir);
    expect(readFileSync(lockFile, 'utf8')).toBe(String(process.pid));
    await database.close();
  });

  it('refuses a directory that a live process holds, naming the process and the lock file', async () => {
    const dir = dataDir();
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)']);
    try {
      writeFileSync(join(dir, 'pgdata.lock'), String(holder.pid));
      const open = openPglite(dir);
      await expect(open).rejects.toBeInstanceOf(DatabaseLockedError);
      await expect(open).rejects.toThrow(new RegExp(`process ${holder.pid} .*pgdata\\.lock`));
      expect(readFileSync(join(dir, 'pgdata.lock'), 'utf8')).toBe(String(holder.pid));
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('a service called inside its caller’s transaction', () => {
  it('joins it on the embedded database: reads see its writes, nothing waits, and a rollback takes all', async () => {
    const client = await PGlite.create();
    const database = fromPglite(client);
    const { db } = database;
    await database.sql.query('create table notes (id int primary key, body text not null)');
    const notes = pgTable('notes', { id: integer('id').primaryKey(), body: text('body').notNull() });
    /** A service that knows nothing of its caller's transaction: it writes and reads through the plain handle. */
    const addNote = async (id: number) => {
      await db.insert(notes).values({ id, body: `note ${id}` });
      return db.select().from(notes);
    };
    /** And one that opens its own transaction: inside the caller's it is a savepoint. */
    const addNoteInTransaction = (id: number) => db.transaction(() => addNote(id));

    const seen = await db.transaction(async () => {
      const inner = await addNote(1);
      await addNoteInTransaction(2);
      // The raw client used by the job queue joins too.
      const { rows } = await database.sql.query('select count(*)::int as n from notes where id < $1', [10]);
      return { inner, rows };
    });
    expect(seen.inner).toEqual([{ id: 1, body: 'note 1' }]);
    expect(seen.rows).toEqual([{ n: 2 }]);

    await expect(
      db.transaction(async () => {
        await addNote(3);
        await addNoteInTransaction(4);
        throw new Error('the caller fails after its services wrote');
      }),
    ).rejects.toThrow('the caller fails');
    expect((await db.select().from(notes)).map((n) => n.id)).toEqual([1, 2]);

    // A failing nested transaction rolls back to its savepoint and leaves the caller's work.
    await db.transaction(async () => {
      await addNote(5);
      await expect(
        db.transaction(async () => {
          await addNote(6);
          throw new Error('the service fails');
        }),
      ).rejects.toThrow('the service fails');
    });
    expect((await db.select().from(notes)).map((n) => n.id)).toEqual([1, 2, 5]);

    await database.close();
  }, 30_000);
});
