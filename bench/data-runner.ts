/**
 * Runs the data scenarios (data-scenarios.ts) for `npm run bench -- --scenario=...` (run.ts): a fresh
 * PostgreSQL database filled by the generators in bench/datagen/ (about 75 s for the whole marketplace on
 * two cores), the real API and a bare Fastify ceiling as child processes, loaded one at a time by autocannon
 * from this process, warmed up, then in alternating rounds; every request is built anew (order ids, tokens).
 *
 * Env, besides run.ts's BENCH_DATABASE_URL, BENCH_CONNECTIONS, BENCH_DURATION and BENCH_ROUNDS:
 * BENCH_DATA_SCALE (1: fraction of the data sizes, for a quick try), BENCH_BID_ACCOUNTS (bidders for bid
 * creation; default from the target rate and the load time), BENCH_KEEP_DATABASE=1 (leave the database for
 * EXPLAIN), BENCH_REUSE_DATABASE=<name> (run on a database a kept run left, skipping migration and
 * generation; it is left in place), BENCH_API_NODE_OPTIONS (NODE_OPTIONS for the API only, e.g.
 * --import=./profile.mjs).
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import type { BareDataRoute, BareDataSetup } from './bare-data-server.ts';
import type { DataScenario, Dataset, PreparedLoad, RequestShape } from './data-scenarios.ts';
import { buildMarketplace, FULL_MARKETPLACE, type MarketplaceSize } from './datagen/marketplace.ts';
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

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  connections: positive('BENCH_CONNECTIONS', 50, true),
  durationSeconds: positive('BENCH_DURATION', 10),
  // As run.ts's, and for the same reason.
  warmupSeconds: positive('BENCH_WARMUP', 5),
  rounds: positive('BENCH_ROUNDS', 5, true),
  scale: positive('BENCH_DATA_SCALE', 1),
  // PostgreSQL's rule of thumb for a pool: twice its cores and one. Each connection past the cores only adds
  // a backend fighting for them: one connection at a time, a bid cost PostgreSQL 630-810 us of CPU on this
  // machine; 4 at once, 775-930; 20 at once, 1,020-1,290 (the same bid statement, three rounds each).
  poolSize: positive('BENCH_POOL_SIZE', 2 * cpus().length + 1, true),
  keepDatabase: process.env.BENCH_KEEP_DATABASE === '1',
  reuseDatabase: process.env.BENCH_REUSE_DATABASE || undefined,
  apiNodeOptions: process.env.BENCH_API_NODE_OPTIONS,
};

/** Set by runDataScenarios: run.ts's interrupt, which aborts the load in flight. */
let signal: AbortSignal = new AbortController().signal;
const stamp = runStamp();
/** The data scenarios' API: a fixed pool size, and node options for profiling runs. */
const apiSettings = { DATABASE_POOL_SIZE: String(settings.poolSize), NODE_OPTIONS: settings.apiNodeOptions };
const loadAtStart = loadavg()[0]!;

/** The commit measured, and whether the work tree differed from it (src/ edits of others show up here). */
function revision(): { commit: string; dirty: boolean } | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: 'pipe' }).trim();
    return {
      commit: git('rev-parse', 'HEAD'),
      dirty: git('status', '--porcelain', '--', 'src', 'migrations') !== '',
    };
  } catch {
    return null;
  }
}

/** The data the selected scenarios need: providers alone are quick; orders bring the whole marketplace. */
function sizeFor(datasets: Set<Dataset>): MarketplaceSize {
  const scaled = (n: number) => Math.max(1, Math.round(n * settings.scale));
  const withOrders = datasets.has('orders');
  return {
    providers: scaled(FULL_MARKETPLACE.providers),
    servicesPerProvider: FULL_MARKETPLACE.servicesPerProvider,
    clients: scaled(FULL_MARKETPLACE.clients),
    orders: withOrders ? scaled(FULL_MARKETPLACE.orders) : 0,
    bids: withOrders ? scaled(FULL_MARKETPLACE.bids) : 0,
  };
}

/**
 * Waits until the server under test has stopped working on requests autocannon gave up on at the end of
 * a load (queries queued in the pool keep the database busy for a while when a route is slow), so the next
 * load, often the other server's, starts on a quiet machine. At most `maxSeconds`.
 */
