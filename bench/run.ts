import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type { BareRoute, BareSetup } from './bare-server.ts';
import { runDataScenarios } from './data-runner.ts';
import { dataScenarios } from './data-scenarios.ts';
import {
  apiEnv,
  cpuSeconds,
  createDatabase,
  dropDatabase,
  firstMessage,
  forkScript,
  freePort,
  machineSeconds,
  pinToCpus,
  positive,
  runScript,
  runStamp,
  startScript,
  stopChild,
  waitForStatus,
  yardstickMs,
} from './processes.ts';
import { type Scenario, scenarios } from './scenarios.ts';

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  connections: positive('BENCH_CONNECTIONS', 50, true),
  durationSeconds: positive('BENCH_DURATION', 10),
  // Long enough for the JIT to settle on the route and for pools and caches to fill: after 2 s, the first
  // measured round of the data scenarios still ran 15-25% below the rest.
  warmupSeconds: positive('BENCH_WARMUP', 5),
  rounds: positive('BENCH_ROUNDS', 5, true),
  strict: process.env.BENCH_STRICT === '1',
  only: process.env.BENCH_ONLY,
  pin: process.env.BENCH_PIN !== '0',
  // As data-runner.ts's: the API's pool and the `me` ceiling's alike.
  poolSize: positive('BENCH_POOL_SIZE', 2 * cpus().length + 1, true),
  apiNodeOptions: process.env.BENCH_API_NODE_OPTIONS,
};

const { values: args } = parseArgs({ options: { scenario: { type: 'string' } }, strict: false });
/** Parts of scenario names asked for by `--scenario=` or BENCH_SCENARIOS; none means the foundation set. */
const named = String(args.scenario ?? process.env.BENCH_SCENARIOS ?? '')
  .split(',')
  .map((part) => part.trim())
  .filter(Boolean);
const isNamed = (name: string) => named.length === 0 || named.some((part) => name.includes(part));

const selected = scenarios.filter(
  (s) => isNamed(s.name) && (!settings.only || s.name.includes(settings.only)),
);
/** The data scenarios take minutes of data generation: only when named. */
const selectedData = named.length === 0 ? [] : dataScenarios.filter((s) => isNamed(s.name));
if (selected.length === 0 && selectedData.length === 0) {
  console.error(
    `no scenario matches ${named.length > 0 ? `--scenario=${named.join(',')}` : `BENCH_ONLY=${settings.only}`}: ${[
      ...scenarios,
      ...dataScenarios,
    ]
      .map((s) => s.name)
      .join(', ')}`,
  );
  process.exit(2);
}

/**
 * Where each side runs: the load generator (this process) on CPU 0 and the servers on the others, so neither
 * ever waits for the other's core. Left to itself the scheduler sometimes puts both on one core for a whole
 * run, which halved the API's req/s in some runs and not others. Null when not pinned.
 */
const pinning =
  settings.pin && cpus().length >= 2
    ? { load_generator: '0', servers: cpus().length === 2 ? '1' : `1-${cpus().length - 1}` }
    : null;

/** 1-minute load average before anything starts: recorded, since other work on the machine skews req/s. */
const loadAtStart = loadavg()[0]!;

/** Whether every pin took: false when taskset is missing or refused. */
let pinned = false;

interface Run {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** Bytes on the wire per response, status line and headers included: equal for a fair comparison. */
  bytes_per_response: number;
  /**
   * CPU time the server process spent per response (all its threads). Unlike req/s it does not depend on
   * whether the server or the load generator was the bottleneck, nor much on other work on the machine.
   */
  cpu_us_per_request: number | null;
  /** Share of the machine's CPU time the hypervisor gave other guests during the measured rounds. */
  steal_pct: number | null;
  errors: number;
  non2xx: number;
  /** req/s of each round, to show how steady the machine was. */
  round_rps: number[];
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
  /** real/bare req/s: the figure the target applies to. */
  ratio: number;
  /** bare/real CPU per request: the share of the ceiling the app would reach were the server the bottleneck. */
  cpu_ratio: number | null;
  min_ratio: number | null;
  pass: boolean | null;
  /** False when either run had errors or non-2xx answers: its figures measure something else. */
  valid: boolean;
}

// A signal only aborts what is in flight; main's `finally` still stops the children and drops the database.
const interrupt = new AbortController();
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  process.once(name, () => interrupt.abort(new Error(`interrupted by ${name}`)));
}
const { signal } = interrupt;
const stamp = runStamp();

