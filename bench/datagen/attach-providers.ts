import type pg from 'pg';
import { createUuid7Function } from './uuid7.ts';

/**
 * Makes registered accounts providers, as `POST /me/provider-profile` and `POST /me/services` would: a user
 * profile where there is none yet, a provider profile in `areaIds`, one active service in each of
 * `subcategoryIds`, the role `provider`, and the search text. Done in SQL because a thousand accounts
 * through the API would take longer than the benchmark. Returns each user's provider profile id.
 */
export async function attachProviders(
  client: pg.ClientBase,
  userIds: string[],
  { subcategoryIds, areaIds }: { subcategoryIds: string[]; areaIds: string[] },
): Promise<Map<string, string>> {
  await createUuid7Function(client);
  await client.query(
    `insert into user_profiles (id, user_id, user_type, preferred_language)
     select pg_temp.uuid7_at(clock_timestamp()), u, 'service_provider', 'ru' from unnest($1::uuid[]) u
     where not exists (select 1 from user_profiles up where up.user_id = u and not up.is_deleted)`,
    [userIds],
  );
  const { rows } = await client.query<{ user_id: string; id: string }>(
    `insert into provider_profiles (id, user_profile_id, business_name, description, service_area_ids,
                                    availability, available_weekdays)
     select pg_temp.uuid7_at(clock_timestamp()), up.id, 'Бенч Сервис ' || row_number() over (), 'Уборка, ремонт, жеткирүү', $2::uuid[],
            '{"mon":[{"from":"09:00","to":"18:00"}],"tue":[{"from":"09:00","to":"18:00"}]}', '{mon,tue}'
     from user_profiles up where up.user_id = any($1::uuid[]) and not up.is_deleted
     returning id, (select user_id from user_profiles where id = user_profile_id) as user_id`,
    [userIds, areaIds],
  );
  await client.query(
    `insert into provider_services (id, provider_profile_id, subcategory_id, description, base_price)
     select pg_temp.uuid7_at(clock_timestamp()), p, s, 'Бенч: быстро и качественно', 100000
     from unnest($1::uuid[]) p cross join unnest($2::uuid[]) s`,
    [rows.map((r) => r.id), subcategoryIds],
  );
  await client.query(
    `update users set roles = roles || '{provider}'::text[]
     where id = any($1::uuid[]) and not 'provider' = any(roles)`,
    [userIds],
  );
  await client.query(
    `update provider_profiles p
     set search_text = lower(concat_ws(' ', p.business_name, p.description,
       (select string_agg(ps.description, ' ') from provider_services ps where ps.provider_profile_id = p.id))),
         offered_subcategory_ids = $2::uuid[]
     where p.id = any($1::uuid[])`,
    [rows.map((r) => r.id), subcategoryIds],
  );
  await client.query(
    `insert into search_words (scope, word)
     select distinct 'providers', w from provider_profiles p cross join unnest(tsvector_to_array(p.search_vector)) w
     where p.id = any($1::uuid[])
     on conflict do nothing`,
    [rows.map((r) => r.id)],
  );
  return new Map(rows.map((r) => [r.user_id, r.id]));
}
