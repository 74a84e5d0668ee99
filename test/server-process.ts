import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import { inject } from 'vitest';
import { withDatabase } from './global-setup.ts';

/** The service as an operator runs it (`tsx src/main.ts <command>`), in a child process a test can kill. */

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

const children = new Set<ChildProcess>();

/** Kills every process this file started: for afterAll. */
export function killAll() {
  for (const child of children) child.kill('SIGKILL');
}

/**
 * Starts `src/main.ts <command>` with the environment of this test run (database and Redis as the suite uses
 * them) plus `env`; a value of `undefined` removes a variable.
 */
export function startProcess(command: string, env: Record<string, string | undefined>): ServerProcess {
  const merged: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'warn' };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', command], {
    env: merged,
    stdio: 'pipe',
  });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, exited, output: () => output };
}

export async function waitReady(port: number, server?: ServerProcess, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  server?.exited.then(() => (gone = true));
  while (Date.now() < deadline && !gone) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not become ready${server ? `:\n${server.output()}` : ''}`);
}

/**
 * On PostgreSQL, a database of its own for a server process, copied from the suite's migrated template;
 * undefined on the embedded database, where the process migrates its own DATA_DIR.
 */
export async function serverDatabaseUrl(): Promise<string | undefined> {
  const template = inject('pgTemplate');
  const url = process.env.DATABASE_URL;
  if (!template || !url) return undefined;
  const name = `${template}_proc_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${template}`);
  } finally {
    await admin.end();
  }
  return withDatabase(url, name);
}

/** A JSON request to a server process: status and parsed body. */
export async function call(
  port: number,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}
