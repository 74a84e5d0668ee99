/** Child processes and the throwaway database: everything run.ts must start and reliably undo. */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** Scripts are named from the repository root, and run there, whatever directory the bench starts in. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Run TypeScript through tsx's loader inside one node process (not the tsx CLI, which adds a wrapper
// process), so the pid we hold is the server itself and a signal to it is not relayed or lost.
const TSX = ['--import', 'tsx'];

export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  await withAdmin(adminUrl, (client) => client.query(`create database "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** `with (force)` ends connections a killed server may have left, so the drop never waits on them. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdmin(adminUrl, (client) => client.query(`drop database if exists "${name}" with (force)`));
}

async function withAdmin(adminUrl: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

export function startScript(script: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [...TSX, script, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** A script run to completion, e.g. migrations; a non-zero exit is an error. */
export async function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<void> {
  const child = startScript(script, args, env);
  try {
    const [code] = (await once(child, 'exit', { signal })) as [number | null, NodeJS.Signals | null];
    if (code !== 0) throw new Error(`${script} ${args.join(' ')} exited with ${code}`);
  } finally {
    await stopChild(child);
  }
}

export function forkScript(script: string): ChildProcess {
  return fork(script, [], { cwd: ROOT, execArgv: TSX, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** The first IPC message from a forked script; fails if the script dies before sending it. */
export function firstMessage<T>(child: ChildProcess, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`${child.spawnfile} exited with ${code} before answering`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as T);
    });
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Asks politely first (the API drains and closes its pool on SIGTERM), then insists. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timeout = sleep(graceMs, 'timeout' as const);
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Polls until `url` answers `status`; fails early if the server process dies first. */
export async function waitForStatus(
  url: string,
  status: number,
  child: ChildProcess,
  signal: AbortSignal,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`server exited with ${child.exitCode} before ${url} was ready`);
    try {
      const response = await fetch(url, { signal });
      if (response.status === status) return;
      last = `status ${response.status}`;
    } catch (error) {
      signal.throwIfAborted();
      last = (error as Error).message;
    }
    await sleep(250, undefined, { signal });
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat; undefined
 * where there is no /proc. Ticks are USER_HZ, which Linux fixes at 100 for userspace.
 */
export async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself hold spaces: state is [0], utime [11], stime [12].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * The whole machine's CPU seconds from /proc/stat, undefined where there is none: busy (all but idle and
 * iowait), stolen (what the hypervisor gave other guests while this one wanted the CPU) and the total.
 */
export async function machineSeconds(): Promise<{ busy: number; stolen: number; total: number } | undefined> {
  try {
    const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
    // user nice system idle iowait irq softirq steal
    const ticks = cpu!.split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((sum, t) => sum + t, 0);
    return { busy: (total - ticks[3]! - ticks[4]!) / 100, stolen: ticks[7]! / 100, total: total / 100 };
  } catch {
    return undefined;
  }
}

/**
 * Milliseconds a fixed piece of work takes this process (a JSON round trip of 10,000 order-like objects, ten
 * times: the kind of work an API does), the best of five: a yardstick for comparing runs across days. A
 * shared host's cores are not always as fast, and slowness from busy neighbours shows here even when little
 * of it shows as steal.
 */
export function yardstickMs(): number {
  const rows = Array.from({ length: 10_000 }, (_, i) => ({
    id: `01a2155f-e9f4-7502-b54d-${String(i).padStart(12, '0')}`,
    title: `Ремонт стиральной машины ${i}`,
    budget: { min: 150_000 + i, max: 300_000 + i, currency: 'KGS' },
    tags: ['bishkek', 'urgent', String(i % 7)],
  }));
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    for (let i = 0; i < 10; i++) JSON.parse(JSON.stringify(rows));
    best = Math.min(best, performance.now() - started);
  }
  return Math.round(best);
}

/**
 * Binds a process and all its threads (threads it starts later inherit it) to the given CPUs, e.g. '1'.
 * Returns false where that cannot be done (no taskset, not Linux), and the bench then runs unpinned.
 */
export function pinToCpus(pid: number | undefined, cpus: string): boolean {
  if (pid === undefined || process.platform !== 'linux') return false;
  const result = spawnSync('taskset', ['--all-tasks', '--pid', '--cpu-list', cpus, String(pid)], {
    stdio: 'ignore',
  });
  return result.status === 0;
}

/** A positive number from the environment, or the default; anything else stops the bench before it starts. */
export function positive(name: string, fallback: number, integer = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    console.error(
      `${name} must be a positive ${integer ? 'integer' : 'number'} (got ${JSON.stringify(raw)})`,
    );
    process.exit(2);
  }
  return value;
}

/** `20251125_043000`: sortable, and valid unquoted in a database name. */
export const runStamp = () =>
  new Date().toISOString().replace(/[-:]/g, '').replace('T', '_').replace(/\..*$/, '');

/** How the bench starts the real API: production mode on PostgreSQL, fresh secrets, no worker, no Redis. */
export function apiEnv(
  databaseUrl: string,
  port: number,
  dataDir: string,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    // Uploaded files and the like go to a directory of this run, never the checkout's ./data.
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    ENCRYPTION_KEYS: `1:${randomBytes(32).toString('base64')}`,
    BLIND_INDEX_KEY: randomBytes(48).toString('base64url'),
    RUN_WORKER: 'false',
    // Setup registers many users from one IP; the limiter must not turn that into 429s.
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    // In-memory rate limiter and cache: the bench measures this process, not a Redis round trip.
    REDIS_URL: undefined,
    ...extra,
  };
}
