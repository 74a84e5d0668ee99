import type pg from 'pg';
import { withIndexesDeferred } from './defer-indexes.ts';
import type { Vocabulary } from './words.ts';

export interface OrderOptions {
  count: number;
  /** Orders are spread evenly over this many days up to now, in id (time) order. */
  spanDays: number;
  /** How many bids the orders should add up to (`bid_count`, which `generateBids` then fills in). */
  bids: number;
  /** Rows per INSERT statement. */
  batchSize?: number;
  /** Called after each batch with the rows so far. */
  progress?: (done: number) => void;
}

type Mix = readonly (readonly [status: string, share: number])[];

/**
 * Status by age. Orders are open for bids for days, not years: the newest tenth is mostly published or
 * bidding, older ones mostly completed or cancelled, with a few left open and forgotten (which a feed
 * still shows). About 10% of all orders end up open.
 */
const RECENT_SHARE = 0.1;
const RECENT: Mix = [
  ['published', 0.35],
  ['bidding', 0.5],
  ['assigned', 0.05],
  ['in_progress', 0.04],
  ['completed', 0.03],
  ['cancelled', 0.03],
];
const OLDER: Mix = [
  ['completed', 0.78],
  ['cancelled', 0.18],
  ['draft', 0.015],
  ['published', 0.007],
  ['bidding', 0.008],
  ['disputed', 0.005],
  ['in_progress', 0.005],
];
/** Statuses whose orders never had a bid. */
const NO_BIDS = new Set(['draft', 'published']);

const caseOf = (mix: Mix, draw: string) => {
  let at = 0;
  const arms = mix.map(([status, share], i) => {
    at += share;
    return i === mix.length - 1 ? `else '${status}'` : `when ${draw} < ${at.toFixed(6)} then '${status}'`;
  });
  return `case ${arms.join(' ')} end`;
};

/**
 * Adds `count` orders from the clients already in the database (some clients order far more than
 * others), in subcategories and areas weighted the way `stageCatalog` says, with Russian and Kyrgyz titles
 * and descriptions from the subcategory's topic words, service dates, time windows, urgencies, budgets
 * within the catalog's default range, a status by age, the timestamps each status implies, and a
 * `bid_count` drawn so the counts add up to about `bids`. Then keeps the clients' order counters.
 * Addresses and locations stay null (they are encrypted with the API's key; see attach-client).
 *
 * Needs `stageCatalog` and `createUuid7Function` in this session.
 */
