import type pg from 'pg';

/**
 * Creates `pg_temp.uuid7_at(timestamptz)` for this session: a UUIDv7 whose 48-bit prefix is the time in
 * milliseconds, then version 7 and the RFC 4122 variant, the rest random. Rows made with it sort by their
 * time as the app's own ids do, so "newest first" (`order by id desc`) means what it means in production.
 * A random v4 uuid provides the random bits and the variant; only the time and the version are written over.
 */
export async function createUuid7Function(client: pg.ClientBase): Promise<void> {
  await client.query(`
    create or replace function pg_temp.uuid7_at(at timestamptz) returns uuid
    language sql volatile parallel safe as $$
      select overlay(overlay(replace(gen_random_uuid()::text, '-', '')
        placing lpad(to_hex((extract(epoch from at) * 1000)::bigint), 12, '0') from 1)
        placing '7' from 13)::uuid
    $$`);
}
