import pg from 'pg';
import { generateBids } from './bids.ts';
import { generateClients } from './clients.ts';
import { generateOrders } from './orders.ts';
import { generateProviders } from './providers.ts';
import { stageCatalog } from './stage-catalog.ts';
import { createUuid7Function } from './uuid7.ts';
import { VOCABULARY } from './words.ts';

export interface MarketplaceSize {
  providers: number;
  servicesPerProvider: number;
  clients: number;
  /** 0 leaves out orders and bids (the directory needs only providers). */
  orders: number;
  bids: number;
}

/** Issue #3's directory and issue #4's orders, bids and feed. */
export const FULL_MARKETPLACE: MarketplaceSize = {
  providers: 10_000,
  servicesPerProvider: 5,
  clients: 20_000,
  orders: 1_000_000,
  bids: 3_000_000,
};

const SPAN_DAYS = 730;

/**
 * Fills a migrated database with generated marketplace data in dependency order (providers, clients,
 * orders, bids), then vacuums and analyzes it. One connection, asynchronous commit, and row triggers off
 * (`session_replication_role = replica`, which needs a superuser: the foreign keys are not checked row by
 * row; the generators only ever point at rows they made or read). Logs each step with its time.
 */
export async function buildMarketplace(
  databaseUrl: string,
  size: MarketplaceSize,
  log: (line: string) => void = console.log,
): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const started = performance.now();
  const step = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    const at = performance.now();
    const result = await work();
    log(`  ${label}: ${((performance.now() - at) / 1000).toFixed(1)} s`);
    return result;
  };
  try {
    await client.query(`set synchronous_commit = off; set session_replication_role = replica`);
    await createUuid7Function(client);
    await stageCatalog(client, VOCABULARY);
    await step(`${size.providers} providers, ${size.providers * size.servicesPerProvider} services`, () =>
      generateProviders(client, VOCABULARY, {
        count: size.providers,
        servicesPerProvider: size.servicesPerProvider,
        spanDays: SPAN_DAYS,
      }),
    );
    await step(`${size.clients} clients`, () =>
      generateClients(client, VOCABULARY, { count: size.clients, spanDays: SPAN_DAYS }),
    );
    if (size.orders > 0) {
      await step(`${size.orders} orders`, () =>
        generateOrders(client, VOCABULARY, { count: size.orders, spanDays: SPAN_DAYS, bids: size.bids }),
      );
      const made = await step('bids', () => generateBids(client, VOCABULARY));
      log(`  (${made} bids)`);
    }
    // Every provider row is written twice (then its search text and offered subcategories), and the bench
    // server runs without autovacuum, which on a live server would soon remove the dead versions, empty
    // the GIN indexes' pending lists that every directory search would otherwise scan, and mark the pages
    // all-visible, so that index-only scans (the directory's walks, the lowest price, the feed's bid check)
    // need not visit the rows. A page is marked only once the commits of its rows are flushed, and these
    // were asynchronous: analyze goes first, and its synchronous commit flushes them all (without it, most
    // provider pages stayed unmarked: text search served 1,501 req/s on such a database, 1,753 once it was
    // vacuumed).
    await client.query('set synchronous_commit = on');
    await step('analyze', () => client.query('analyze'));
    await step('vacuum', () => client.query('vacuum'));
    log(`  data generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await client.end();
  }
}
