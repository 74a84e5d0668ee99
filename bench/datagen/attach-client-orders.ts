import type pg from 'pg';
import { createUuid7Function } from './uuid7.ts';

/**
 * Hands `count` generated orders, of every status in their generated proportions, to a registered client
 * whose client profile exists (the API made it with `sourceOrderId`, an order it created for them), as if
 * they had placed them: the order's client, the address and location ciphertext of the source order (the
 * generators cannot encrypt: the key is the API's), and an assignment for each order that has an accepted
 * bid, so reading an agreed order shows the provider and their contact card as it would. Returns the ids.
 */
export async function attachClientOrders(
  client: pg.ClientBase,
  userId: string,
  { count, sourceOrderId }: { count: number; sourceOrderId: string },
): Promise<string[]> {
  await createUuid7Function(client);
  const { rows } = await client.query<{ id: string }>(
    `with source as (
       select client_profile_id, address_encrypted, location_encrypted from orders where id = $2::uuid
     ), picked as (
       select id from orders where client_user_id <> $1::uuid and not is_deleted
       order by random() limit $3::int
     )
     update orders o
     set client_user_id = $1::uuid, client_profile_id = source.client_profile_id,
         address_encrypted = source.address_encrypted, location_encrypted = source.location_encrypted
     from picked, source
     where o.id = picked.id
     returning o.id`,
    [userId, sourceOrderId, count],
  );
  const ids = rows.map((r) => r.id);
  await client.query(
    `insert into order_assignments (id, created_at, updated_at, order_id, bid_id, provider_profile_id,
                                    provider_user_id, client_user_id, start_date, completion_notes, client_rating)
     select pg_temp.uuid7_at(o.assigned_at), o.assigned_at, o.updated_at, o.id, b.id, b.provider_profile_id,
            b.provider_user_id, o.client_user_id, o.service_date,
            case when o.status = 'completed' then 'Работа выполнена / Иш бүттү' end,
            case when o.status = 'completed' then 3 + floor(random() * 3)::int end
     from orders o join bids b on b.order_id = o.id and b.status = 'accepted' and not b.is_deleted
     where o.id = any($1::uuid[]) and o.assigned_at is not null
       and not exists (select 1 from order_assignments a where a.order_id = o.id)`,
    [ids],
  );
  return ids;
}
