/**
 * A CPU profile of the API under load: `BENCH_API_NODE_OPTIONS=--import=./bench/cpu-profiler.mjs`. Starts
 * V8's profiler PROFILE_START_MS after the process starts (past migrations and start-up; 0 by default) and
 * writes the profile to PROFILE_OUT (default /tmp/api-<pid>.cpuprofile) on SIGTERM, ahead of the app's own
 * handler. `--cpu-prof` would write only on a normal exit, which the bench's stop does not wait for. Open the
 * file in Chrome DevTools (Performance) or any .cpuprofile viewer.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
const post = (method, params = {}) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  );

await post('Profiler.enable');
await post('Profiler.setSamplingInterval', { interval: 200 });
setTimeout(() => post('Profiler.start'), Number(process.env.PROFILE_START_MS ?? 0)).unref();
process.prependOnceListener('SIGTERM', () => {
  session.post('Profiler.stop', (error, result) => {
    if (!error)
      writeFileSync(
        process.env.PROFILE_OUT ?? `/tmp/api-${process.pid}.cpuprofile`,
        JSON.stringify(result.profile),
      );
  });
});
