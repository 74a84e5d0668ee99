import type pg from 'pg';
import type { Vocabulary } from './words.ts';

export interface ProviderOptions {
  /** Providers to add (each a user, a user profile and a provider profile). */
  count: number;
  /** Services per provider, each in a different subcategory. */
  servicesPerProvider: number;
  /** Accounts are created over this many days up to now. */
  spanDays: number;
}

/**
 * Adds `count` providers the way the app would have them: a user (roles client and provider, mostly
 * active), a user profile, a provider profile with a business name, a description, 1–3 service areas
 * (Bishkek and Osh most often), weekly availability, ratings and the search text the app keeps
 * (business name, description, service descriptions and the subcategory and category names in every
 * language, lowercased) with its words in the directory's vocabulary, the subcategories of the active services, and `servicesPerProvider` services in neighbouring subcategories (a cleaner
 * offers the cleaning ones first) with prices in the catalog's default range.
 *
 * Needs `stageCatalog` and `createUuid7Function` in this session. Users carry no email, phone or password:
 * they are found and shown, never signed in as.
 */
export async function generateProviders(
  client: pg.ClientBase,
  vocabulary: Vocabulary,
  { count, servicesPerProvider, spanDays }: ProviderOptions,
): Promise<void> {
  await client.query(
    `drop table if exists pg_temp.bench_new_providers;
     create temp table bench_new_providers (
       g int primary key, user_id uuid not null, user_profile_id uuid not null, id uuid not null,
       created_at timestamptz not null, s0 int not null, a0 int not null, n_areas int not null,
       verified boolean not null)`,
  );
  await client.query(
    `insert into bench_new_providers
     select g, pg_temp.uuid7_at(t), pg_temp.uuid7_at(t + interval '1 millisecond'),
            pg_temp.uuid7_at(t + interval '2 milliseconds'), t, s.idx, a.idx,
            1 + floor(random() * 3)::int, random() < 0.25
     from (
       select g, now() - make_interval(days => $2) + make_interval(secs => (g - 1 + random()) * $2 * 86400.0 / $1) as t,
              random() as rs, random() as ra
       from generate_series(1, $1::int) g
     ) x
     join bench_subcats s on x.rs >= s.lo and x.rs < s.hi
     join bench_areas a on x.ra >= a.lo and x.ra < a.hi`,
    [count, spanDays],
  );

  await client.query(
    `insert into users (id, created_at, updated_at, full_name, roles, status)
     select user_id, created_at, created_at,
            ($1::text[])[1 + floor(random() * cardinality($1::text[]))::int] || ' ' ||
              ($2::text[])[1 + floor(random() * cardinality($2::text[]))::int],
            '{client,provider}',
            case when random() < 0.98 then 'active' when random() < 0.5 then 'blocked' else 'deactivated' end
     from bench_new_providers`,
    [vocabulary.firstNames, vocabulary.lastNames],
  );
  await client.query(
    `insert into user_profiles (id, created_at, updated_at, user_id, user_type, preferred_language,
                                verification_status)
     select user_profile_id, created_at, created_at, user_id, 'service_provider',
            case when random() < 0.7 then 'ru' else 'ky' end,
            case when verified then 'verified' else 'unverified' end
     from bench_new_providers`,
  );
  await client.query(
    `insert into provider_profiles (id, created_at, updated_at, user_profile_id, business_name,
       experience_years, description, service_area_ids, travel_radius_km, availability, available_weekdays,
       is_available, is_verified, rating_sum, review_count, rating_avg_x100, orders_completed)
     select p.id, p.created_at, p.created_at, p.user_profile_id, x.business_name, floor(random() * 25)::int,
            x.description, x.areas, case when random() < 0.6 then 5 + floor(random() * 30)::int end,
            x.availability, x.weekdays, random() < 0.95, p.verified,
            x.reviews * x.avg_x100 / 100, x.reviews, case when x.reviews = 0 then 0 else x.avg_x100 end,
            x.reviews + floor(random() * (x.reviews + 1))::int
     from bench_new_providers p
     cross join lateral (
       select
         case when random() < 0.3
           then 'ИП ' || ($3::text[])[1 + floor(random() * cardinality($3::text[]))::int]
           else ($1::text[])[1 + floor(random() * cardinality($1::text[]))::int] || ' ' ||
                ($2::text[])[1 + floor(random() * cardinality($2::text[]))::int]
         end as business_name,
         (select s.words[1 + floor(random() * s.nwords)::int] || ', ' || s.words[1 + floor(random() * s.nwords)::int]
                 || '. ' || ($4::text[])[1 + floor(random() * cardinality($4::text[]))::int] || ' '
                 || ($4::text[])[1 + floor(random() * cardinality($4::text[]))::int] || ', '
                 || floor(2 + random() * 20)::int || ' лет опыта / жыл тажрыйба'
          from bench_subcats s where s.idx = p.s0) as description,
         array(select a.id from bench_areas a
               where a.idx in (select (p.a0 + k) % (select count(*) from bench_areas)
                               from generate_series(0, p.n_areas - 1) k)
               order by a.idx) as areas,
         w.availability, w.weekdays,
         case when random() < 0.3 then 0 else floor(1 + random() * random() * 200)::int end as reviews,
         (350 + floor(random() * 151))::int as avg_x100
       from (
         select * from (values
           ('{"mon":[{"from":"09:00","to":"18:00"}],"tue":[{"from":"09:00","to":"18:00"}],"wed":[{"from":"09:00","to":"18:00"}],"thu":[{"from":"09:00","to":"18:00"}],"fri":[{"from":"09:00","to":"18:00"}]}'::jsonb,
            '{mon,tue,wed,thu,fri}'::text[]),
           ('{"mon":[{"from":"08:00","to":"20:00"}],"wed":[{"from":"08:00","to":"20:00"}],"fri":[{"from":"08:00","to":"20:00"}],"sat":[{"from":"10:00","to":"16:00"}]}'::jsonb,
            '{mon,wed,fri,sat}'::text[]),
           ('{"sat":[{"from":"09:00","to":"13:00"},{"from":"14:00","to":"19:00"}],"sun":[{"from":"10:00","to":"17:00"}]}'::jsonb,
            '{sat,sun}'::text[]),
           ('{}'::jsonb, '{}'::text[])
         ) v(availability, weekdays)
         -- A lateral reference, so every provider draws its own pattern.
         offset floor(random() * 4 + 0 * p.g)::int limit 1
       ) w
     ) x`,
    [vocabulary.businessPrefixes, vocabulary.businessSuffixes, vocabulary.lastNames, vocabulary.common],
  );
  await client.query(
    `insert into provider_services (id, created_at, updated_at, provider_profile_id, subcategory_id,
       description, base_price, price_type, is_active)
     select pg_temp.uuid7_at(p.created_at + make_interval(secs => k + 1)), p.created_at, p.created_at, p.id, s.id,
            s.words[1 + floor(random() * s.nwords)::int] || ' — ' || s.words[1 + floor(random() * s.nwords)::int]
              || ', ' || ($1::text[])[1 + floor(random() * cardinality($1::text[]))::int],
            (200 + floor(random() * random() * 15000)::int) * 100,
            (array['fixed', 'fixed', 'hourly', 'negotiable'])[1 + floor(random() * 4)::int],
            random() < 0.97
     from bench_new_providers p
     cross join generate_series(0, $2::int - 1) k
     join bench_subcats s on s.idx = (p.s0 + k) % (select count(*) from bench_subcats)`,
    [vocabulary.common, servicesPerProvider],
  );
  await client.query(
    `update provider_profiles p
     set search_text = lower(concat_ws(' ', p.business_name, p.description, x.descriptions, x.terms)),
         offered_subcategory_ids = x.offered
     from (
       select ps.provider_profile_id, string_agg(ps.description, ' ') as descriptions,
              string_agg(s.terms, ' ') as terms,
              coalesce(array_agg(ps.subcategory_id) filter (where ps.is_active), '{}') as offered
       from bench_new_providers n
       join provider_services ps on ps.provider_profile_id = n.id
       join bench_subcats s on s.id = ps.subcategory_id
       group by ps.provider_profile_id
     ) x
     where x.provider_profile_id = p.id`,
  );
  // The directory's vocabulary, as the app keeps it (platform/search): the words of every search text.
  await client.query(
    `insert into search_words (scope, word)
     select distinct 'providers', w
     from bench_new_providers n
     join provider_profiles p on p.id = n.id
     cross join unnest(tsvector_to_array(p.search_vector)) w
     on conflict do nothing`,
  );
}
