import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl } from './helper.ts';
import {
  buildDist,
  childrenOf,
  commandLineOf,
  freePort,
  isAlive,
  killStarted,
  startCommand,
  waitForStatus,
} from './processes.ts';

/**
 * The README's start command, `npm start`, as an operator runs it: the compiled server under node, and a
 * signal to the pid `npm start` gives reaches it, so it drains and lets go of the port and the embedded
 * database's lock. On PostgreSQL it serves a copy of the migrated template.
 */
const onPostgres = Boolean(process.env.DATABASE_URL);
const dirs: string[] = [];

beforeAll(() => buildDist(), 180_000);

afterAll(() => {
  killStarted();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'kg-npm-start-'));
  dirs.push(dataDir);
  const port = await freePort();
  const env = {
    DATA_DIR: dataDir,
    PORT: String(port),
    ...(onPostgres && { DATABASE_URL: await createTestDatabaseUrl() }),
  };
  const npm = startCommand(['npm', 'start'], env, { group: true });
  await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200, 90_000);
  const [server, ...others] = childrenOf(npm.child.pid as number);
  expect(others).toEqual([]);
  return { npm, server: server as number, port, lock: join(dataDir, 'pgdata.lock') };
}

/** Taking the port shows that nothing holds it any more. */
function expectPortFree(port: number) {
  return new Promise<void>((resolve, reject) => {
    const probe = createServer()
      .once('error', reject)
      .listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

describe('npm start', () => {
  it('runs the compiled JavaScript with node, and SIGTERM to its pid stops the server: port and lock released', async () => {
    const { npm, server, port, lock } = await startServer();
    // npm's child is the server itself (the script execs it), not a shell or tsx in between.
    expect(commandLineOf(server).slice(-2)).toEqual(['dist/main.js', 'serve']);
    expect(commandLineOf(server).join(' ')).not.toContain('tsx');
    if (!onPostgres) expect(existsSync(lock)).toBe(true);

    npm.child.kill('SIGTERM');
    expect(await npm.exited).toBe(0);
    expect(npm.output()).toContain('stopping: draining requests and jobs');
    expect(isAlive(server)).toBe(false);
    expect(existsSync(lock)).toBe(false);
    await expectPortFree(port);
  }, 150_000);

  it('drains and exits 0 on Ctrl-C, when the terminal signals npm and the server together', async () => {
    const { npm, server, port, lock } = await startServer();
    // A terminal's Ctrl-C: SIGINT to every process of the foreground job; npm relays its own to the server,
    // here at its slowest, once the server has begun to drain. Taken for a second Ctrl-C, the relay would
    // stop the server at once: exit 1, saying so.
    process.kill(-(npm.child.pid as number), 'SIGINT');
    await npm.line(/stopping: draining requests and jobs/);
    // A drain can be over before the relay; npm sends it only to a child still running.
    if (isAlive(server)) process.kill(server, 'SIGINT');

    expect(await npm.exited).toBe(0);
    expect(npm.output()).not.toContain('second SIGINT');
    expect(isAlive(server)).toBe(false);
    expect(existsSync(lock)).toBe(false);
    await expectPortFree(port);
  }, 150_000);
});
