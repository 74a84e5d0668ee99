/**
 * The ceiling for the data scenarios: plain Fastify, no plugins or hooks. A `replay` route answers with the
 * status, headers and body the real API gave; an `order-by-id` route reads the order named in its path by
 * primary key through `pg` (a pool as large as the API's) and returns the row, which is the least any
 * order detail can do.
 *
 * Forked by data-runner.ts with an IPC channel: the routes arrive as the first message, the port goes back.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type HTTPMethods } from 'fastify';
import pg from 'pg';

/** Idle connections kept as long as the API keeps its own (POOL_IDLE_TIMEOUT_MS in src/platform/db.ts). */
const IDLE_TIMEOUT_MS = 10 * 60_000;

export type BareDataRoute =
  | {
      kind: 'replay';
      method: HTTPMethods;
      /** A Fastify route pattern (`/api/v1/orders/:id/bids`): every request of the scenario lands on it. */
      url: string;
      status: number;
      headers: Record<string, string>;
      body: string;
      serializePerRequest: boolean;
    }
  | { kind: 'order-by-id'; method: 'GET'; url: string };

export interface BareDataSetup {
  databaseUrl: string;
  poolSize: number;
  routes: BareDataRoute[];
}

process.once('disconnect', () => process.exit(0));

process.once('message', async ({ databaseUrl, poolSize, routes }: BareDataSetup) => {
  const app = Fastify({ logger: false });
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
  });
  pool.on('error', () => {});
  for (const route of routes) {
    if (route.kind === 'order-by-id') {
      app.get<{ Params: { id: string } }>(route.url, async (request, reply) => {
        const { rows } = await pool.query('select * from orders where id = $1', [request.params.id]);
        return rows[0] ?? reply.code(404).send({ code: 'not_found' });
      });
      continue;
    }
    const payload: unknown = route.serializePerRequest ? JSON.parse(route.body) : route.body;
    app.route({
      method: route.method,
      url: route.url,
      handler: async (_request, reply) => reply.code(route.status).headers(route.headers).send(payload),
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send?.({ port: (app.server.address() as AddressInfo).port });
});
