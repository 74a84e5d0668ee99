import { getTableColumns, getTableName, type SQL, sql } from 'drizzle-orm';
import { getTableConfig, type PgColumn, type PgTable } from 'drizzle-orm/pg-core';
import { type Static, type TObject, type TProperties, Type } from 'typebox';
import type { Actor } from './actor.ts';
import { eraseAuditValues } from './audit/service.ts';
import type { Db } from './db.ts';
import { defineJob } from './jobs.ts';
import { Ref } from './schemas.ts';

/**
 * Data rights (ARCHITECTURE.md, "Data rights: export, erasure, retention"): every module declares, for each
 * of its tables that holds personal data, what the export holds of it, what erasure does to it and how long
 * its rows are kept, and hands the platform the parts that do it: its section of `POST /me/export` and its
 * share of `POST /me/erase`. The platform runs every module's parts; no module reaches into another's rows.
 */

/** What erasure does to a table's rows of the person: `keep` only for what the business must keep. */
export const ERASURE_ACTIONS = ['delete', 'anonymise', 'keep'] as const;
export type ErasureAction = (typeof ERASURE_ACTIONS)[number];

/** The most rows one list of an export holds: more than this is a sign of abuse, not of a person's data. */
export const EXPORT_LIMIT = 10_000;

/** The person an export or an erasure is about, acting for themselves. */
export interface DataSubject {
  userId: string;
  actor: Actor;
}

/** How long rows are kept: the retention runner deletes those whose `after` is older than the period. */
export interface Retention {
  /** The catalog setting holding the days rows are kept; without one, `days` is a fixed rule. */
  setting?: string;
  /** The days rows are kept: the setting's default, or the rule itself. */
  days: number;
  /** Where a row's period starts: its creation, its expiry, its last use. */
  after: PgColumn;
  /**
   * For a table whose rows take others with them: a statement that deletes up to `limit` rows whose period
   * ended by `cutoff` (a timestamptz), returning one row for each. Without it, rows are deleted by `after`.
   */
  purge?: (cutoff: SQL, limit: SQL) => SQL;
}

export interface TableRights {
  table: PgTable;
  /** The person's rows of the table, by their account id; left out where no row can be told by person. */
  rowsOf?: (userId: string) => SQL;
  /** The keys of the module's export section that hold these rows, or why the export leaves them out. */
  export: readonly string[] | { omitted: string };
  /** What erasure does to the person's rows, in words: the columns it clears, or the reason they are kept. */
  erasure: { action: ErasureAction; detail: string };
  retention?: Retention;
  /**
   * Whether rows past their retention are archived before they go. No table is yet: an archived table's old
   * rows leave through its own archive step (partitions detached, ARCHITECTURE.md), not the retention runner.
   */
  archived: boolean;
}

/** What an erasure part may tell the runner. */
export interface Erasure {
  /** Rows whose personal values the part removed or deleted: their audit trail keeps no values either. */
  forget(ids: Iterable<string>): void;
}

export interface ModuleDataRights<P extends TProperties = TProperties> {
  /** The module's name: the key of its section in the export document. */
  module: string;
  tables: readonly TableRights[];
  /** The schema of the module's export section, for the route's documented response. */
  section: TObject<P>;
  /** The module's section of the export: everything it holds about the person. */
  export(subject: DataSubject): Promise<Static<TObject<P>>>;
  /**
   * The module's share of erasure: settles its rows of the person as its declarations say, inside the
   * erasure's transaction (services called here join it); a failure rolls the whole erasure back.
   */
  erase(subject: DataSubject, erasure: Erasure): Promise<void>;
}

export const defineDataRights = <P extends TProperties>(rights: ModuleDataRights<P>) =>
  rights as unknown as ModuleDataRights;

const MODULE_NAME = /^[a-z][a-z_]*$/;
const DAY_MS = 86_400_000;
/** Rows one retention statement deletes, and statements per table per run: the rest waits for the next run. */
const RETENTION_BATCH = 5_000;
const RETENTION_BATCHES_PER_RUN = 100;

const validDays = (days: unknown): days is number =>
  typeof days === 'number' && Number.isFinite(days) && days >= 0;

