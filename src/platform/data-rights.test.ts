import { eq, getTableName, sql } from 'drizzle-orm';
import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helper.ts';
import { systemActor } from './actor.ts';
import { auditLog } from './audit/schema.ts';
import { baseColumns, newId } from './columns.ts';
import {
  createDataRights,
  type DataSubject,
  defineDataRights,
  type TableRights,
  tablesHoldingPersonalData,
} from './data-rights.ts';
import type { Database, Db } from './db.ts';

/**
 * The mechanism on tables made here, the way a module would declare its own (the modules' declarations are
 * held to the real schema in test/data-rights.test.ts): the rule that finds personal data, what registration
 * refuses, and the three runners.
 */
let database: Database;
let db: Db;

const people = pgTable('dr_people', { ...baseColumns(), name: text('name').notNull() });
const notes = pgTable('dr_notes', {
  ...baseColumns(),
  authorUserId: uuid('author_user_id').notNull(),
  body: text('body').notNull(),
  keptAt: timestamp('kept_at', { withTimezone: true }).notNull().defaultNow(),
});

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  await db.execute(sql`create table dr_people (
      id uuid primary key, created_at timestamptz not null default now(), updated_at timestamptz not null default now(),
      name text not null)`);
  await db.execute(sql`create table dr_notes (
      id uuid primary key, created_at timestamptz not null default now(), updated_at timestamptz not null default now(),
      author_user_id uuid not null, body text not null, kept_at timestamptz not null default now())`);
});
afterAll(() => database.close());

const rows = async <T>(query: ReturnType<typeof sql>) =>
  ((await db.execute(query)) as unknown as { rows: T[] }).rows;

const subjectOf = (userId: string): DataSubject => ({ userId, actor: { ...systemActor(), userId } });

/** A module of one table, `notes`, its export and erasure as given. */
function notesModule(
  overrides: Partial<TableRights> = {},
  parts: { erase?: (subject: DataSubject) => Promise<void> } = {},
) {
  return defineDataRights({
    module: 'notes',
    section: Type.Object({ notes: Type.Array(Type.Object({ body: Type.String() })) }),
    tables: [
      {
        table: notes,
        rowsOf: (userId) => eq(notes.authorUserId, userId),
        export: ['notes'],
        erasure: { action: 'delete', detail: 'the person’s notes' },
        archived: false,
        ...overrides,
      },
    ],
    async export({ userId }) {
      const mine = await db.select().from(notes).where(eq(notes.authorUserId, userId));
      return { notes: mine.map((n) => ({ body: n.body })) };
    },
    async erase(subject, erasure) {
      const gone = await db
        .delete(notes)
        .where(eq(notes.authorUserId, subject.userId))
        .returning({ id: notes.id });
      erasure.forget(gone.map((n) => n.id));
      await parts.erase?.(subject);
    },
  });
}

/** A second module: the person's name, which a failing erasure would have overwritten. */
const peopleModule = (fail: boolean) =>
  defineDataRights({
    module: 'people',
    section: Type.Object({ name: Type.String() }),
    tables: [
      {
        table: people,
        rowsOf: (userId) => eq(people.id, userId),
        export: ['name'],
        erasure: { action: 'anonymise', detail: 'the name becomes "erased"' },
        archived: false,
      },
    ],
    async export({ userId }) {
      const [person] = await db.select().from(people).where(eq(people.id, userId));
      return { name: person!.name };
    },
    async erase({ userId }) {
      await db.update(people).set({ name: 'erased' }).where(eq(people.id, userId));
      if (fail) throw new Error('the people part failed');
    },
  });

const registry = (settings: Record<string, unknown> = {}) =>
  createDataRights({
    db,
    settingValue: async (key, fallback) => (key in settings ? settings[key] : fallback),
  });

async function person(name: string, noteBodies: string[]) {
  const id = newId();
  await db.insert(people).values({ id, name });
  for (const body of noteBodies) await db.insert(notes).values({ authorUserId: id, body });
  return id;
}

describe('which tables hold personal data', () => {
  const secrets = pgTable('dr_secrets', { ...baseColumns(), sealed: text('sealed') });
  const parts = pgTable('dr_note_parts', {
    ...baseColumns(),
    noteId: uuid('note_id').references(() => notes.id),
    size: integer('size'),
  });
  const sessions = pgTable('dr_sessions', {
    ...baseColumns(),
    personId: uuid('person_id').references(() => people.id),
  });
  const catalog = pgTable('dr_catalog', { ...baseColumns(), title: text('title') });
  const known = { people: [people], encrypted: [secrets.sealed] };

  it('are those with a person’s column, an encrypted one, or a reference to an account or to such a table', () => {
    const found = tablesHoldingPersonalData([catalog, parts, notes, secrets, sessions, people], known);
    expect(Object.fromEntries([...found].map(([table, why]) => [getTableName(table), why]))).toEqual({
      dr_people: [],
      dr_notes: ['author_user_id names a person'],
      dr_secrets: ['sealed is encrypted'],
      dr_sessions: ['person_id references dr_people'],
      dr_note_parts: ['note_id references dr_notes, which holds personal data'],
    });
  });

  it('are named, with why, when no module declares them', () => {
    const rights = registry();
    rights.register(notesModule());
    expect(rights.undeclared([catalog, notes, parts], known)).toEqual([
      'dr_note_parts (note_id references dr_notes, which holds personal data)',
    ]);
  });
});