async function settle(pid: number | undefined, maxSeconds = 15): Promise<void> {
  const deadline = Date.now() + maxSeconds * 1000;
  while (Date.now() < deadline) {
    const [cpuBefore, busyBefore] = [await cpuSeconds(pid), (await machineSeconds())?.busy];
    await sleep(250);
    const [cpuAfter, busyAfter] = [await cpuSeconds(pid), (await machineSeconds())?.busy];
    if (
      cpuBefore === undefined ||
      cpuAfter === undefined ||
      busyBefore === undefined ||
      busyAfter === undefined
    )
      return;
    // Under a tenth of a core for the server and under one core for the machine (other work may run).
    if ((cpuAfter - cpuBefore) / 0.25 < 0.1 && (busyAfter - busyBefore) / 0.25 < 1) return;
  }
}

interface Run {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  bytes_per_response: number;
  cpu_us_per_request: number | null;
  /**
   * Share of the machine's CPU time the hypervisor gave other guests during the measured rounds: figures
   * taken with much of it are not comparable with a quiet machine's.
   */
  steal_pct: number | null;
  errors: number;
  non2xx: number;
  /** Answers by status code, to tell a 429 (rate limit) from a 409 (repeated pair) from a 5xx. */
  statuses: Record<string, number>;
  round_rps: number[];
}

class Sample {
  private latencies = new Float64Array(1 << 16);
  private responses = 0;
  private bytes = 0;
  private seconds = 0;
  private cpu: number | null = 0;
  private machine: { stolen: number; total: number } | null = { stolen: 0, total: 0 };
  private errors = 0;
  private statuses: Record<string, number> = {};
  private roundRps: number[] = [];

  get count() {
    return this.responses;
  }

  record(status: number, latencyMs: number, bytes: number) {
    if (this.responses === this.latencies.length) {
      const grown = new Float64Array(this.latencies.length * 2);
      grown.set(this.latencies);
      this.latencies = grown;
    }
    this.latencies[this.responses++] = latencyMs;
    this.bytes += bytes;
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }

  endRound(
    before: number,
    seconds: number,
    errors: number,
    cpu: number | undefined,
    machine: { stolen: number; total: number } | undefined,
  ) {
    this.seconds += seconds;
    this.errors += errors;
    this.cpu = this.cpu === null || cpu === undefined ? null : this.cpu + cpu;
    this.machine =
      this.machine === null || machine === undefined
        ? null
        : { stolen: this.machine.stolen + machine.stolen, total: this.machine.total + machine.total };
    this.roundRps.push(Math.round((this.responses - before) / seconds));
  }

  summary(): Run {
    const sorted = this.latencies.subarray(0, this.responses).sort();
    const at = (q: number) =>
      this.responses === 0 ? 0 : sorted[Math.min(this.responses - 1, Math.floor(q * this.responses))]!;
    const ms = (value: number) => Math.round(value * 1000) / 1000;
    const non2xx = Object.entries(this.statuses)
      .filter(([status]) => !status.startsWith('2'))
      .reduce((sum, [, n]) => sum + n, 0);
    return {
      rps: this.seconds === 0 ? 0 : Math.round((this.responses / this.seconds) * 10) / 10,
      p50_ms: ms(at(0.5)),
      p99_ms: ms(at(0.99)),
      bytes_per_response: this.responses === 0 ? 0 : Math.round(this.bytes / this.responses),
      cpu_us_per_request:
        this.cpu === null || this.responses === 0 ? null : Math.round((this.cpu * 1e6) / this.responses),
      steal_pct:
        this.machine === null || this.machine.total === 0
          ? null
          : Math.round((1000 * this.machine.stolen) / this.machine.total) / 10,
      errors: this.errors,
      non2xx,
      statuses: this.statuses,
      round_rps: this.roundRps,
    };
  }
}

interface Target {
  url: string;
  pid: number | undefined;
  /** Next call number of this target's request sequence. */
  next: number;
}