function checkModule(rights: ModuleDataRights, registered: readonly ModuleDataRights[]) {
  const fail = (problem: string) => {
    throw new Error(`data rights of ${rights.module}: ${problem}`);
  };
  if (!MODULE_NAME.test(rights.module) || rights.module === 'exported_at') fail('not a valid section name');
  if (registered.some((m) => m.module === rights.module)) fail('registered twice');
  const keys = Object.keys(rights.section.properties);
  const claimed = new Set<string>();
  const seen = new Set(registered.flatMap((m) => m.tables.map((t) => t.table)));
  for (const declared of rights.tables) {
    const name = getTableName(declared.table);
    if (seen.has(declared.table)) fail(`${name} is declared more than once`);
    seen.add(declared.table);
    if (Array.isArray(declared.export)) {
      for (const key of declared.export as readonly string[]) {
        if (!keys.includes(key)) fail(`${name} is exported under ${key}, which its section does not have`);
        claimed.add(key);
      }
    }
    if (declared.erasure.detail.trim() === '') fail(`${name} does not say what its erasure does`);
    const retention = declared.retention;
    if (retention) {
      if (!validDays(retention.days)) fail(`${name}'s retention must be a number of days, 0 or more`);
      if (declared.archived) fail(`${name} is archived: its old rows leave through its archive step`);
      if (!retention.purge && !getTableColumns(declared.table).id)
        fail(`${name} has no id to delete rows by`);
    }
  }
  const unclaimed = keys.filter((k) => !claimed.has(k));
  if (unclaimed.length > 0) fail(`no table declares what its section's ${unclaimed.join(', ')} hold`);
}

/** A column whose name says it holds a person, or what identifies one. */
const PERSON_COLUMN = /(^|_)user_id$|^(owner_id|actor_id|ip|user_agent)$|(^|_)(email|phone)(_|$)/;

/**
 * The tables that hold personal data, each with why: a table holds it when a column is encrypted (personal
 * data is stored encrypted), is named for a person or what identifies one (`user_id`, `client_user_id`,
 * `owner_id`, `actor_id`, `ip`, `user_agent`, `email_*`, `phone_*`), or references an account (`people`) or
 * another table that holds personal data: a row that hangs off a person's row is about that person. A table
 * the rule cannot see (a blind index under another name) is declared all the same.
 */
export function tablesHoldingPersonalData(
  tables: readonly PgTable[],
  known: { people: readonly PgTable[]; encrypted: readonly PgColumn[] },
) {
  const found = new Map<PgTable, string[]>();
  const references = (table: PgTable) =>
    getTableConfig(table).foreignKeys.map((fk) => {
      const ref = fk.reference();
      return { columns: ref.columns.map((c) => c.name).join(', '), to: ref.foreignTable };
    });
  for (const table of tables) {
    const why: string[] = [];
    for (const column of Object.values(getTableColumns(table))) {
      if (known.encrypted.includes(column)) why.push(`${column.name} is encrypted`);
      else if (PERSON_COLUMN.test(column.name)) why.push(`${column.name} names a person`);
    }
    for (const ref of references(table)) {
      if (known.people.includes(ref.to)) why.push(`${ref.columns} references ${getTableName(ref.to)}`);
    }
    if (why.length > 0 || known.people.includes(table)) found.set(table, why);
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const table of tables) {
      if (found.has(table)) continue;
      const ref = references(table).find((r) => found.has(r.to));
      if (!ref) continue;
      found.set(table, [`${ref.columns} references ${getTableName(ref.to)}, which holds personal data`]);
      grew = true;
    }
  }
  return found;
}

/** The tables `tablesHoldingPersonalData` finds among `tables` that `declared` leaves out, each with why. */
export function undeclaredTables(
  declared: readonly PgTable[],
  ...args: Parameters<typeof tablesHoldingPersonalData>
) {
  return [...tablesHoldingPersonalData(...args)]
    .filter(([table]) => !declared.includes(table))
    .map(([table, why]) => `${getTableName(table)} (${why.join('; ')})`);
}

export type DataRights = ReturnType<typeof createDataRights>;

/**
 * The registry of every module's data rights and the runners of export, erasure and retention. Modules
 * register in app.ts before the routes are built; the export route's schema is read from here.
 */
