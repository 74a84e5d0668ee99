import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../src/platform/db.ts';
import { buildWorkerOperations } from '../src/platform/server.ts';
import { signedInUser } from './factories.ts';
import { createTestApp, createTestDatabase, createTestDatabaseUrl, testConfig, until } from './helper.ts';
import { callJson, freePort, killStarted, startMain, waitForStatus } from './processes.ts';

/**
 * `npm run worker` as an operator runs it: health and metrics on WORKER_PORT, job metrics that move as jobs
 * run, readiness that follows the database, and a request's `traceparent` in the log lines of the jobs it
 * enqueued.
 */
const onPostgres = Boolean(process.env.DATABASE_URL);
const dataDirs: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  killStarted();
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'kg-worker-'));
  dataDirs.push(dir);
  return dir;
};

/** The secrets of `testConfig`, so a process and an in-process app read each other's data. */
const SECRETS = {
  JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-signing',
  ENCRYPTION_KEYS: `1:${Buffer.alloc(32, 7).toString('base64')}`,
  BLIND_INDEX_KEY: 'test-blind-index-key-that-is-long-enough',
};

/** A trace id and a `traceparent` header of it, as a caller's tracing would send. */
function newTrace() {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

/** One sample of a Prometheus text exposition: the value of `name{labels}`, 0 when it has none yet. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const given = (match[2] ?? '').split(',');
    if (wanted.every((w) => given.includes(w))) return Number(match[3]);
  }
  return 0;
}

const metricsOf = async (base: string) => {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
};

/**
 * A TCP proxy the test owns in front of the PostgreSQL server, so that "the database is gone" is a cut of
 * this process's connections, never a restart of the shared server.
 */
async function databaseProxy(target: URL) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const port = await freePort();
  const open = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', () => {});
          socket.on('close', () => sockets.delete(socket));
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      }).listen(port, '127.0.0.1', resolve);
    });
  await open();
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    async cut() {
      const closed = new Promise((resolve) => server?.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restore: open,
  };
}

describe('the worker’s own port (in process)', () => {
  it('serves liveness, readiness with the job queue, and 503 database_unavailable once the database is gone', async () => {
    const database = await createTestDatabase();
    const config = testConfig();
    const t = await createTestApp({ database, config, work: true, jobs: { pollingIntervalSeconds: 0.5 } });
    const ops = await buildWorkerOperations(t.app, config);
    try {
      expect((await ops.inject({ url: '/health/live' })).json()).toEqual({ status: 'ok' });
      const ready = await ops.inject({ url: '/health/ready' });
      expect(ready.statusCode, ready.body).toBe(200);
      expect(ready.json().checks).toMatchObject({ database: 'ok', job_queue: 'ok', file_storage: 'ok' });
      // The API's routes are not served there.
      expect((await ops.inject({ url: '/api/v1/categories' })).statusCode).toBe(404);

      await database.close();
      const gone = await ops.inject({ url: '/health/ready' });
      expect(gone.statusCode).toBe(503);
      expect(gone.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(gone.json()).toMatchObject({ code: 'database_unavailable', checks: { database: 'failed' } });
      // The metrics still answer without the database: the queue's counts are left out.
      const metrics = await ops.inject({ url: '/metrics' });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toContain('job_duration_seconds');
    } finally {
      await ops.close();
      await t.app.close().catch(() => undefined);
    }
  });

  it('counts cache hits and misses and rate-limit refusals in the API’s metrics', async () => {
    const t = await createTestApp({ config: testConfig({ AUTH_RATE_LIMIT_PER_MINUTE: '1' }) });
    try {
      const read = async () => (await t.app.inject({ url: '/metrics' })).body;
      const before = await read();
      await t.app.inject({ url: '/api/v1/categories' });
      await t.app.inject({ url: '/api/v1/categories' });
      const login = () =>
        t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email: 'nobody@example.kg', password: 'not the password at all' },
        });
      await login();
      expect((await login()).statusCode).toBe(429);
      const after = await read();
      const lookups = (text: string, result: string) =>
        sample(text, 'cache_lookups_total', { cache: 'catalog', result });
      expect(lookups(after, 'miss')).toBeGreaterThan(lookups(before, 'miss'));
      expect(lookups(after, 'hit')).toBeGreaterThan(lookups(before, 'hit'));
      expect(sample(after, 'rate_limit_refusals_total', { route: '/api/v1/auth/login' })).toBe(1);
      if (t.database.kind === 'postgres') {
        expect(sample(after, 'db_pool_connections_total', {})).toBeGreaterThan(0);
        expect(after).toContain('db_pool_waiting');
      }
    } finally {
      await t.close();
    }
  });
});

describe('npm run worker, refused', () => {
  it('stops with one line naming WORKER_PORT when the port is in use, before opening the database', async () => {
    const port = await freePort();
    const taken = createServer().listen(port, '127.0.0.1');
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const dir = dataDir();
    const worker = startMain('worker', { ...SECRETS, DATA_DIR: dir, WORKER_PORT: String(port) });
    expect(await worker.exited).toBe(1);
    expect(worker.stderr().trim()).toBe(
      `cannot listen on 127.0.0.1:${port} (HOST, WORKER_PORT): the port is already in use`,
    );
    expect(existsSync(join(dir, 'pgdata'))).toBe(false);
  });
});

