/**
 * The scenarios that need generated data (issues #3 and #4): the provider directory over 10,000 providers,
 * and over 1,000,000 orders with 3,000,000 bids the provider feed, order detail and bid creation. Each
 * names the data it needs and prepares its own accounts once the data is in and the API is up; requests
 * then vary per call (order ids, tokens), which a single fixed path cannot express.
 */
import type { HTTPMethods } from 'fastify';
import type pg from 'pg';
import { type Account, registerAccounts } from './datagen/accounts.ts';
import { attachClientOrders } from './datagen/attach-client-orders.ts';
import { attachProviders } from './datagen/attach-providers.ts';

/** What a scenario needs in the database: providers alone, or the whole marketplace with orders and bids. */
export type Dataset = 'providers' | 'orders';

export interface RequestShape {
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface PreparedLoad {
  /**
   * The request for call number `n` (0, 1, 2, ... over the whole scenario, warm-up included, each server
   * counted on its own). The ceiling server gets the same sequence.
   */
  request(n: number): RequestShape;
  /** The most requests the scenario can make before it would repeat one that must not repeat. */
  capacity?: number;
}

export interface DataContext {
  apiUrl: string;
  /** An admin connection to the benchmark database, for catalog look-ups and attaching generated data. */
  db: pg.ClientBase;
  /** Seconds of load the real API will see for one scenario, warm-up included. */
  loadSeconds: number;
  log: (line: string) => void;
}

/**
 * How the ceiling answers: `replay` sends back the real API's first answer (status, headers, body);
 * `order-by-id` reads the order named in the path by primary key through `pg` and returns the row.
 */
export type Ceiling = 'replay' | 'order-by-id';

export interface DataScenario {
  name: string;
  method: HTTPMethods;
  dataset: Dataset;
  /** The route, for the table; the actual paths come from the prepared load. */
  route: string;
  ceiling: Ceiling;
  /** Whether the real route serializes per request (see scenarios.ts); the replaying ceiling mirrors it. */
  serializePerRequest: boolean;
  prepare(context: DataContext): Promise<PreparedLoad>;
  minRatio?: number;
  maxP99Ms?: number;
  minRps?: number;
}

interface CatalogIds {
  category: (slug: string) => string;
  subcategory: (slug: string) => string;
  area: (slug: string) => string;
}

async function catalogIds(db: pg.ClientBase): Promise<CatalogIds> {
  const { rows } = await db.query<{ kind: string; slug: string; id: string }>(
    `select 'category' as kind, slug, id from service_categories
     union all select 'subcategory', slug, id from service_subcategories
     union all select 'area', slug, id from service_areas`,
  );
  const find = (kind: string) => (slug: string) => {
    const row = rows.find((r) => r.kind === kind && r.slug === slug);
    if (!row) throw new Error(`no ${kind} ${slug} in the seeded catalog`);
    return row.id;
  };
  return { category: find('category'), subcategory: find('subcategory'), area: find('area') };
}

const json = { 'content-type': 'application/json' };

/** What people look for: a word (Russian or Kyrgyz), the category it belongs to, and a city or district. */
const DIRECTORY_SEARCHES = [
  { q: 'уборка', category: 'cleaning', area: 'bishkek' },
  { q: 'сантехник', category: 'repair', area: 'bishkek' },
  { q: 'тазалоо', category: 'cleaning', area: 'osh' },
  { q: 'маникюр', category: 'beauty', area: 'bishkek-center' },
  { q: 'электрик', category: 'repair', area: 'osh' },
  { q: 'репетитор', category: 'education', area: 'bishkek' },
  { q: 'оңдоо', category: 'repair', area: 'bishkek-east' },
  { q: 'доставка', category: 'delivery', area: 'bishkek' },
];

/** The feed provider and the bidders offer the busiest subcategories; the feed provider works in Bishkek. */
const BUSY_SUBCATEGORIES = [
  'general-cleaning',
  'daily-cleaning',
  'post-renovation-cleaning',
  'plumbing',
  'electrical',
];

/** Greatest common divisor, for walking every (provider, order) pair once. */
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Bids one user may make a minute (bid-routes.ts; not configurable, so the bench spreads over users). */
const BIDS_PER_USER_PER_MINUTE = 30;
const BID_TARGET_RPS = 1500;

export const dataScenarios: DataScenario[] = [
  {
    name: 'directory search (q + filters)',
    method: 'GET',
    dataset: 'providers',
    route: '/api/v1/providers?q&category_id&area_id&sort=relevance',
    ceiling: 'replay',
    serializePerRequest: true,
    maxP99Ms: 50,
    async prepare({ db }) {
      const ids = await catalogIds(db);
      const paths = DIRECTORY_SEARCHES.map(
        (s) =>
          `/api/v1/providers?${new URLSearchParams({
            q: s.q,
            category_id: ids.category(s.category),
            area_id: ids.area(s.area),
            sort: 'relevance',
          })}`,
      );
      return { request: (n) => ({ path: paths[n % paths.length]!, headers: {} }) };
    },
  },
  {
    name: 'directory filters only',
    method: 'GET',
    dataset: 'providers',
    route: '/api/v1/providers?category_id&area_id',
    ceiling: 'replay',
    serializePerRequest: true,
    maxP99Ms: 50,
    async prepare({ db }) {
      const ids = await catalogIds(db);
      const paths = DIRECTORY_SEARCHES.map(
        (s) =>
          `/api/v1/providers?${new URLSearchParams({ category_id: ids.category(s.category), area_id: ids.area(s.area) })}`,
      );
      return { request: (n) => ({ path: paths[n % paths.length]!, headers: {} }) };
    },
  },
  {
    name: 'orders feed (provider)',
    method: 'GET',
    dataset: 'orders',
    route: '/api/v1/orders/feed',
    ceiling: 'replay',
    serializePerRequest: true,
    maxP99Ms: 50,
    async prepare({ apiUrl, db }) {
      const ids = await catalogIds(db);
      const [provider] = await registerAccounts(apiUrl, { count: 1, label: 'feed' });
      await attachProviders(db, [provider!.userId], {
        subcategoryIds: BUSY_SUBCATEGORIES.map(ids.subcategory),
        areaIds: [ids.area('bishkek')],
      });
      return {
        request: () => ({ path: '/api/v1/orders/feed', headers: { authorization: provider!.authorization } }),
      };
    },
  },
  {
    name: 'order detail (client)',
    method: 'GET',
    dataset: 'orders',
    route: '/api/v1/orders/{id}',
    ceiling: 'order-by-id',
    serializePerRequest: true,
    minRatio: 0.5,
    async prepare({ apiUrl, db }) {
      const ids = await catalogIds(db);
      const [owner] = await registerAccounts(apiUrl, { count: 1, label: 'client' });
      // One order through the API: it makes the client profile and gives real address ciphertext.
      const created = await fetch(new URL('/api/v1/orders', apiUrl), {
        method: 'POST',
        headers: { ...json, authorization: owner!.authorization },
        body: JSON.stringify({
          subcategory_id: ids.subcategory('plumbing'),
          title: 'Течёт кран на кухне',
          description: 'Нужно заменить смеситель, свой есть. Ашкананын кранын алмаштыруу керек.',
          service_area_id: ids.area('bishkek-center'),
          address: 'ул. Киевская 95, кв. 12',
          location: { lat: 42.8746, lng: 74.6122 },
          budget_min: 100_000,
          budget_max: 300_000,
          publish: true,
        }),
      });
      const order = (await created.json()) as { id?: string };
      if (created.status !== 201 || !order.id)
        throw new Error(`POST /api/v1/orders answered ${created.status}: ${JSON.stringify(order)}`);
      const orderIds = await attachClientOrders(db, owner!.userId, { count: 1000, sourceOrderId: order.id });
      const headers = { authorization: owner!.authorization };
      return { request: (n) => ({ path: `/api/v1/orders/${orderIds[n % orderIds.length]}`, headers }) };
    },
  },
  {
    name: 'bid create',
    method: 'POST',
    dataset: 'orders',
    route: '/api/v1/orders/{id}/bids',
    ceiling: 'replay',
    serializePerRequest: true,
    minRps: BID_TARGET_RPS,
    async prepare({ apiUrl, db, loadSeconds, log }) {
      const ids = await catalogIds(db);
      const subcategoryIds = BUSY_SUBCATEGORIES.map(ids.subcategory);
      // Enough bidders that the target rate for the whole run stays under each one's limit, with room.
      const wanted =
        Number(process.env.BENCH_BID_ACCOUNTS) ||
        Math.max(100, Math.ceil((BID_TARGET_RPS * 1.5 * loadSeconds) / BIDS_PER_USER_PER_MINUTE));
      const started = performance.now();
      const bidders: Account[] = await registerAccounts(apiUrl, { count: wanted, label: 'bidder' });
      log(`  ${wanted} bidders registered in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      await attachProviders(
        db,
        bidders.map((b) => b.userId),
        { subcategoryIds, areaIds: [ids.area('bishkek')] },
      );
      const { rows } = await db.query<{ id: string }>(
        `select id from orders
         where status in ('published', 'bidding') and not is_deleted and subcategory_id = any($1::uuid[])
         order by id desc`,
        [subcategoryIds],
      );
      // Call n bids with bidder n mod B on order n mod N; with B and N coprime, no pair repeats before
      // B * N calls, and each bidder bids once every B calls.
      let orders = rows.map((r) => r.id);
      while (orders.length > 1 && gcd(orders.length, bidders.length) !== 1) orders = orders.slice(0, -1);
      log(`  ${bidders.length} bidders x ${orders.length} open orders`);
      const body = (n: number) =>
        JSON.stringify({
          amount: 150_000 + (n % 50) * 1_000,
          message: 'Могу приступить завтра / Эртең баштай алам',
          estimated_duration_hours: 1 + (n % 8),
        });
      return {
        capacity: Math.min(bidders.length * orders.length, bidders.length * BIDS_PER_USER_PER_MINUTE),
        request: (n) => ({
          path: `/api/v1/orders/${orders[n % orders.length]}/bids`,
          headers: { ...json, authorization: bidders[n % bidders.length]!.authorization },
          body: body(n),
        }),
      };
    },
  },
  {
    name: 'chat send',
    method: 'POST',
    dataset: 'providers',
    route: '/api/v1/chats/{id}/messages',
    ceiling: 'replay',
    serializePerRequest: true,
    async prepare(context) {
      const { rooms } = await chatRooms(context);
      return {
        // Each call a new client_message_id: a send, never a retry answered from the first.
        request: (n) => {
          const room = rooms[n % rooms.length] as ChatRoom;
          return {
            path: `/api/v1/chats/${room.id}/messages`,
            headers: { ...json, authorization: room.authorization },
            body: JSON.stringify({
              client_message_id: `bench-message-${n}`,
              content: `Сообщение ${n}: когда сможете приехать? / Качан келе аласыз?`,
            }),
          };
        },
      };
    },
  },
  {
    name: 'chat newest page',
    method: 'GET',
    dataset: 'providers',
    route: '/api/v1/chats/{id}/messages',
    ceiling: 'replay',
    serializePerRequest: true,
    async prepare(context) {
      const { rooms } = await chatRooms(context);
      return {
        request: (n) => {
          const room = rooms[n % rooms.length] as ChatRoom;
          return {
            path: `/api/v1/chats/${room.id}/messages?limit=20`,
            headers: { authorization: room.authorization },
          };
        },
      };
    },
  },
];

/** Support chats the chat scenarios send in and read, each its own person's, spread so no one room's lock is the test. */
const CHAT_ROOMS = 20;
/** Messages each room holds before the load: more than the page the read scenario asks for. */
const CHAT_HISTORY = 30;

interface ChatRoom {
  id: string;
  authorization: string;
}

/**
 * Support chats with their history, made through the API. The per-user limit on sends is raised first
 * (`chat_messages_per_minute`, read by the API on its first send), so the load measures sending, not the
 * limit.
 */
async function chatRooms({ apiUrl, db, log }: DataContext): Promise<{ rooms: ChatRoom[] }> {
  await db.query(
    `update system_settings set value = '1000000000'::jsonb where key = 'chat_messages_per_minute'`,
  );
  const people = await registerAccounts(apiUrl, { count: CHAT_ROOMS, label: 'chatter' });
  const rooms: ChatRoom[] = [];
  for (const person of people) {
    const opened = await fetch(new URL('/api/v1/me/support-chats', apiUrl), {
      method: 'POST',
      headers: { ...json, authorization: person.authorization },
      body: JSON.stringify({ title: 'Вопрос по заказу' }),
    });
    const room = (await opened.json()) as { id?: string };
    if (!room.id) throw new Error(`POST /api/v1/me/support-chats answered ${opened.status}`);
    rooms.push({ id: room.id, authorization: person.authorization });
    for (let i = 0; i < CHAT_HISTORY; i++) {
      const sent = await fetch(new URL(`/api/v1/chats/${room.id}/messages`, apiUrl), {
        method: 'POST',
        headers: { ...json, authorization: person.authorization },
        body: JSON.stringify({ client_message_id: `history-${i}`, content: `История ${i}` }),
      });
      if (sent.status !== 201) throw new Error(`a history message answered ${sent.status}`);
    }
  }
  log(`  ${rooms.length} support chats with ${CHAT_HISTORY} messages each`);
  return { rooms };
}
