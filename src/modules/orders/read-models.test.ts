import { type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { MISSING, orderFixtures } from '../../../test/order-fixtures.ts';
import { prepareSql } from '../../platform/db.ts';
import { type OrderNotice, orderNotice } from './queries.ts';

/**
 * The orders module's published read models (queries.ts), run as other modules embed them: their columns
 * are what the notifications read, so a change of name or meaning fails here first.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const k = orderFixtures(() => t);
const run = <Row>(query: SQL) => prepareSql<Row>(t.db, query)();
const uuid = (id: string | null) => (id ? sql`${id}::uuid` : sql`null::uuid`);
const notice = (orderId: string, bidId: string | null = null, reviewId: string | null = null) =>
  run<OrderNotice>(sql`select * from (${orderNotice(uuid(orderId), uuid(bidId), uuid(reviewId))}) n`);

describe('orderNotice', () => {
  it('is what a notification says of an order, its bid and its review', async () => {
    const client = await k.client();
    const provider = await k.provider('Бакыт');
    const orderId = (await k.newOrder(client, { title: 'Починить кран', publish: true })).id;
    const bidId = await k.agree(orderId, client, provider, { amount: 300_000, state: 'completed' });
    const review = await k.call('POST', `/api/v1/orders/${orderId}/reviews`, client.auth, { rating: 4 });
    expect(review.status).toBe(201);
    const told = {
      title: 'Починить кран',
      status: 'completed',
      client_user_id: client.user.id,
      provider_user_id: provider.user.id,
      amount: 300_000,
      currency: 'KGS',
      bid_count: 1,
    };
    expect(await notice(orderId, bidId, review.body.id)).toEqual([{ ...told, rating: 4 }]);
    // Without a bid, the assigned provider and the agreed price.
    expect(await notice(orderId)).toEqual([{ ...told, rating: null }]);
  });

  it('answers no row for a deleted or missing order, and reads no bid of another order', async () => {
    const client = await k.client();
    const provider = await k.provider('Азамат');
    const orderId = (await k.newOrder(client, { publish: true })).id;
    const otherId = (await k.newOrder(client, { publish: true })).id;
    const bidId = await k.placeBid(otherId, provider, 250_000);
    expect(await notice(orderId, bidId)).toMatchObject([{ provider_user_id: null, amount: null }]);
    expect((await k.call('DELETE', `/api/v1/orders/${orderId}`, client.auth)).status).toBe(200);
    expect(await notice(orderId)).toEqual([]);
    expect(await notice(MISSING)).toEqual([]);
  });
});