describe.skipIf(!onPostgres)('npm run worker on PostgreSQL', () => {
  it('answers its health, counts the jobs it runs, logs a request’s trace id, and is not ready while the database is cut', async () => {
    const url = await createTestDatabaseUrl();
    const proxy = await databaseProxy(new URL(url));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const worker = startMain('worker', {
      ...SECRETS,
      DATABASE_URL: proxy.url,
      DATA_DIR: dataDir(),
      WORKER_PORT: String(port),
    });
    await worker.line(/worker started/);
    await waitForStatus(`${base}/health/ready`);
    expect((await callJson(base, 'GET', '/health/live')).body).toEqual({ status: 'ok' });
    const ready = await callJson(base, 'GET', '/health/ready');
    expect(ready.body.checks).toMatchObject({ database: 'ok', job_queue: 'ok' });

    // An API process of its own (in this one) on the same database: it enqueues, the worker runs.
    const database = openPostgres(url, 4);
    const api = await createTestApp({ database, config: testConfig(SECRETS) });
    cleanups.push(
      () => api.close(),
      () => database.close(),
    );
    const job = { job: 'log.on.account_closed', outcome: 'completed' };
    const before = await metricsOf(base);
    expect(sample(before, 'job_duration_seconds_count', job)).toBe(0);

    const me = await signedInUser(api);
    const { traceId, traceparent } = newTrace();
    const closed = await api.app.inject({
      method: 'POST',
      url: '/api/v1/me/close',
      headers: { ...me.auth, traceparent },
      payload: me.reauth,
    });
    expect(closed.statusCode).toBe(204);

    // Closing ends the account's sessions too: session_ended's job logs under the same trace, in either order.
    const logged = (job: string) =>
      worker
        .line(
          new RegExp(`"job":"${job}".*"traceId":"${traceId}"|"traceId":"${traceId}".*"job":"${job}"`),
          30_000,
        )
        .then((text) => JSON.parse(text));
    const [line, ended] = await Promise.all([
      logged('log.on.account_closed'),
      logged('log.on.session_ended'),
    ]);
    expect(ended.event).toMatchObject({ type: 'session_ended', user_id: me.user.id });
    expect(line).toMatchObject({ job: 'log.on.account_closed', traceId, msg: 'event' });
    expect(line.event).toMatchObject({ type: 'account_closed', user_id: me.user.id });
    // The handler is given the event as emitted: the trace context is the job's, not the event's.
    expect(line.event.traceparent).toBeUndefined();

    await until(async () => sample(await metricsOf(base), 'job_duration_seconds_count', job) === 1);
    const after = await metricsOf(base);
    expect(sample(after, 'jobs', { job: 'log.on.account_closed', state: 'completed' })).toBe(1);
    expect(sample(after, 'db_pool_connections_total', {})).toBeGreaterThan(0);

    await proxy.cut();
    await waitForStatus(`${base}/health/ready`, 503, 20_000);
    const notReady = await callJson(base, 'GET', '/health/ready');
    expect(notReady.body).toMatchObject({ code: 'database_unavailable', checks: { database: 'failed' } });
    expect((await callJson(base, 'GET', '/health/live')).status).toBe(200);

    await proxy.restore();
    await waitForStatus(`${base}/health/ready`, 200, 30_000);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 180_000);
});

describe.skipIf(onPostgres)('npm run worker and npm start on the embedded database', () => {
  it('the worker answers its health and counts the jobs it ran', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // Two keys: the worker enqueues a re-encryption at start, and runs it.
    const keys = `1:${Buffer.alloc(32, 7).toString('base64')},2:${Buffer.alloc(32, 9).toString('base64')}`;
    const worker = startMain('worker', {
      ...SECRETS,
      ENCRYPTION_KEYS: keys,
      DATA_DIR: dataDir(),
      WORKER_PORT: String(port),
    });
    await worker.line(/worker started/, 120_000);
    await waitForStatus(`${base}/health/ready`);
    const ready = await callJson(base, 'GET', '/health/ready');
    expect(ready.body.checks).toMatchObject({ database: 'ok', data_dir: 'ok', job_queue: 'ok' });
    const job = { job: 'platform.rotate-encryption-keys', outcome: 'completed' };
    await until(async () => sample(await metricsOf(base), 'job_duration_seconds_count', job) === 1, 30_000);
    const metrics = await metricsOf(base);
    expect(sample(metrics, 'jobs', { job: 'platform.rotate-encryption-keys', state: 'completed' })).toBe(1);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 180_000);

  it('a request with a traceparent leads to a job log line with its trace id', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = startMain('serve', { ...SECRETS, DATA_DIR: dataDir(), PORT: String(port) });
    await waitForStatus(`${base}/health/ready`, 200, 120_000);
    const registered = await callJson(base, 'POST', '/api/v1/auth/register', {
      body: {
        email: `traced.${randomBytes(4).toString('hex')}@example.kg`,
        password: 'correct horse battery staple',
        full_name: 'Traced Client',
      },
    });
    expect(registered.status).toBe(201);
    const { traceId, traceparent } = newTrace();
    const closed = await callJson(base, 'POST', '/api/v1/me/close', {
      token: registered.body.access_token,
      headers: { traceparent },
      body: { password: 'correct horse battery staple' },
    });
    expect(closed.status).toBe(204);
    const line = JSON.parse(await server.line(new RegExp(`"traceId":"${traceId}".*"msg":"event"`), 30_000));
    expect(line).toMatchObject({ job: 'log.on.account_closed', traceId });
    // The request's own log lines carry it too.
    expect(server.output()).toMatch(new RegExp(`"traceId":"${traceId}"[^\\n]*"msg":"request completed"`));
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 180_000);
});
