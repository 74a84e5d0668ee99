/**
 * `npm run bench`: the real API and a bare Fastify ceiling, each a child process on a fresh PostgreSQL
 * database, loaded one at a time by autocannon from this process, so the load generator never competes
 * with a server inside one event loop. Prints real vs bare per scenario and writes bench/results/.
 *
 * Env: BENCH_DATABASE_URL (admin URL), BENCH_CONNECTIONS (50), BENCH_DURATION (10 s),
 * BENCH_STRICT=1 to exit non-zero when a target fails.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import type { BareRoute } from './bare-server.ts';
import {
  createDatabase,
  dropDatabase,
  firstMessage,
  forkScript,
  freePort,
  runScript,
  startScript,
  stopChild,
  waitForStatus,
} from './processes.ts';
import { type Scenario, scenarios } from './scenarios.ts';

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  connections: Number(process.env.BENCH_CONNECTIONS ?? 50),
  durationSeconds: Number(process.env.BENCH_DURATION ?? 10),
  // Long enough for the JIT to settle on the route and for pools and caches to fill.
  warmupSeconds: 2,
  strict: process.env.BENCH_STRICT === '1',
};

interface Run {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  non2xx: number;
}

interface Prepared {
  scenario: Scenario;
  headers: Record<string, string>;
  route: BareRoute;
}

interface Outcome {
  name: string;
  method: string;
  path: string;
  bare: Run;
  real: Run;
  ratio: number;
  min_ratio: number | null;
  pass: boolean | null;
}

// A signal only aborts what is in flight; main's `finally` still stops the children and drops the database.
const interrupt = new AbortController();
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  process.once(name, () => interrupt.abort(new Error(`interrupted by ${name}`)));
}
const { signal } = interrupt;

/** `20251125_043000`: sortable, and valid unquoted in a database name. */
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '_').replace(/\..*$/, '');

function apiEnv(databaseUrl: string, port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    ENCRYPTION_KEYS: `1:${randomBytes(32).toString('base64')}`,
    BLIND_INDEX_KEY: randomBytes(48).toString('base64url'),
    RUN_WORKER: 'false',
  };
}

/** Runs each scenario's setup and records the real answer, which the ceiling server then replays. */
async function prepare(apiUrl: string): Promise<Prepared[]> {
  const prepared: Prepared[] = [];
  for (const scenario of scenarios) {
    const headers = { ...scenario.headers, ...(await scenario.setup?.(apiUrl)) };
    const response = await fetch(new URL(scenario.path, apiUrl), {
      method: scenario.method,
      headers,
      signal,
    });
    const body = await response.text();
    if (!response.ok)
      throw new Error(
        `${scenario.name}: ${scenario.method} ${scenario.path} answered ${response.status}: ${body}`,
      );
    const route: BareRoute = {
      method: scenario.method,
      path: scenario.path,
      contentType: response.headers.get('content-type') ?? 'application/json',
      body,
      serializePerRequest: scenario.serializePerRequest,
    };
    prepared.push({ scenario, headers, route });
  }
  return prepared;
}

async function load(baseUrl: string, { scenario, headers }: Prepared, durationSeconds: number): Promise<Run> {
  const instance = autocannon({
    url: new URL(scenario.path, baseUrl).toString(),
    method: scenario.method,
    headers,
    connections: settings.connections,
    duration: durationSeconds,
  });
  const stop = () => instance.stop();
  signal.addEventListener('abort', stop, { once: true });
  try {
    const result = await instance;
    signal.throwIfAborted();
    return {
      rps: result.requests.average,
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      errors: result.errors,
      non2xx: result.non2xx,
    };
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

async function measure(baseUrl: string, prepared: Prepared): Promise<Run> {
  await load(baseUrl, prepared, settings.warmupSeconds);
  return load(baseUrl, prepared, settings.durationSeconds);
}

function printTable(outcomes: Outcome[]) {
  const header = [
    'scenario',
    'server',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'non-2xx',
    'real/bare',
    'target',
  ];
  const rows = outcomes.flatMap((o) => [
    [o.name, 'bare', o.bare, '', ''] as const,
    [
      '',
      'real',
      o.real,
      o.ratio.toFixed(2),
      o.min_ratio === null ? '' : `>= ${o.min_ratio.toFixed(2)} ${o.pass ? 'PASS' : 'FAIL'}`,
    ] as const,
  ]);
  const cells = [
    header,
    ...rows.map(([name, server, run, ratio, target]) => [
      name,
      server,
      run.rps.toFixed(0),
      String(run.p50_ms),
      String(run.p99_ms),
      String(run.errors),
      String(run.non2xx),
      ratio,
      target,
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of cells.slice(1)) console.log(line(row));
}

async function writeResults(outcomes: Outcome[]) {
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  const json = `${JSON.stringify(
    {
      started_at: stamp,
      settings: {
        connections: settings.connections,
        duration_s: settings.durationSeconds,
        warmup_s: settings.warmupSeconds,
        node: process.version,
        cpus: cpus().length,
      },
      scenarios: outcomes,
    },
    null,
    2,
  )}\n`;
  await writeFile(new URL(`${stamp}.json`, dir), json);
  await writeFile(new URL('latest.json', dir), json);
  console.log(`\nresults: bench/results/${stamp}.json`);
}

async function main(): Promise<boolean> {
  const databaseName = `kg_bench_${stamp}`;
  const children: ReturnType<typeof startScript>[] = [];
  let databaseCreated = false;
  try {
    const databaseUrl = await createDatabase(settings.adminUrl, databaseName);
    databaseCreated = true;
    const port = await freePort();
    const env = apiEnv(databaseUrl, port);
    const apiUrl = `http://127.0.0.1:${port}`;

    console.log(`database ${databaseName}: migrating`);
    await runScript('src/main.ts', ['migrate'], env, signal);
    const api = startScript('src/main.ts', ['serve'], env);
    children.push(api);
    await waitForStatus(`${apiUrl}/health/ready`, 200, api, signal);
    const prepared = await prepare(apiUrl);

    const bare = forkScript('bench/bare-server.ts');
    children.push(bare);
    bare.send(prepared.map((p) => p.route));
    const { port: barePort } = await firstMessage<{ port: number }>(bare, signal);
    const bareUrl = `http://127.0.0.1:${barePort}`;

    const outcomes: Outcome[] = [];
    for (const p of prepared) {
      const { name, method, path, minRatio } = p.scenario;
      console.log(
        `${name}: ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s, bare then real`,
      );
      const bareRun = await measure(bareUrl, p);
      const realRun = await measure(apiUrl, p);
      const ratio = realRun.rps / bareRun.rps;
      const pass = minRatio === undefined ? null : ratio >= minRatio;
      outcomes.push({
        name,
        method,
        path,
        bare: bareRun,
        real: realRun,
        ratio,
        min_ratio: minRatio ?? null,
        pass,
      });
    }

    printTable(outcomes);
    await writeResults(outcomes);
    return outcomes.every((o) => o.pass !== false);
  } finally {
    for (const child of children.reverse()) await stopChild(child);
    if (databaseCreated) await dropDatabase(settings.adminUrl, databaseName);
  }
}

main().then(
  (allPassed) => {
    if (!allPassed && settings.strict) process.exitCode = 1;
  },
  (error: unknown) => {
    console.error(signal.aborted ? (signal.reason as Error).message : error);
    process.exitCode = signal.aborted ? 130 : 1;
  },
);
