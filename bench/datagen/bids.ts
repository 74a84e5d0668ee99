import type pg from 'pg';
import { withIndexesDeferred } from './defer-indexes.ts';
import type { Vocabulary } from './words.ts';

/** The smallest UUIDv7 of a millisecond: a bound for id ranges, which are time ranges. */
const uuidFloor = (ms: number) => {
  const hex = Math.floor(ms).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
};

/**
 * Fills in the bids every order's `bid_count` promises, from providers who offer the order's subcategory
 * (never two live bids of one provider on one order): pending on orders still bidding, the first one
 * accepted and the rest rejected on orders that went ahead, all rejected on cancelled ones. Amounts follow
 * the order's budget; times follow its publication. Returns how many bids it made.
 *
 * Needs `createUuid7Function` in this session, and providers with services (`generateProviders`).
 */
export async function generateBids(
  client: pg.ClientBase,
  vocabulary: Vocabulary,
  { batches = 10, progress }: { batches?: number; progress?: (done: number) => void } = {},
): Promise<number> {
  await client.query(
    `drop table if exists pg_temp.bench_offer;
     create temp table bench_offer as
     select ps.subcategory_id,
            (row_number() over (partition by ps.subcategory_id order by p.id) - 1)::int as rn,
            p.id as provider_profile_id, up.user_id
     from provider_services ps
     join provider_profiles p on p.id = ps.provider_profile_id
     join user_profiles up on up.id = p.user_profile_id
     where not ps.is_deleted and ps.is_active and not p.is_deleted;
     alter table bench_offer add primary key (subcategory_id, rn);
     drop table if exists pg_temp.bench_offer_count;
     create temp table bench_offer_count as
     select subcategory_id, count(*)::int as cnt from bench_offer group by subcategory_id;
     analyze bench_offer; analyze bench_offer_count;
     -- An order cannot have more bids than there are providers to make them (one each): at small scales
     -- a subcategory may have fewer providers than the bid counts the orders were given.
     update orders o set bid_count = coalesce(c.cnt, 0)
     from orders x left join bench_offer_count c on c.subcategory_id = x.subcategory_id
     where o.id = x.id and x.bid_count > coalesce(c.cnt, 0)`,
  );
  const {
    rows: [range],
  } = await client.query<{ lo: string | null; hi: string | null }>(
    `select (extract(epoch from min(created_at)) * 1000)::bigint::text as lo,
            (extract(epoch from max(created_at)) * 1000)::bigint::text as hi
     from orders where bid_count > 0`,
  );
  if (!range?.lo || !range.hi) return 0;
  const lo = Number(range.lo);
  const hi = Number(range.hi) + 1;

  const insert = `
    insert into bids (id, created_at, updated_at, order_id, provider_profile_id, provider_user_id, amount,
      message, estimated_duration_hours, is_negotiable, status, decided_at)
    select pg_temp.uuid7_at(at), at, coalesce(decided_at, at), order_id, provider_profile_id, user_id,
           amount, message, hours, negotiable, status, decided_at
    from (
      select o.id as order_id, p.provider_profile_id, p.user_id,
             o.published_at + make_interval(secs => k * 180 + floor(random() * 180)::int) as at,
             greatest(20000, least(10000000,
               (coalesce(o.budget_max, o.budget_min, 100000) * (0.7 + random() * 0.5))::int / 100 * 100)) as amount,
             case when random() < 0.8 then ($1::text[])[1 + floor(random() * cardinality($1::text[]))::int] end as message,
             case when random() < 0.6 then 1 + floor(random() * 48)::int end as hours,
             random() < 0.3 as negotiable,
             case when o.status = 'bidding' then 'pending'
                  when o.status in ('assigned', 'in_progress', 'completed', 'disputed') and k = 1 then 'accepted'
                  else 'rejected' end as status,
             case when o.status = 'bidding' then null else coalesce(o.assigned_at, o.cancelled_at) end as decided_at
      from orders o
      cross join lateral generate_series(1, o.bid_count) k
      join bench_offer_count c on c.subcategory_id = o.subcategory_id
      join bench_offer p on p.subcategory_id = o.subcategory_id
                        and p.rn = (abs(hashtext(o.id::text)) + k) % c.cnt
      where o.id >= $2::uuid and o.id < $3::uuid and o.bid_count > 0 and o.published_at is not null
    ) b`;

  let made = 0;
  await withIndexesDeferred(client, ['bids'], async () => {
    for (let i = 0; i < batches; i++) {
      const from = lo + Math.floor(((hi - lo) * i) / batches);
      const to = i === batches - 1 ? hi : lo + Math.floor(((hi - lo) * (i + 1)) / batches);
      const result = await client.query(insert, [vocabulary.bidMessages, uuidFloor(from), uuidFloor(to)]);
      made += result.rowCount ?? 0;
      progress?.(made);
    }
  });
  return made;
}
