/**
 * Start-up time on the embedded database: from spawning the start command to `/health/ready` answering 200,
 * on a fresh DATA_DIR (cold: the database is made, migrated and seeded) and then again on the same one
 * (warm: nothing changed). The command is `npm start` unless given after `--`. Besides the wall time, the CPU
 * seconds the command's processes used until then: on a loaded machine the wall time is mostly waiting, and
 * the CPU time is what the start itself costs.
 *
 *   tsx bench/startup.ts [--runs=5] [-- node dist/main.js serve]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from './processes.ts';

const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '5' } },
  allowPositionals: true,
});
const runs = Number(values.runs);
const [program = 'npm', ...args] = positionals.length > 0 ? positionals : ['npm', 'start'];

/** Its own process group, so that stopping it reaches whatever it started, whatever relays signals or not. */
function start(dataDir: string, port: number): ChildProcess {
  return spawn(program, args, {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), NODE_ENV: 'development' },
  });
}

async function stop(child: ChildProcess) {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-(child.pid as number), 'SIGTERM');
  await exited;
  // The group may outlive its leader (a wrapper that does not pass the signal on): wait for all of it.
  while (groupAlive(child.pid as number)) await new Promise((r) => setTimeout(r, 50));
}

function groupAlive(pgid: number) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls often: the figure is the time to the first 200, within 20 ms. */
async function untilReady(url: string, child: ChildProcess) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`the server exited with ${child.exitCode} before it was ready`);
    const status = await fetch(url).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${url} was not ready within 120 s`);
}

/** User and system CPU seconds of the live processes of a group, from Linux's /proc. */
function groupCpuSeconds(pgid: number): number {
  let seconds = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After the parenthesised command name: state [0], ppid [1], pgrp [2], ... utime [11], stime [12].
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) seconds += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // The process ended meanwhile.
    }
  }
  return seconds;
}

async function timeToReady(dataDir: string): Promise<{ ms: number; cpu: number }> {
  const port = await freePort();
  const began = performance.now();
  const child = start(dataDir, port);
  try {
    await untilReady(`http://127.0.0.1:${port}/health/ready`, child);
    return { ms: performance.now() - began, cpu: groupCpuSeconds(child.pid as number) };
  } finally {
    await stop(child);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const seconds = (ms: number) => (ms / 1000).toFixed(2);

const cold: { ms: number; cpu: number }[] = [];
const warm: { ms: number; cpu: number }[] = [];
const loads: string[] = [];
const show = (r: { ms: number; cpu: number }) => `${seconds(r.ms)} s (${r.cpu.toFixed(2)} CPU s)`;
for (let i = 0; i < runs; i++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'kg-startup-bench-'));
  try {
    loads.push(loadavg()[0]!.toFixed(2));
    cold.push(await timeToReady(dataDir));
    warm.push(await timeToReady(dataDir));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`run ${i + 1}: cold ${show(cold[i]!)}, warm ${show(warm[i]!)} (load ${loads[i]})`);
}
const medians = (rs: { ms: number; cpu: number }[]) =>
  show({ ms: median(rs.map((r) => r.ms)), cpu: median(rs.map((r) => r.cpu)) });
console.log(
  `${[program, ...args].join(' ')}: cold median ${medians(cold)}, warm median ${medians(warm)}` +
    ` over ${runs} runs; 1-minute load averages ${loads.join(', ')}`,
);
