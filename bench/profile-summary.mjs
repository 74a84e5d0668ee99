/**
 * Sums a .cpuprofile (bench/cpu-profiler.mjs) per function: self and inclusive shares of the busy samples
 * (idle and the profiler's own left out). `node bench/profile-summary.mjs /tmp/api-<pid>.cpuprofile [top]`.
 */
import { readFileSync } from 'node:fs';

const [file, top = '40'] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/profile-summary.mjs <file.cpuprofile> [top]');
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);

const IDLE = new Set(['(idle)', '(program)', '(root)']);
const label = (n) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url ? `${url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
};

const self = new Map();
const inclusive = new Map();
let busy = 0;
for (const [id, count] of counts) {
  const node = byId.get(id);
  if (IDLE.has(node.callFrame.functionName)) continue;
  busy += count;
  const name = label(node);
  self.set(name, (self.get(name) ?? 0) + count);
  // Each function once per sample, however often it recurses on the stack.
  const seen = new Set();
  for (let at = id; at !== undefined; at = parentOf.get(at)) {
    const frame = label(byId.get(at));
    if (seen.has(frame)) continue;
    seen.add(frame);
    inclusive.set(frame, (inclusive.get(frame) ?? 0) + count);
  }
}

const print = (title, table) => {
  console.log(`\n${title} (of ${busy} busy samples)`);
  for (const [name, count] of [...table].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    console.log(`${((100 * count) / busy).toFixed(1).padStart(6)}%  ${name}`);
  }
};
print('self', self);
print('inclusive', inclusive);