async function load(
  target: Target,
  scenario: DataScenario,
  prepared: PreparedLoad,
  seconds: number,
  sample?: Sample,
) {
  const cpuBefore = await cpuSeconds(target.pid);
  const machineBefore = await machineSeconds();
  const instance = autocannon({
    url: target.url,
    method: scenario.method,
    connections: settings.connections,
    duration: seconds,
    requests: [
      {
        setupRequest: (request) => {
          const shape: RequestShape = prepared.request(target.next++);
          return { ...request, path: shape.path, headers: shape.headers, body: shape.body };
        },
      },
    ],
  });
  const before = sample?.count ?? 0;
  if (sample)
    instance.on('response', (_client, status, bytes, latency) => sample.record(status, latency, bytes));
  const stop = () => instance.stop();
  signal.addEventListener('abort', stop, { once: true });
  try {
    const result = await instance;
    signal.throwIfAborted();
    const cpuAfter = await cpuSeconds(target.pid);
    const machineAfter = await machineSeconds();
    await settle(target.pid);
    sample?.endRound(
      before,
      result.duration,
      result.errors,
      cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
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

interface Outcome {
  name: string;
  method: string;
  route: string;
  ceiling: string;
  bare: Run;
  real: Run;
  ratio: number;
  cpu_ratio: number | null;
  /** Median time of a few calls one at a time before the load: the route's own latency, without queueing. */
  unloaded_ms: number;
  targets: { min_ratio: number | null; max_p99_ms: number | null; min_rps: number | null };
  /** Per target that applies: met or not; null when the runs had errors or non-2xx answers. */
  pass: { ratio?: boolean | null; p99?: boolean | null; rps?: boolean | null };
  valid: boolean;
}

const UNLOADED_CALLS = 5;

/** Sends call 0 once, so a broken setup fails before any load, and returns what the ceiling replays. */
async function sampleAnswer(apiUrl: string, scenario: DataScenario, shape: RequestShape) {
  const response = await fetch(new URL(shape.path, apiUrl), {
    method: scenario.method,
    headers: shape.headers,
    body: shape.body,
    signal,
  });
  const body = await response.text();
  if (!response.ok)
    throw new Error(
      `${scenario.name}: ${scenario.method} ${shape.path} answered ${response.status}: ${body}`,
    );
  const headers: Record<string, string> = {};
  const transport = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
  response.headers.forEach((value, name) => {
    if (!transport.has(name)) headers[name] = value;
  });
  return { status: response.status, headers, body };
}

async function runScenario(
  scenario: DataScenario,
  prepared: PreparedLoad,
  api: { url: string; pid: number | undefined },
  databaseUrl: string,
  /** CPUs to bind the ceiling server to, as run.ts binds its servers; null to leave it. */
  servers: string | null,
): Promise<Outcome> {
  const first = prepared.request(0);
  const answer = await sampleAnswer(api.url, scenario, first);
  const unloaded: number[] = [];
  for (let n = 1; n <= UNLOADED_CALLS; n++) {
    const started = performance.now();
    await sampleAnswer(api.url, scenario, prepared.request(n));
    unloaded.push(performance.now() - started);
  }
  unloaded.sort((a, b) => a - b);
  const route: BareDataRoute =
    scenario.ceiling === 'order-by-id'
      ? { kind: 'order-by-id', method: 'GET', url: '/api/v1/orders/:id' }
      : {
          kind: 'replay',
          method: scenario.method,
          url: '*',
          ...answer,
          serializePerRequest: scenario.serializePerRequest,
        };
  const bareChild: ChildProcess = forkScript('bench/bare-data-server.ts');
  if (servers) pinToCpus(bareChild.pid, servers);
  try {
    bareChild.send({ databaseUrl, poolSize: settings.poolSize, routes: [route] } satisfies BareDataSetup);
    const { port } = await firstMessage<{ port: number }>(bareChild, signal);
    const bare: Target = { url: `http://127.0.0.1:${port}`, pid: bareChild.pid, next: 0 };
    const real: Target = { ...api, next: 1 + UNLOADED_CALLS };
    console.log(
      `${scenario.name}: ${settings.warmupSeconds} s warm-up each, then ${settings.durationSeconds} s each in ${settings.rounds} alternating rounds`,
    );
    await load(bare, scenario, prepared, settings.warmupSeconds);
    await load(real, scenario, prepared, settings.warmupSeconds);
    const bareSample = new Sample();
    const realSample = new Sample();
    const seconds = settings.durationSeconds / settings.rounds;
    for (let round = 0; round < settings.rounds; round++) {
      const order: [Target, Sample][] = [
        [bare, bareSample],
        [real, realSample],
      ];
      if (round % 2 === 1) order.reverse();
      for (const [target, sample] of order) await load(target, scenario, prepared, seconds, sample);
    }
    if (prepared.capacity !== undefined && real.next > prepared.capacity)
      console.warn(`${scenario.name}: ${real.next} calls exceed the ${prepared.capacity} the setup allows`);

    const bareRun = bareSample.summary();
    const realRun = realSample.summary();
    const valid = [bareRun, realRun].every((run) => run.rps > 0 && run.errors === 0 && run.non2xx === 0);
    if (!valid)
      console.warn(
        `${scenario.name}: no answers, errors or non-2xx answers under load: ${JSON.stringify(realRun.statuses)}, ${realRun.errors} errors`,
      );
    const ratio = realRun.rps / bareRun.rps;
    const judged = (met: boolean) => (valid ? met : null);
    const pass: Outcome['pass'] = {};
    if (scenario.minRatio !== undefined) pass.ratio = judged(ratio >= scenario.minRatio);
    if (scenario.maxP99Ms !== undefined) pass.p99 = judged(realRun.p99_ms <= scenario.maxP99Ms);
    if (scenario.minRps !== undefined) pass.rps = judged(realRun.rps >= scenario.minRps);
    return {
      name: scenario.name,
      method: scenario.method,
      route: scenario.route,
      ceiling: scenario.ceiling,
      bare: bareRun,
      real: realRun,
      ratio,
      unloaded_ms: Math.round(unloaded[Math.floor(UNLOADED_CALLS / 2)]! * 100) / 100,
      cpu_ratio:
        bareRun.cpu_us_per_request && realRun.cpu_us_per_request
          ? bareRun.cpu_us_per_request / realRun.cpu_us_per_request
          : null,
      targets: {
        min_ratio: scenario.minRatio ?? null,
        max_p99_ms: scenario.maxP99Ms ?? null,
        min_rps: scenario.minRps ?? null,
      },
      pass,
      valid,
    };
  } finally {
    await stopChild(bareChild);
  }
}

function verdicts(o: Outcome): string {
  const word = (met: boolean | null | undefined) => (met === null ? 'INVALID' : met ? 'PASS' : 'FAIL');
  const parts: string[] = [];
  if (o.targets.min_ratio !== null) parts.push(`ratio >= ${o.targets.min_ratio} ${word(o.pass.ratio)}`);
  if (o.targets.max_p99_ms !== null) parts.push(`p99 <= ${o.targets.max_p99_ms} ms ${word(o.pass.p99)}`);
  if (o.targets.min_rps !== null) parts.push(`>= ${o.targets.min_rps} req/s ${word(o.pass.rps)}`);
  return parts.join('; ');
}

/** Steal above this in any run gets a warning under the table. */
const STEAL_WARNING_PCT = 3;

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
    'unloaded ms',
    'targets',
  ];
  const cells = [
    header,
    ...outcomes.flatMap((o) =>
      (['bare', 'real'] as const).map((side) => {
        const run = o[side];
        return [
          side === 'bare' ? o.name : '',
          side === 'bare' ? `bare (${o.ceiling})` : 'real',
          run.rps.toFixed(run.rps < 10 ? 1 : 0),
          run.p50_ms.toFixed(2),
          run.p99_ms.toFixed(2),
          String(run.bytes_per_response),
          String(run.cpu_us_per_request ?? ''),
          run.steal_pct === null ? '' : run.steal_pct.toFixed(1),
          String(run.errors),
          String(run.non2xx),
          side === 'real' ? o.ratio.toFixed(2) : '',
          side === 'real' ? o.unloaded_ms.toFixed(2) : '',
          side === 'real' ? verdicts(o) : '',
        ];
      }),
    ),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i < 2 || i === row.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of cells.slice(1)) console.log(line(row));
  const stolen = Math.max(...outcomes.flatMap((o) => [o.bare.steal_pct ?? 0, o.real.steal_pct ?? 0]));
  if (stolen > STEAL_WARNING_PCT)
    console.warn(
      `\nthe hypervisor took up to ${stolen.toFixed(1)}% of the CPU during the loads (steal %): other guests were busy, and these figures are not comparable with a quiet machine's`,
    );
}

/** Where run.ts binds the load generator (this process) and the servers; null when it does not. */
export interface Pinning {
  load_generator: string;
  servers: string;
}

/** Runs `selected` on one generated database; true when every target that applies was met. */
export async function runDataScenarios(
  selected: DataScenario[],
  options: { signal: AbortSignal; pinning: Pinning | null },
): Promise<boolean> {
  signal = options.signal;
  const { pinning } = options;
  let pinned = pinning ? pinToCpus(process.pid, pinning.load_generator) : false;
  if (loadAtStart > 0.5)
    console.warn(`load average ${loadAtStart.toFixed(2)} on ${cpus().length} cores: req/s will be noisy`);
  const yardstick = yardstickMs();
  console.log(`yardstick: ${yardstick} ms for a fixed piece of work on one core (lower is faster)`);
  const databaseName = settings.reuseDatabase ?? `kg_bench_data_${stamp}`;
  const children: ChildProcess[] = [];
  let databaseCreated = false;
  const dataDir = await mkdtemp(join(tmpdir(), 'kg-bench-data-'));
  const admin = { client: undefined as pg.Client | undefined };
  try {
    const size = sizeFor(new Set(selected.map((s) => s.dataset)));
    let databaseUrl: string;
    let generationSeconds: number | null = null;
    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    if (settings.reuseDatabase) {
      const url = new URL(settings.adminUrl);
      url.pathname = `/${settings.reuseDatabase}`;
      databaseUrl = url.toString();
      console.log(`database ${databaseName}: reused as it is`);
    } else {
      databaseUrl = await createDatabase(settings.adminUrl, databaseName);
      databaseCreated = true;
      console.log(`database ${databaseName}: migrating`);
      await runScript('src/main.ts', ['migrate'], apiEnv(databaseUrl, port, dataDir, apiSettings), signal);
      console.log(`generating ${JSON.stringify(size)}`);
      const generated = performance.now();
      await buildMarketplace(databaseUrl, size);
      generationSeconds = (performance.now() - generated) / 1000;
    }
    const env = apiEnv(databaseUrl, port, dataDir, apiSettings);

    const api = startScript('src/main.ts', ['serve'], env);
    if (pinning) pinned &&= pinToCpus(api.pid, pinning.servers);
    if (pinning)
      console.log(
        pinned
          ? `load generator on CPU ${pinning.load_generator}, servers on CPU ${pinning.servers} (PostgreSQL unbound)`
          : 'could not bind processes to CPUs (taskset missing?): running unpinned',
      );
    children.push(api);
    await waitForStatus(`${apiUrl}/health/ready`, 200, api, signal);
    admin.client = new pg.Client({ connectionString: databaseUrl });
    await admin.client.connect();

    const loadSeconds = settings.warmupSeconds + settings.durationSeconds;
    const outcomes: Outcome[] = [];
    for (const scenario of selected) {
      console.log(`${scenario.name}: preparing`);
      const prepared = await scenario.prepare({ apiUrl, db: admin.client, loadSeconds, log: console.log });
      // What the setup wrote is read by the planner with fresh statistics, as it would be in production.
      await admin.client.query('analyze');
      outcomes.push(
        await runScenario(
          scenario,
          prepared,
          { url: apiUrl, pid: api.pid },
          databaseUrl,
          pinned && pinning ? pinning.servers : null,
        ),
      );
    }

    printTable(outcomes);
    const dir = new URL('./results/', import.meta.url);
    await mkdir(dir, { recursive: true });
    const json = `${JSON.stringify(
      {
        started_at: stamp,
        revision: revision(),
        settings: {
          connections: settings.connections,
          duration_s: settings.durationSeconds,
          warmup_s: settings.warmupSeconds,
          rounds: settings.rounds,
          pool_size: settings.poolSize,
          pinned: pinned ? pinning : null,
          node: process.version,
          cpus: cpus().length,
          load_average_at_start: loadAtStart,
          yardstick_ms: yardstick,
        },
        data: {
          ...(settings.reuseDatabase ? { reused: settings.reuseDatabase } : size),
          generation_s: generationSeconds === null ? null : Math.round(generationSeconds * 10) / 10,
        },
        scenarios: outcomes,
      },
      null,
      2,
    )}\n`;
    await writeFile(new URL(`data-${stamp}.json`, dir), json);
    await writeFile(new URL('data-latest.json', dir), json);
    console.log(`\nresults: bench/results/data-${stamp}.json`);
    return outcomes.every((o) => Object.values(o.pass).every((met) => met === true));
  } finally {
    await admin.client?.end();
    for (const child of children.reverse()) await stopChild(child);
    if (databaseCreated && !settings.keepDatabase) await dropDatabase(settings.adminUrl, databaseName);
    if (databaseCreated && settings.keepDatabase) console.log(`kept database ${databaseName}`);
    await rm(dataDir, { recursive: true, force: true });
  }
}