describe('registering declarations', () => {
  it('refuses one that does not add up, naming the module and what is wrong', () => {
    const rights = registry();
    const refused = (module: ReturnType<typeof defineDataRights>) => () => rights.register(module);
    expect(refused(notesModule({ export: ['nowhere'] }))).toThrow(
      'data rights of notes: dr_notes is exported under nowhere, which its section does not have',
    );
    expect(refused(notesModule({ export: { omitted: 'none' } }))).toThrow(
      "data rights of notes: no table declares what its section's notes hold",
    );
    expect(refused(notesModule({ erasure: { action: 'keep', detail: ' ' } }))).toThrow(
      'dr_notes does not say what its erasure does',
    );
    expect(refused(notesModule({ archived: true, retention: { days: 1, after: notes.keptAt } }))).toThrow(
      'dr_notes is archived',
    );
    expect(refused(notesModule({ retention: { days: -1, after: notes.keptAt } }))).toThrow(
      'retention must be a number of days',
    );
    rights.register(notesModule());
    expect(refused(notesModule())).toThrow('data rights of notes: registered twice');
    expect(
      refused({ ...peopleModule(false), tables: [...peopleModule(false).tables, ...notesModule().tables] }),
    ).toThrow('data rights of people: dr_notes is declared more than once');
  });
});

describe('export', () => {
  it('holds each module’s section under its name, and the schema names them all', async () => {
    const rights = registry();
    rights.register(peopleModule(false), notesModule());
    const id = await person('Айдай', ['first', 'second']);
    await person('Someone else', ['not mine']);
    const document = await rights.export(subjectOf(id));
    expect(document).toEqual({
      exported_at: expect.any(String),
      people: { name: 'Айдай' },
      notes: { notes: [{ body: 'first' }, { body: 'second' }] },
    });
    expect(Object.keys(rights.exportSchema().properties)).toEqual(['exported_at', 'people', 'notes']);
  });
});

describe('erasure', () => {
  it('runs every part in one transaction: when one fails, none of them changed anything', async () => {
    const id = await person('Бакыт', ['to go']);
    const [note] = await db.select().from(notes).where(eq(notes.authorUserId, id));
    await db.insert(auditLog).values({
      actorId: id,
      action: 'create',
      entity: 'dr_notes',
      entityId: note!.id,
      changes: { body: { before: null, after: 'to go' } },
    });
    const failing = registry();
    // The notes go first, then the people part overwrites the name and fails.
    failing.register(notesModule(), peopleModule(true));
    await expect(failing.erase(subjectOf(id))).rejects.toThrow('the people part failed');
    expect(await db.select().from(notes).where(eq(notes.authorUserId, id))).toHaveLength(1);
    expect((await db.select().from(people).where(eq(people.id, id)))[0]?.name).toBe('Бакыт');
    const trail = () => db.select().from(auditLog).where(eq(auditLog.entityId, note!.id));
    expect((await trail())[0]?.changes).toEqual({ body: { before: null, after: 'to go' } });

    const working = registry();
    working.register(notesModule(), peopleModule(false));
    await working.erase(subjectOf(id));
    expect(await db.select().from(notes).where(eq(notes.authorUserId, id))).toEqual([]);
    expect((await db.select().from(people).where(eq(people.id, id)))[0]?.name).toBe('erased');
    // The part forgot the note it deleted: its trail keeps the field and time, not the value.
    expect((await trail())[0]?.changes).toEqual({ body: { before: '[erased]', after: '[erased]' } });
  });

  it('joins the caller’s transaction, and goes back with it', async () => {
    const id = await person('Нурлан', ['kept']);
    const rights = registry();
    rights.register(notesModule(), peopleModule(false));
    await expect(
      db.transaction(async () => {
        await rights.erase(subjectOf(id));
        throw new Error('the caller failed after');
      }),
    ).rejects.toThrow('the caller failed after');
    expect(await db.select().from(notes).where(eq(notes.authorUserId, id))).toHaveLength(1);
  });
});

describe('retention', () => {
  const DAY = 86_400_000;
  const aged = async (days: number, count = 1) => {
    await db.execute(sql`insert into dr_notes (id, author_user_id, body, kept_at)
      select gen_random_uuid(), gen_random_uuid(), 'n', now() - make_interval(secs => ${days * 86_400})
      from generate_series(1, ${count})`);
  };
  const countOlderThan = async (days: number) =>
    (
      await rows<{ n: number }>(
        sql`select count(*)::int as n from dr_notes where kept_at < now() - make_interval(secs => ${days * 86_400})`,
      )
    )[0]!.n;

  it('deletes the rows past the setting’s days, in batches, keeps the rest, and follows a changed setting', async () => {
    await db.execute(sql`delete from dr_notes`);
    await aged(40, 12_000);
    await aged(20, 3);
    await aged(1, 2);
    const declared = { retention: { setting: 'notes_retention_days', days: 30, after: notes.keptAt } };

    const byDefault = registry();
    byDefault.register(notesModule(declared));
    expect(await byDefault.applyRetention()).toEqual({ dr_notes: 12_000 });
    expect(await countOlderThan(30)).toBe(0);
    expect(await countOlderThan(0)).toBe(5);
    expect(await byDefault.applyRetention()).toEqual({ dr_notes: 0 });

    const shorter = registry({ notes_retention_days: 10 });
    shorter.register(notesModule(declared));
    expect(await shorter.applyRetention()).toEqual({ dr_notes: 3 });
    // A setting that is not a number of days leaves the declared default.
    const broken = registry({ notes_retention_days: 'soon' });
    broken.register(notesModule(declared));
    expect(await broken.applyRetention()).toEqual({ dr_notes: 0 });
    expect(await broken.applyRetention(new Date(Date.now() + 30 * DAY))).toEqual({ dr_notes: 2 });
  });
});