export function createDataRights({
  db,
  settingValue,
}: {
  db: Db;
  /** A catalog setting's value, for retention periods; `fallback` when it is not set. */
  settingValue: (key: string, fallback: number) => Promise<unknown>;
}) {
  const modules: ModuleDataRights[] = [];

  async function retentionDays(retention: Retention) {
    if (!retention.setting) return retention.days;
    const days = await settingValue(retention.setting, retention.days);
    return validDays(days) ? days : retention.days;
  }

  /** One batch of rows whose retention ended by `cutoff`: how many went. */
  async function deleteBatch({ table }: TableRights, retention: Retention, cutoff: Date) {
    const at = sql`${cutoff.toISOString()}::timestamptz`;
    const limit = sql.raw(String(RETENTION_BATCH));
    const id = getTableColumns(table).id!;
    const statement =
      retention.purge?.(at, limit) ??
      sql`delete from ${table}
        where ${id} in (select ${id} from ${table} where ${retention.after} < ${at} limit ${limit})
        returning 1`;
    return ((await db.execute(statement)) as unknown as { rows: unknown[] }).rows.length;
  }

  const rights = {
    /**
     * Called in app.ts with each module's declarations; a declaration that does not add up is refused.
     * Answers a function that takes them out again, for a test that adds its own.
     */
    register(...list: ModuleDataRights[]) {
      for (const module of list) {
        checkModule(module, modules);
        modules.push(module);
      }
      return () => {
        for (const module of list) modules.splice(modules.indexOf(module), 1);
      };
    },

    /** Every table declared, with its module. */
    tables() {
      return modules.flatMap((m) => m.tables.map((t) => ({ module: m.module, ...t })));
    },

    /** The tables `tablesHoldingPersonalData` finds that no module declares, each with why it must be. */
    undeclared(...args: Parameters<typeof tablesHoldingPersonalData>) {
      return undeclaredTables(
        modules.flatMap((m) => m.tables.map((t) => t.table)),
        ...args,
      );
    },

    /** The export document: when it was made, and each module's section under the module's name. */
    exportSchema() {
      return Type.Object({
        exported_at: Type.String({ format: 'date-time' }),
        // A section declared as a component (each module's is) is referenced by its name.
        ...Object.fromEntries(
          modules.map((m) => [
            m.module,
            (m.section as { $id?: string }).$id === undefined ? m.section : Ref(m.section),
          ]),
        ),
      });
    },

    /** Every module's section, read in one transaction so that the sections agree with each other. */
    async export(subject: DataSubject) {
      return db.transaction(
        async () => {
          const document: Record<string, unknown> = { exported_at: new Date().toISOString() };
          for (const module of modules) document[module.module] = await module.export(subject);
          return document;
        },
        { isolationLevel: 'repeatable read' },
      );
    },

    /**
     * Every module's erasure part, in the order registered, then the audit trail of every row they forgot
     * keeps its fields and times but not their values; all in one transaction (the caller's, if it holds
     * one), so a part that fails takes the whole erasure back.
     */
    async erase(subject: DataSubject) {
      await db.transaction(async () => {
        const forgotten = new Set<string>();
        const erasure: Erasure = {
          forget(ids) {
            for (const id of ids) forgotten.add(id);
          },
        };
        for (const module of modules) await module.erase(subject, erasure);
        await eraseAuditValues(db, [...forgotten]);
      });
    },

    /**
     * Deletes, from every table with a retention, the rows whose period has ended: in batches, each its own
     * statement, at most RETENTION_BATCHES_PER_RUN per table per run; the next run takes the rest. Rows
     * deleted per table.
     */
    async applyRetention(now = new Date()) {
      const purged: Record<string, number> = {};
      for (const declared of rights.tables()) {
        const retention = declared.retention;
        if (!retention) continue;
        const cutoff = new Date(now.getTime() - (await retentionDays(retention)) * DAY_MS);
        let total = 0;
        for (let batch = 0; batch < RETENTION_BATCHES_PER_RUN; batch++) {
          const gone = await deleteBatch(declared, retention, cutoff);
          total += gone;
          if (gone < RETENTION_BATCH) break;
        }
        purged[getTableName(declared.table)] = total;
      }
      return purged;
    },

    /** The retention runner's daily job, at night in the platform time zone. */
    retentionJob: defineJob<Record<string, never>>({
      name: 'platform.apply-retention',
      cron: '40 3 * * *',
      async handle(_data, { log }) {
        log.info({ purged: await rights.applyRetention() }, 'retention applied');
      },
    }),
  };
  return rights;
}