/** Headers Node's http server writes itself on every response; everything else the bare server replays. */
const TRANSPORT_HEADERS = new Set([
  'date',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
]);

/** Runs each scenario's setup and records the real answer, which the ceiling server then replays. */
async function prepare(apiUrl: string): Promise<Prepared[]> {
  const prepared: Prepared[] = [];
  for (const scenario of selected) {
    const headers = { ...scenario.headers, ...(await scenario.setup?.(apiUrl)) };
    const response = await fetch(new URL(scenario.path, apiUrl), {
      method: scenario.method,
      // fetch asks for gzip unless told otherwise; autocannon sends only the scenario's headers.
      headers: { 'accept-encoding': 'identity', ...headers },
      signal,
    });
    const body = await response.text();
    if (!response.ok)
      throw new Error(
        `${scenario.name}: ${scenario.method} ${scenario.path} answered ${response.status}: ${body}`,
      );
    const replayed: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (!TRANSPORT_HEADERS.has(name)) replayed[name] = value;
    });
    const route: BareRoute = {
      method: scenario.method,
      path: scenario.path,
      headers: replayed,
      body,
      serializePerRequest: scenario.serializePerRequest,
      ceiling: scenario.ceiling ?? 'replay',
      acceptEncoding: headers['accept-encoding'],
    };
    prepared.push({ scenario, headers, route });
  }
  return prepared;
}

/**
 * One server's figures for one scenario, summed over its rounds. Latencies come from autocannon's
 * per-response event: its own histogram keeps whole milliseconds, which on loopback reads 0 or 1.
 */
class Sample {
  private latencies = new Float64Array(1 << 16);
  private responses = 0;
  private bytes = 0;
  private seconds = 0;
  private cpuSeconds: number | null = 0;
  private machine: { stolen: number; total: number } | null = { stolen: 0, total: 0 };
  private errors = 0;
  private non2xx = 0;
  private roundRps: number[] = [];

  record(latencyMs: number, bytes: number) {
    if (this.responses === this.latencies.length) {
      const grown = new Float64Array(this.latencies.length * 2);
      grown.set(this.latencies);
      this.latencies = grown;
    }
    this.latencies[this.responses++] = latencyMs;
    this.bytes += bytes;
  }

  endRound(
    responsesBefore: number,
    result: { duration: number; errors: number; non2xx: number },
    cpuSeconds: number | undefined,
    machine: { stolen: number; total: number } | undefined,
  ) {
    this.seconds += result.duration;
    this.machine =
      this.machine === null || machine === undefined
        ? null
        : { stolen: this.machine.stolen + machine.stolen, total: this.machine.total + machine.total };
    this.cpuSeconds =
      this.cpuSeconds === null || cpuSeconds === undefined ? null : this.cpuSeconds + cpuSeconds;
    this.errors += result.errors;
    this.non2xx += result.non2xx;
    this.roundRps.push(Math.round((this.responses - responsesBefore) / result.duration));
  }

  get count() {
    return this.responses;
  }

  summary(): Run {
    const sorted = this.latencies.subarray(0, this.responses).sort();
    const at = (q: number) =>
      this.responses === 0 ? 0 : sorted[Math.min(this.responses - 1, Math.floor(q * this.responses))]!;
    const ms = (value: number) => Math.round(value * 1000) / 1000;
    return {
      rps: this.seconds === 0 ? 0 : Math.round(this.responses / this.seconds),
      p50_ms: ms(at(0.5)),
      p99_ms: ms(at(0.99)),
      bytes_per_response: this.responses === 0 ? 0 : Math.round(this.bytes / this.responses),
      cpu_us_per_request:
        this.cpuSeconds === null || this.responses === 0
          ? null
          : Math.round((this.cpuSeconds * 1e6) / this.responses),
      steal_pct:
        this.machine === null || this.machine.total === 0
          ? null
          : Math.round((1000 * this.machine.stolen) / this.machine.total) / 10,
      errors: this.errors,
      non2xx: this.non2xx,
      round_rps: this.roundRps,
    };
  }
}

/** A server under test: where it listens, and its process, whose CPU time is read around each round. */
interface Target {
  url: string;
  pid: number | undefined;
}

