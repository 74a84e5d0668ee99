/** The service as an operator runs it, `src/main.ts <command>` in a child process, for tests of start, stop and faults. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The bound of a test that starts processes. A process is awaited for what it does (a line, an exit, an
 * answer), never for a fixed time; this only stops a test that hangs. Generous: on a loaded machine
 * starting `tsx src/main.ts` alone can take half a minute.
 */
export const PROCESS_TEST_TIMEOUT = 240_000;

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Started {
  child: ChildProcess;
  /** The exit code, once the process has exited; null when a signal ended it (then named in `output()`). */
  exited: Promise<number | null>;
  /** stdout and stderr so far. */
  output(): string;
  stderr(): string;
  /** Resolves with the first output line matching `pattern`; fails if the process exits or time runs out first. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

const started: { child: ChildProcess; group: boolean }[] = [];

/** Kills whatever a test file started and left running, with the process groups it started. */
export function killStarted() {
  for (const { child, group } of started.splice(0)) {
    if (group && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone.
      }
    } else if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** The test's own environment minus the databases, with `env` on top: a test names the ones it wants. */
function environment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'info' };
  delete base.DATABASE_URL;
  delete base.REDIS_URL;
  return { ...base, ...env };
}

/** `node --import tsx src/main.ts <command>`: tsx's loader in one process, so a signal reaches the server itself. */
export function startMain(
  command: string,
  env: NodeJS.ProcessEnv,
  options: { wrapper?: string[] } = {},
): Started {
  const args = ['--import', 'tsx', 'src/main.ts', command];
  const [program, ...wrapperArgs] = options.wrapper ?? [];
  return program
    ? startCommand([program, ...wrapperArgs, process.execPath, ...args], env)
    : startCommand([process.execPath, ...args], env);
}

/**
 * A command as an operator types it in the repository root (`npm start`), with the environment of
 * `startMain`. `group` starts it in a process group of its own, as a shell does a job, so that a test can
 * signal the whole group as a terminal's Ctrl-C does.
 */
export function startCommand(
  [program, ...args]: string[],
  env: NodeJS.ProcessEnv,
  options: { group?: boolean } = {},
): Started {
  const child = spawn(program as string, args, {
    cwd: ROOT,
    env: environment(env),
    detached: options.group ?? false,
  });
  started.push({ child, group: options.group ?? false });
  let output = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  const take = (chunk: Buffer, err: boolean) => {
    output += chunk;
    if (err) stderr += chunk;
    for (const watch of watchers) watch();
  };
  child.stdout?.on('data', (d: Buffer) => take(d, false));
  child.stderr?.on('data', (d: Buffer) => take(d, true));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      if (signal) output += `\n[ended by ${signal}]\n`;
      resolve(code);
    }),
  );
  return {
    child,
    exited,
    output: () => output,
    stderr: () => stderr,
    line(pattern, timeoutMs = PROCESS_TEST_TIMEOUT) {
      return new Promise((resolve, reject) => {
        const finish = (error?: Error, found?: string) => {
          watchers.delete(check);
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(found as string);
        };
        const check = () => {
          const found = output.split('\n').find((l) => pattern.test(l));
          if (found !== undefined) finish(undefined, found);
        };
        const timer = setTimeout(
          () => finish(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${output}`)),
          timeoutMs,
        );
        watchers.add(check);
        exited.then((code) => {
          check();
          if (watchers.has(check)) finish(new Error(`exited with ${code} before ${pattern}:\n${output}`));
        });
        check();
      });
    },
  };
}

/** `npm run build`: `npm start` runs the compiled dist/, which must be of the code under test. */
export function buildDist() {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'pipe' });
}

/** The pids a process started, from Linux's /proc. */
export function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
}

/** A process's command line, from Linux's /proc. */
export function commandLineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `url` until it answers `status`; fails after `timeoutMs`. */
export async function waitForStatus(url: string, status = 200, timeoutMs = PROCESS_TEST_TIMEOUT) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (res.status === status) return;
      last = res.status;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${String(last)})`);
}

/** A JSON request to a process's API: the status, the headers and the parsed body. */
export async function callJson(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await fetch(`${base}${path}`, {
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
