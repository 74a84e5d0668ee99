/**
 * What compressing an answer costs and saves, by size: the CPU of one br (quality 4, as @fastify/compress is
 * set up) and one gzip (zlib's default) compression of a JSON answer, and the bytes it saves, for answers of
 * 256 bytes to 64 KiB built from the API's own order feed shape. The threshold in src/platform/http-cache.ts
 * is read against these figures: below it, what is saved fits in the TCP segment the headers take anyway.
 *
 *   tsx bench/compression-cost.ts
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const order = (n: number) => ({
  id: `0193b1c2-7f00-7000-8000-${String(n).padStart(12, '0')}`,
  title: `Покрасить забор на даче ${n}`,
  status: 'published',
  budget_min: { amount: 150_000 + n, currency: 'KGS' },
  budget_max: { amount: 250_000 + n, currency: 'KGS' },
  service_area: { id: `0193b1c2-7f00-7000-8000-${String(n % 7).padStart(12, '0')}`, name: 'Бишкек' },
  created_at: new Date(1_765_000_000_000 + n * 60_000).toISOString(),
  bid_count: n % 9,
});

function answerOf(bytes: number): Buffer {
  const data = [];
  let body = '';
  for (let n = 0; ; n++) {
    data.push(order(n));
    const next = JSON.stringify({ data, next_cursor: null });
    if (Buffer.byteLength(next) > bytes && n > 0) break;
    body = next;
  }
  return Buffer.from(body.length > 0 ? body : JSON.stringify({ data: [order(0)] }));
}

function microseconds(work: () => void): number {
  for (let i = 0; i < 200; i++) work();
  const runs = 2_000;
  const start = process.cpuUsage();
  for (let i = 0; i < runs; i++) work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / runs;
}

const br = (body: Buffer) => brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } });
// The first compressions of a process pay for zlib's and the JIT's start: not the steady cost.
microseconds(() => br(answerOf(4096)));
microseconds(() => gzipSync(answerOf(4096)));
console.log('bytes   br µs  br bytes  gzip µs  gzip bytes');
for (const size of [512, 1024, 2048, 4096, 16_384, 65_536]) {
  const body = answerOf(size);
  const row = [
    String(body.length).padStart(5),
    microseconds(() => br(body))
      .toFixed(1)
      .padStart(7),
    String(br(body).length).padStart(9),
    microseconds(() => gzipSync(body))
      .toFixed(1)
      .padStart(8),
    String(gzipSync(body).length).padStart(11),
  ];
  console.log(row.join(' '));
}
