import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** The service as an operator runs it: `tsx src/main.ts serve` on the embedded database in a fresh DATA_DIR. */
const dataDir = mkdtempSync(join(tmpdir(), 'kg-lifecycle-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function start(command: string, port: number) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: 'info',
    NODE_ENV: 'development',
  };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', command], { env, stdio: 'pipe' });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function waitReady(port: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the server did not become ready');
}

describe.skipIf(process.env.DATABASE_URL)('running the service on the embedded database', () => {
  it('starts on a fresh data dir, guards it with a lock, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const server = start('serve', port);
    await waitReady(port);

    const categories = await fetch(`http://127.0.0.1:${port}/api/v1/categories`);
    expect(categories.status).toBe(200);
    expect(((await categories.json()) as unknown[]).length).toBe(8);

    // A second process on the same data directory must refuse, naming the lock, and leave the first running.
    const second = start('migrate', await freePort());
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain('pgdata.lock');
    expect(second.output().trim().split('\n')).toHaveLength(1);
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);

    const inFlight = fetch(`http://127.0.0.1:${port}/api/v1/service-areas`);
    server.child.kill('SIGTERM');
    expect((await inFlight).status).toBe(200);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('stopping');

    // Restarting on the same data keeps the data and takes the lock again.
    const again = start('serve', port);
    await waitReady(port);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 120_000);
});
