import type pg from 'pg';
import type { Vocabulary } from './words.ts';

/**
 * Adds `count` clients: a user (role client, mostly active), a user profile and a client profile each,
 * created over `spanDays` up to now. No email, phone or password: their orders are what matters.
 * Needs `createUuid7Function` in this session.
 */
export async function generateClients(
  client: pg.ClientBase,
  vocabulary: Vocabulary,
  { count, spanDays }: { count: number; spanDays: number },
): Promise<void> {
  await client.query(
    `drop table if exists pg_temp.bench_new_clients;
     create temp table bench_new_clients (
       g int primary key, user_id uuid not null, user_profile_id uuid not null, id uuid not null,
       created_at timestamptz not null)`,
  );
  await client.query(
    `insert into bench_new_clients
     select g, pg_temp.uuid7_at(t), pg_temp.uuid7_at(t + interval '1 millisecond'),
            pg_temp.uuid7_at(t + interval '2 milliseconds'), t
     from (
       select g, now() - make_interval(days => $2) + make_interval(secs => (g - 1 + random()) * $2 * 86400.0 / $1) as t
       from generate_series(1, $1::int) g
     ) x`,
    [count, spanDays],
  );
  await client.query(
    `insert into users (id, created_at, updated_at, full_name, roles, status)
     select user_id, created_at, created_at,
            ($1::text[])[1 + floor(random() * cardinality($1::text[]))::int] || ' ' ||
              ($2::text[])[1 + floor(random() * cardinality($2::text[]))::int],
            '{client}', case when random() < 0.99 then 'active' else 'deactivated' end
     from bench_new_clients`,
    [vocabulary.firstNames, vocabulary.lastNames],
  );
  await client.query(
    `insert into user_profiles (id, created_at, updated_at, user_id, user_type, preferred_language)
     select user_profile_id, created_at, created_at, user_id, 'client',
            case when random() < 0.7 then 'ru' else 'ky' end
     from bench_new_clients`,
  );
  await client.query(
    `insert into client_profiles (id, created_at, updated_at, user_profile_id)
     select id, created_at, created_at, user_profile_id from bench_new_clients`,
  );
}