export async function generateOrders(
  client: pg.ClientBase,
  vocabulary: Vocabulary,
  { count, spanDays, bids, batchSize = 100_000, progress }: OrderOptions,
): Promise<void> {
  await client.query(
    `drop table if exists pg_temp.bench_client_pick;
     create temp table bench_client_pick as
     select (row_number() over (order by cp.id) - 1)::int as idx, cp.id as client_profile_id, up.user_id
     from client_profiles cp join user_profiles up on up.id = cp.user_profile_id
     join users u on u.id = up.user_id
     where not cp.is_deleted and not up.is_deleted and u.status = 'active';
     alter table bench_client_pick add primary key (idx);
     analyze bench_client_pick`,
  );
  const { rows: counted } = await client.query<{ clients: number }>(
    'select count(*)::int as clients from bench_client_pick',
  );
  const clients = counted[0]?.clients ?? 0;
  if (clients === 0) throw new Error('generateOrders needs clients: run generateClients first');

  // Bids per order that has any: 1 + floor(Exp(lambda)), whose mean is 1 + 1 / (e^(1/lambda) - 1).
  const withBids =
    RECENT_SHARE * RECENT.reduce((sum, [s, share]) => sum + (NO_BIDS.has(s) ? 0 : share), 0) +
    (1 - RECENT_SHARE) * OLDER.reduce((sum, [s, share]) => sum + (NO_BIDS.has(s) ? 0 : share), 0);
  const mean = Math.max(1.01, bids / (count * withBids));
  const lambda = 1 / Math.log(1 + 1 / (mean - 1));

  const insert = `
    insert into orders (id, created_at, updated_at, client_profile_id, client_user_id, subcategory_id,
      category_id, title, description, service_area_id, service_date, time_from, time_to, urgency,
      budget_min, budget_max, status, final_price, bid_count, published_at, assigned_at, started_at,
      work_done_at, completed_at, cancelled_at, cancel_reason)
    select pg_temp.uuid7_at(t), t,
           least(now(), greatest(t, published_at, assigned_at, started_at, completed_at, cancelled_at)),
           client_profile_id, user_id, sub_id, category_id, title, description, area_id,
           to_char((t at time zone 'Asia/Bishkek')::date + 1 + floor(random() * 14)::int, 'YYYY-MM-DD'),
           window_from, window_to,
           case when r_urgency < 0.2 then 'low' when r_urgency < 0.7 then 'medium'
                when r_urgency < 0.9 then 'high' else 'urgent' end,
           case when r_budget < 0.8 then budget end,
           case when r_budget < 0.6 or (r_budget >= 0.8 and r_budget < 0.9)
                then least(10000000, (budget * (1.2 + random() * 0.8))::int / 100 * 100) end,
           status,
           case when assigned_at is not null then (budget * (0.8 + random() * 0.5))::int / 100 * 100 end,
           case when status in ('draft', 'published') then 0
                else 1 + least(19, floor(-ln(1 - random()) * $6::float8))::int end,
           published_at, assigned_at, started_at,
           case when status = 'completed' then completed_at end, completed_at, cancelled_at,
           case when status = 'cancelled' then ($5::text[])[1 + floor(random() * cardinality($5::text[]))::int] end
    from (
      select s.*, t, status, client_profile_id, user_id, r_urgency, r_budget, window_from, window_to,
             (200 + floor(r_amount * r_amount * 20000)::int) * 100 as budget,
             case when status <> 'draft' then least(now(), pub) end as published_at,
             case when status in ('assigned', 'in_progress', 'completed', 'disputed') then least(now(), pub + d_assign) end as assigned_at,
             case when status in ('in_progress', 'completed', 'disputed') then least(now(), pub + d_assign + d_start) end as started_at,
             case when status = 'completed' then least(now(), pub + d_assign + d_start + d_work) end as completed_at,
             case when status = 'cancelled' then least(now(), pub + d_assign) end as cancelled_at,
             pg_temp.cap(t1) || ' ' || t2 || ', ' || c1 as title,
             pg_temp.cap(t3) || ' ' || c2 || '. ' || pg_temp.cap(t4) || ' и ' || t5 || ', ' || c3 || ' ' || c4 || '. ' || pg_temp.cap(c5)
               || ', ' || t6 || '.' as description,
             a.id as area_id, s.id as sub_id
      from (
        select g, t, c.client_profile_id, c.user_id, r_sub, r_area, r_urgency, r_budget, r_amount, w,
               t + make_interval(mins => 1 + floor(random() * 30)::int) as pub,
               make_interval(mins => 60 + floor(random() * 72 * 60)::int) as d_assign,
               make_interval(mins => 60 + floor(random() * 48 * 60)::int) as d_start,
               make_interval(mins => 30 + floor(random() * 24 * 60)::int) as d_work,
               case when g > $2::int * (1 - ${RECENT_SHARE}) then ${caseOf(RECENT, 'r_status')}
                    else ${caseOf(OLDER, 'r_status')} end as status,
               case when r_window < 0.5 then null when r_window < 0.7 then '09:00' when r_window < 0.85 then '14:00' else '18:00' end as window_from,
               case when r_window < 0.5 then null when r_window < 0.7 then '13:00' when r_window < 0.85 then '18:00' else '21:00' end as window_to
        from (
          select g, now() - make_interval(days => $3) + make_interval(secs => (g - 1 + random()) * $3 * 86400.0 / $2) as t,
                 random() as r_status, random() as r_sub, random() as r_area, random() as r_client,
                 random() as r_urgency, random() as r_budget, random() as r_amount, random() as r_window,
                 array[random(), random(), random(), random(), random(), random(), random(), random(),
                       random(), random(), random()] as w
          from generate_series($1::int, $7::int) g
        ) x
        join bench_client_pick c on c.idx = least(${clients - 1}, floor(${clients} * power(x.r_client, 1.2))::int)
      ) y
      join bench_subcats s on y.r_sub >= s.lo and y.r_sub < s.hi
      join bench_areas a on y.r_area >= a.lo and y.r_area < a.hi
      cross join lateral (
        -- Indexed by draws of the row itself: picks that drew random() here would be made once per
        -- subcategory, since this depends on nothing else of the row.
        select s.words[1 + floor(y.w[1] * s.nwords)::int] as t1, s.words[1 + floor(y.w[2] * s.nwords)::int] as t2,
               s.words[1 + floor(y.w[3] * s.nwords)::int] as t3, s.words[1 + floor(y.w[4] * s.nwords)::int] as t4,
               s.words[1 + floor(y.w[5] * s.nwords)::int] as t5, s.words[1 + floor(y.w[6] * s.nwords)::int] as t6,
               ($4::text[])[1 + floor(y.w[7] * cardinality($4::text[]))::int] as c1,
               ($4::text[])[1 + floor(y.w[8] * cardinality($4::text[]))::int] as c2,
               ($4::text[])[1 + floor(y.w[9] * cardinality($4::text[]))::int] as c3,
               ($4::text[])[1 + floor(y.w[10] * cardinality($4::text[]))::int] as c4,
               ($4::text[])[1 + floor(y.w[11] * cardinality($4::text[]))::int] as c5
      ) w
    ) z`;

  await client.query(
    `create or replace function pg_temp.cap(word text) returns text language sql immutable
     as $$ select upper(left(word, 1)) || substr(word, 2) $$`,
  );
  await withIndexesDeferred(client, ['orders'], async () => {
    for (let from = 1; from <= count; from += batchSize) {
      const to = Math.min(count, from + batchSize - 1);
      await client.query(insert, [
        from,
        count,
        spanDays,
        vocabulary.common,
        vocabulary.cancelReasons,
        lambda,
        to,
      ]);
      progress?.(to);
    }
  });

  await client.query(
    `update client_profiles cp
     set orders_total = x.total, orders_completed = x.completed, orders_cancelled = x.cancelled
     from (
       select client_profile_id, count(*)::int as total,
              count(*) filter (where status = 'completed')::int as completed,
              count(*) filter (where status = 'cancelled')::int as cancelled
       from orders where not is_deleted group by client_profile_id
     ) x
     where x.client_profile_id = cp.id`,
  );
  // The orders' vocabulary, as the order service keeps it (platform/search): every word a title or
  // description can hold, from the words they are made of rather than by reading a million texts.
  await client.query(
    `insert into search_words (scope, word)
     select distinct 'orders', w
     from (select array_to_string(words, ' ') from bench_subcats
           union all select array_to_string($1::text[], ' ')
           union all select 'и') source (text)
     cross join unnest(tsvector_to_array(to_tsvector('simple', source.text))) w
     on conflict do nothing`,
    [vocabulary.common],
  );
}
