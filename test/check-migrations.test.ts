import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROCESS_TEST_TIMEOUT } from './processes.ts';

/**
 * `.ci/check-migrations`, which `.ci/run` calls: on this repository, and on scratch repositories whose
 * migrations are edited, removed, renumbered at a merge, or cloned shallow.
 */
const script = resolve('.ci/check-migrations');
const scratch = mkdtempSync(join(tmpdir(), 'kg-check-migrations-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A git of its own: no user configuration, a fixed author.
const gitEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.kg',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.kg',
};

function git(cwd: string, ...args: string[]) {
  const result = spawnSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

function check(cwd: string) {
  // Bounded only so a hung script fails the test: it is awaited, however long a loaded machine takes.
  const result = spawnSync('bash', [script], {
    cwd,
    env: gitEnv,
    encoding: 'utf8',
    timeout: PROCESS_TEST_TIMEOUT,
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

let repos = 0;

/** A repository whose migrations 0000 and 0001 have landed, as drizzle-kit lays them out. */
function landedRepository() {
  const dir = join(scratch, `repo-${++repos}`);
  mkdirSync(join(dir, 'migrations', 'meta'), { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  addMigration(dir, 0, 'extensions');
  git(dir, 'commit', '-qm', 'migration 0000');
  addMigration(dir, 1, 'foundation');
  git(dir, 'commit', '-qm', 'migration 0001');
  return dir;
}

const journalOf = (dir: string) => join(dir, 'migrations', 'meta', '_journal.json');

function addMigration(dir: string, idx: number, name: string) {
  const tag = `${String(idx).padStart(4, '0')}_${name}`;
  writeFileSync(join(dir, 'migrations', `${tag}.sql`), `CREATE TABLE "${name}" ("id" uuid PRIMARY KEY);\n`);
  writeFileSync(
    join(dir, 'migrations', 'meta', `${tag.slice(0, 4)}_snapshot.json`),
    `${JSON.stringify({ id: `snapshot-${tag}`, tables: [name] }, null, 2)}\n`,
  );
  const journal = (() => {
    try {
      return JSON.parse(readFileSync(journalOf(dir), 'utf8'));
    } catch {
      return { version: '7', dialect: 'postgresql', entries: [] };
    }
  })();
  journal.entries.push({ idx, version: '7', when: 1_795_581_126_432 + idx, tag, breakpoints: true });
  writeFileSync(journalOf(dir), `${JSON.stringify(journal, null, 2)}\n`);
  git(dir, 'add', 'migrations');
}

describe('.ci/check-migrations', { timeout: PROCESS_TEST_TIMEOUT }, () => {
  it('passes on this repository', () => {
    const result = check(process.cwd());
    expect(result.out).toContain('as they landed; the journal only grew');
    expect(result.status).toBe(0);
  });

  it('passes when a new migration is added and the journal grows at its end', () => {
    const dir = landedRepository();
    addMigration(dir, 2, 'orders');
    expect(check(dir)).toMatchObject({ status: 0 });
    git(dir, 'commit', '-qm', 'migration 0002');
    expect(check(dir)).toEqual({
      status: 0,
      out: 'check-migrations: 7 migration files as they landed; the journal only grew\n',
    });
  });

  it('fails on a landed migration edited, in the working tree and once committed', () => {
    const dir = landedRepository();
    const first = git(dir, 'rev-list', '--max-parents=0', 'HEAD').slice(0, 7);
    appendFileSync(
      join(dir, 'migrations', '0000_extensions.sql'),
      'ALTER TABLE "extensions" ADD "x" text;\n',
    );
    let result = check(dir);
    expect(result.status).toBe(1);
    expect(result.out).toContain(
      `edited: migrations/0000_extensions.sql differs from the version that landed in ${first}`,
    );
    expect(result.out).toContain('put the change in a new migration');

    git(dir, 'commit', '-qam', 'edit 0000');
    result = check(dir);
    expect(result.status).toBe(1);
    expect(result.out).toContain('edited: migrations/0000_extensions.sql');
    expect(result.out).not.toContain('0001_foundation');
  });

  it('fails on an edited snapshot, and on a migration removed or renamed', () => {
    const dir = landedRepository();
    writeFileSync(join(dir, 'migrations', 'meta', '0001_snapshot.json'), '{}\n');
    expect(check(dir).out).toContain('edited: migrations/meta/0001_snapshot.json');
    git(dir, 'checkout', '--', 'migrations');

    git(dir, 'mv', 'migrations/0001_foundation.sql', 'migrations/0001_base.sql');
    git(dir, 'commit', '-qm', 'rename 0001');
    const result = check(dir);
    expect(result.status).toBe(1);
    expect(result.out).toContain('deleted: migrations/0001_foundation.sql');
  });

  it('fails when an earlier journal entry changes, or is removed, but not when entries are added', () => {
    const dir = landedRepository();
    const journal = JSON.parse(readFileSync(journalOf(dir), 'utf8'));
    journal.entries[0].when += 1;
    writeFileSync(journalOf(dir), JSON.stringify(journal, null, 2));
    let result = check(dir);
    expect(result.status).toBe(1);
    expect(result.out).toContain(
      'edited: migrations/meta/_journal.json entry 0 (0000_extensions) is not as it was in',
    );
    expect(result.out).not.toContain('entry 1');

    journal.entries[0].when -= 1;
    journal.entries.pop();
    writeFileSync(journalOf(dir), JSON.stringify(journal, null, 2));
    result = check(dir);
    expect(result.status).toBe(1);
    expect(result.out).toContain('entry 1 (0001_foundation) is not as it was in');
  });

  it('takes what landed at a merge, where a branch’s migration is renumbered, as landed', () => {
    const dir = landedRepository();
    git(dir, 'checkout', '-qb', 'feature');
    addMigration(dir, 2, 'chat');
    git(dir, 'commit', '-qm', 'feature: migration 0002_chat');
    git(dir, 'checkout', '-q', 'main');
    addMigration(dir, 2, 'payments');
    git(dir, 'commit', '-qm', 'migration 0002_payments');

    // The merge keeps main's 0002 and makes the branch's 0003.
    spawnSync('git', ['merge', '-q', '--no-ff', '--no-commit', 'feature'], { cwd: dir, env: gitEnv });
    git(dir, 'checkout', '--ours', '--', 'migrations');
    git(dir, 'rm', '-q', '--cached', 'migrations/0002_chat.sql');
    rmSync(join(dir, 'migrations', '0002_chat.sql'));
    addMigration(dir, 3, 'chat');
    git(dir, 'commit', '-qm', 'merge feature, its migration renumbered 0003');
    expect(check(dir)).toMatchObject({ status: 0 });

    // From here on the renumbered migration is landed like any other.
    appendFileSync(join(dir, 'migrations', '0003_chat.sql'), '-- later\n');
    expect(check(dir).out).toContain(
      `edited: migrations/0003_chat.sql differs from the version that landed in`,
    );
  });

  it('in a shallow clone fetches the history and still sees an edit; without a remote to fetch from, says so', () => {
    const origin = landedRepository();
    const clone = join(scratch, `shallow-${++repos}`);
    git(scratch, 'clone', '-q', '--depth', '1', `file://${origin}`, clone);
    appendFileSync(join(clone, 'migrations', '0000_extensions.sql'), '-- edited\n');
    git(clone, 'commit', '-qam', 'edit 0000');
    expect(git(clone, 'rev-parse', '--is-shallow-repository')).toBe('true');

    let result = check(clone);
    expect(result.out).toContain('shallow clone; fetching the full history');
    expect(result.out).toContain('edited: migrations/0000_extensions.sql');
    expect(result.status).toBe(1);
    expect(git(clone, 'rev-parse', '--is-shallow-repository')).toBe('false');

    const cut = join(scratch, `shallow-${++repos}`);
    git(scratch, 'clone', '-q', '--depth', '1', `file://${origin}`, cut);
    git(cut, 'remote', 'remove', 'origin');
    result = check(cut);
    expect(result.status).toBe(1);
    expect(result.out).toContain('this clone is shallow and its history could not be fetched');
    expect(result.out).not.toContain('as they landed');
  });
});