/** One autocannon run; responses are added to `sample` when given (warm-up passes none). */
async function load(target: Target, { scenario, headers }: Prepared, seconds: number, sample?: Sample) {
  const cpuBefore = await cpuSeconds(target.pid);
  const machineBefore = await machineSeconds();
  const instance = autocannon({
    url: new URL(scenario.path, target.url).toString(),
    method: scenario.method,
    headers,
    connections: settings.connections,
    duration: seconds,
  });
  const before = sample?.count ?? 0;
  if (sample)
    instance.on('response', (_client, _status, bytes, latencyMs) => sample.record(latencyMs, bytes));
  const stop = () => instance.stop();
  signal.addEventListener('abort', stop, { once: true });
  try {
    const result = await instance;
    signal.throwIfAborted();
    const cpuAfter = await cpuSeconds(target.pid);
    const machineAfter = await machineSeconds();
    const cpuUsed = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
    sample?.endRound(
      before,
      result,
      cpuUsed,
      machineBefore === undefined || machineAfter === undefined
        ? undefined
        : {
            stolen: machineAfter.stolen - machineBefore.stolen,
            total: machineAfter.total - machineBefore.total,
          },
    );
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

/**
 * Both servers, warmed up, then loaded in alternating rounds (bare, real, real, bare, ...) that add up to
 * the configured duration each. Other work on the machine (and the machine has 2 cores) then slows both
 * sides alike instead of whichever happened to run during it.
 */
async function compare(bareServer: Target, api: Target, prepared: Prepared) {
  await load(bareServer, prepared, settings.warmupSeconds);
  await load(api, prepared, settings.warmupSeconds);
  const bare = new Sample();
  const real = new Sample();
  const seconds = settings.durationSeconds / settings.rounds;
  for (let round = 0; round < settings.rounds; round++) {
    const order: [Target, Sample][] = [
      [bareServer, bare],
      [api, real],
    ];
    if (round % 2 === 1) order.reverse();
    for (const [target, sample] of order) await load(target, prepared, seconds, sample);
  }
  return { bare: bare.summary(), real: real.summary() };
}

function printTable(outcomes: Outcome[]) {
  const header = [
    'scenario',
    'server',
    'req/s',
    'p50 ms',
    'p99 ms',
    'bytes/resp',
    'cpu us/req',
    'steal %',
    'errors',
    'non-2xx',
    'real/bare',
    'cpu ratio',
    'target',
  ];
  const rows = outcomes.flatMap((o) => [
    [o.name, 'bare', o.bare, '', '', ''] as const,
    [
      '',
      'real',
      o.real,
      o.ratio.toFixed(2),
      o.cpu_ratio === null ? '' : o.cpu_ratio.toFixed(2),
      o.min_ratio === null
        ? ''
        : `>= ${o.min_ratio.toFixed(2)} ${o.valid ? (o.pass ? 'PASS' : 'FAIL') : 'INVALID'}`,
    ] as const,
  ]);
  const cells = [
    header,
    ...rows.map(([name, server, run, ratio, cpuRatio, target]) => [
      name,
      server,
      run.rps.toFixed(0),
      run.p50_ms.toFixed(2),
      run.p99_ms.toFixed(2),
      String(run.bytes_per_response),
      String(run.cpu_us_per_request ?? ''),
      run.steal_pct === null ? '' : run.steal_pct.toFixed(1),
      String(run.errors),
      String(run.non2xx),
      ratio,
      cpuRatio,
      target,
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of cells.slice(1)) console.log(line(row));
}

async function writeResults(outcomes: Outcome[], yardstick: number) {
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  const json = `${JSON.stringify(
    {
      started_at: stamp,
      settings: {
        connections: settings.connections,
        duration_s: settings.durationSeconds,
        warmup_s: settings.warmupSeconds,
        rounds: settings.rounds,
        node: process.version,
        cpus: cpus().length,
        load_average_at_start: loadAtStart,
        yardstick_ms: yardstick,
        pool_size: settings.poolSize,
        pinned: pinned ? pinning : null,
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
  if (loadAtStart > 0.5)
    console.warn(
      `load average ${loadAtStart.toFixed(2)} on ${cpus().length} cores: other work is running; req/s will be noisy, cpu us/req less so`,
    );
  if (pinning) pinned = pinToCpus(process.pid, pinning.load_generator);
  const yardstick = yardstickMs();
  console.log(`yardstick: ${yardstick} ms for a fixed piece of work on one core (lower is faster)`);
  const databaseName = `kg_bench_${stamp}`;
  const children: ReturnType<typeof startScript>[] = [];
  let databaseCreated = false;
  const dataDir = await mkdtemp(join(tmpdir(), 'kg-bench-'));
  try {
    const databaseUrl = await createDatabase(settings.adminUrl, databaseName);
    databaseCreated = true;
    const port = await freePort();
    const env = apiEnv(databaseUrl, port, dataDir, { DATABASE_POOL_SIZE: String(settings.poolSize) });
    const apiUrl = `http://127.0.0.1:${port}`;

    console.log(`database ${databaseName}: migrating`);
    await runScript('src/main.ts', ['migrate'], env, signal);
    const api = startScript('src/main.ts', ['serve'], { ...env, NODE_OPTIONS: settings.apiNodeOptions });
    if (pinning) pinned &&= pinToCpus(api.pid, pinning.servers);
    children.push(api);
    await waitForStatus(`${apiUrl}/health/ready`, 200, api, signal);
    const prepared = await prepare(apiUrl);

    const bare = forkScript('bench/bare-server.ts');
    if (pinning) pinned &&= pinToCpus(bare.pid, pinning.servers);
    if (pinning)
      console.log(
        pinned
          ? `load generator on CPU ${pinning.load_generator}, servers on CPU ${pinning.servers}`
          : 'could not bind processes to CPUs (taskset missing?): running unpinned',
      );
    children.push(bare);
    bare.send({
      routes: prepared.map((p) => p.route),
      database: {
        databaseUrl,
        poolSize: settings.poolSize,
        jwtSecret: env.JWT_SECRET!,
        encryptionKeys: env.ENCRYPTION_KEYS!,
      },
    } satisfies BareSetup);
    const { port: barePort } = await firstMessage<{ port: number }>(bare, signal);
    const bareUrl = `http://127.0.0.1:${barePort}`;

    const outcomes: Outcome[] = [];
    for (const p of prepared) {
      const { name, method, path, minRatio } = p.scenario;
      console.log(
        `${name}: ${settings.warmupSeconds} s warm-up each, then ${settings.durationSeconds} s each in ${settings.rounds} alternating rounds`,
      );
      const { bare: bareRun, real: realRun } = await compare(
        { url: bareUrl, pid: bare.pid },
        { url: apiUrl, pid: api.pid },
        p,
      );
      const ratio = realRun.rps / bareRun.rps;
      const cpuRatio =
        bareRun.cpu_us_per_request && realRun.cpu_us_per_request
          ? bareRun.cpu_us_per_request / realRun.cpu_us_per_request
          : null;
      const valid = [bareRun, realRun].every((run) => run.errors === 0 && run.non2xx === 0);
      if (!valid) console.warn(`${name}: errors or non-2xx answers under load; its ratio is not meaningful`);
      const pass = minRatio === undefined ? null : valid && ratio >= minRatio;
      outcomes.push({
        name,
        method,
        path,
        bare: bareRun,
        real: realRun,
        ratio,
        cpu_ratio: cpuRatio,
        min_ratio: minRatio ?? null,
        pass,
        valid,
      });
    }

    printTable(outcomes);
    const stolen = Math.max(...outcomes.flatMap((o) => [o.bare.steal_pct ?? 0, o.real.steal_pct ?? 0]));
    if (stolen > 3)
      console.warn(
        `\nthe hypervisor took up to ${stolen.toFixed(1)}% of the CPU during the loads (steal %): these figures are not comparable with a quiet machine's`,
      );
    await writeResults(outcomes, yardstick);
    return outcomes.every((o) => o.pass !== false);
  } finally {
    for (const child of children.reverse()) await stopChild(child);
    if (databaseCreated) await dropDatabase(settings.adminUrl, databaseName);
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function all(): Promise<boolean> {
  const foundation = selected.length > 0 ? await main() : true;
  const data = selectedData.length > 0 ? await runDataScenarios(selectedData, { signal, pinning }) : true;
  return foundation && data;
}

all().then(
  (allPassed) => {
    if (!allPassed && settings.strict) process.exitCode = 1;
  },
  (error: unknown) => {
    console.error(signal.aborted ? (signal.reason as Error).message : error);
    process.exitCode = signal.aborted ? 130 : 1;
  },
);
