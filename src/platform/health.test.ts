import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../test/factories.ts';
import { createTestApp, createTestDatabase, type TestApp, testConfig } from '../../test/helper.ts';
import { png } from '../../test/images.ts';
import { files } from './storage/schema.ts';

/** `/health/ready` says whether this process can do its job, and which part of it cannot. */
type Injected = Awaited<ReturnType<TestApp['app']['inject']>>;

function expectNotReady(res: Injected, code: string) {
  expect(res.statusCode).toBe(503);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ status: 503, code, type: `urn:kg-job-portal:problem:${code}` });
  expect(body.detail).toMatch(/^not ready: /);
  return body as { detail: string; checks: Record<string, string> };
}

describe('readiness', () => {
  it('is ready with every check that applies passing, and 503 database_unavailable once the database is gone', async () => {
    const database = await createTestDatabase();
    const own = await createTestApp({ database });
    try {
      const ready = await own.app.inject({ url: '/health/ready' });
      expect(ready.statusCode).toBe(200);
      // No job queue check: this process does not work jobs.
      expect(ready.json()).toEqual({
        status: 'ok',
        checks: {
          database: 'ok',
          file_storage: 'ok',
          ...(database.kind === 'pglite' && { data_dir: 'ok' }),
        },
      });

      await database.close();
      const body = expectNotReady(await own.app.inject({ url: '/health/ready' }), 'database_unavailable');
      expect(body.checks.database).toBe('failed');
      expect(body.detail).toContain('the database is not reachable');
      // Liveness is about the process, not its dependencies.
      expect((await own.app.inject({ url: '/health/live' })).statusCode).toBe(200);
    } finally {
      await own.close();
    }
  });

  it('checks the job queue where the process works jobs: 503 job_queue_not_running once it has stopped', async () => {
    const own = await createTestApp({ work: true, jobs: { pollingIntervalSeconds: 0.5 } });
    try {
      const ready = await own.app.inject({ url: '/health/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json().checks.job_queue).toBe('ok');

      await own.app.services.jobs.boss.stop({ graceful: false, wait: true });
      const body = expectNotReady(await own.app.inject({ url: '/health/ready' }), 'job_queue_not_running');
      expect(body.checks).toMatchObject({ database: 'ok', job_queue: 'failed' });
    } finally {
      await own.close();
    }
  });
});

const mount = (dir: string) =>
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });

/** Whether this process may mount a file system (root): tried once, and undone at once. */
function mayMount(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'kg-mount-'));
  try {
    mount(dir);
    execFileSync('umount', [dir]);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!mayMount())(
  'a full disk (a 1 MB tmpfs the test mounts; skipped where mount is not permitted)',
  () => {
    let dataDir: string;
    let t: TestApp;
    let owner: Awaited<ReturnType<typeof signedInUser>>;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kg-full-'));
      mount(dataDir);
      t = await createTestApp({ config: testConfig({ DATA_DIR: dataDir }) });
      owner = await signedInUser(t, ['client']);
    });
    afterAll(async () => {
      await t?.close();
      if (!dataDir) return;
      execFileSync('umount', [dataDir], { stdio: 'pipe' });
      rmSync(dataDir, { recursive: true, force: true });
    });

    const upload = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/files?purpose=profile_photo',
        headers: { ...owner.auth, 'content-type': 'image/png' },
        payload: png(1, 1),
      });

    /** Every file under the files directory: stored objects, and temporary files a failed write might leave. */
    function filesOnDisk(): string[] {
      const dir = join(dataDir, 'files');
      if (!existsSync(dir)) return [];
      return (readdirSync(dir, { recursive: true }) as string[]).filter((p) =>
        statSync(join(dir, p)).isFile(),
      );
    }

    const filler = () => join(dataDir, 'filler');

    function fillDisk() {
      try {
        writeFileSync(filler(), Buffer.alloc(2 * 1024 * 1024));
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
    }

    it('answers an upload 507 insufficient_storage, leaving no file and no row, and is not ready until space is freed', async () => {
      expect((await upload()).statusCode).toBe(201);
      const before = filesOnDisk();

      fillDisk();
      const res = await upload();
      expect(res.statusCode).toBe(507);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({
        status: 507,
        code: 'insufficient_storage',
        title: 'Insufficient Storage',
      });
      expect(filesOnDisk()).toEqual(before);
      expect(await t.db.select().from(files).where(eq(files.ownerId, owner.user.id))).toHaveLength(1);

      const ready = await t.app.inject({ url: '/health/ready' });
      const kind = t.database.kind;
      const body = expectNotReady(
        ready,
        kind === 'pglite' ? 'data_dir_not_writable' : 'file_storage_not_writable',
      );
      expect(body.checks).toMatchObject({ database: 'ok', file_storage: 'failed' });
      if (kind === 'pglite') expect(body.checks.data_dir).toBe('failed');
      expect(body.detail).toContain('file storage is not writable');
      expect(filesOnDisk()).toEqual(before);

      rmSync(filler());
      expect((await t.app.inject({ url: '/health/ready' })).statusCode).toBe(200);
      expect((await upload()).statusCode).toBe(201);
    });
  },
);
