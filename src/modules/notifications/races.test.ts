import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, deliverQueuedEvents, type TestApp } from '../../../test/helper.ts';
import { orderFixtures, type SignedIn } from '../../../test/order-fixtures.ts';
import { raceInOrder } from '../../../test/races.ts';

/**
 * Two changes to one person's notifications at once: each order of the two is forced (`raceInOrder`: started
 * together, then staggered until the one started first lands first) and its whole outcome asserted.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const k = orderFixtures(() => t);
const { call } = k;
const deliverBids = () => deliverQueuedEvents(t.app, 'notifications', ['bid_received']);

/** A client with one bid on their order told in the inbox; `more` bids placed after it, not yet told. */
async function clientWithBids(name: string, more = 0) {
  const client = await k.client(name);
  const orderId = (await k.newOrder(client, { title: `Починить кран: ${name}`, publish: true })).id;
  await k.placeBid(orderId, await k.provider(`Мастер ${name}`));
  await deliverBids();
  for (let i = 0; i < more; i++) await k.placeBid(orderId, await k.provider(`Мастер ${i} ${name}`));
  const [item] = (await inboxOf(client)).data;
  return { client, itemId: item!.id as string };
}

async function inboxOf(who: SignedIn, query = '') {
  const answer = await call('GET', `/api/v1/me/notifications${query}`, who.auth);
  expect(answer.status).toBe(200);
  return answer.body as { data: Record<string, unknown>[] };
}

const unread = async (who: SignedIn) =>
  (await call('GET', '/api/v1/me/notifications/unread-count', who.auth)).body.unread as number;

async function loggedActions(notificationId: string) {
  const { rows } = await t.database.sql.query(
    `select action from notification_logs where notification_id = $1 and action in ('read', 'archived') order by id`,
    [notificationId],
  );
  return rows.map((r) => r.action as string);
}

describe('an inbox item read and archived at once', () => {
  it.each([
    ['read', 'the archive keeps when it was read'],
    ['archive', 'the read keeps it archived and records when it was read'],
  ] as const)('%s first: %s', async (first, _outcome) => {
    const race = await raceInOrder({
      setup: (attempt) => clientWithBids(`Читатель ${first} ${attempt}`),
      a: (s) => call('POST', `/api/v1/me/notifications/${s.itemId}/read`, s.client.auth),
      b: (s) => call('POST', `/api/v1/me/notifications/${s.itemId}/archive`, s.client.auth),
      first: first === 'read' ? 'a' : 'b',
      landed: (read) => (read.body.status === 'read') === (first === 'read'),
    });
    const { client, itemId } = race.state;
    const { a: read, b: archive } = race;
    expect(read.status).toBe(200);
    expect(archive.status).toBe(200);
    expect(archive.body.archived_at).not.toBeNull();
    if (first === 'read') {
      expect(read.body).toMatchObject({ status: 'read', archived_at: null });
      expect(archive.body).toMatchObject({ status: 'archived', read_at: read.body.read_at });
      expect(await loggedActions(itemId)).toEqual(['read', 'archived']);
    } else {
      expect(archive.body).toMatchObject({ status: 'archived', read_at: null });
      expect(read.body).toMatchObject({ status: 'archived', archived_at: archive.body.archived_at });
      expect(read.body.read_at).not.toBeNull();
      expect(await loggedActions(itemId)).toEqual(['archived', 'read']);
    }
    // Either way: archived, read, out of the default list and the count.
    const [item] = (await inboxOf(client, '?status=archived')).data;
    expect(item).toMatchObject({ id: itemId, status: 'archived' });
    expect(item!.read_at).not.toBeNull();
    expect((await inboxOf(client)).data).toEqual([]);
    expect(await unread(client)).toBe(0);
  });
});

describe('read all while a notification arrives', () => {
  it.each([
    ['read-all', 'the new one stays unread'],
    ['arrival', 'the new one is read too'],
  ] as const)('%s first: %s', async (first, _outcome) => {
    const race = await raceInOrder({
      setup: (attempt) => clientWithBids(`Быстрый ${first} ${attempt}`, 1),
      a: (s) => call('POST', '/api/v1/me/notifications/read-all', s.client.auth),
      b: () => deliverBids(),
      first: first === 'read-all' ? 'a' : 'b',
      landed: (readAll) => (readAll.body.changed === 1) === (first === 'read-all'),
    });
    const { client } = race.state;
    expect(race.a.status).toBe(200);
    const items = (await inboxOf(client)).data;
    expect(items).toHaveLength(2);
    if (first === 'read-all') {
      expect(race.a.body).toEqual({ changed: 1 });
      expect(items.map((i) => i.status)).toEqual(['unread', 'read']);
      expect(await unread(client)).toBe(1);
    } else {
      expect(race.a.body).toEqual({ changed: 2 });
      expect(items.map((i) => i.status)).toEqual(['read', 'read']);
      expect(await unread(client)).toBe(0);
    }
  });
});

describe('two preference changes at once', () => {
  const cell = (body: { types: { type: string; channels: Record<string, { choice: boolean | null }> }[] }) =>
    body.types.find((x) => x.type === 'bid_received')!.channels.push!.choice;

  it.each([
    ['the email switch', 'the push choice merges into it'],
    ['the push choice', 'the email switch merges into it'],
  ] as const)('%s first: %s, neither lost', async (first, _outcome) => {
    const race = await raceInOrder({
      setup: (attempt) => k.client(`Настройщик ${first} ${attempt}`),
      a: (who) =>
        call('PUT', '/api/v1/me/notification-preferences', who.auth, { channels: { email: false } }),
      b: (who) =>
        call('PUT', '/api/v1/me/notification-preferences', who.auth, {
          types: { bid_received: { push: false } },
        }),
      first: first === 'the email switch' ? 'a' : 'b',
      landed: (a) => (cell(a.body) === null) === (first === 'the email switch'),
    });
    const { a, b } = race;
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    if (first === 'the email switch') {
      expect(a.body.channels.email).toBe(false);
      expect(cell(a.body)).toBeNull();
      expect(b.body.channels.email).toBe(false);
      expect(cell(b.body)).toBe(false);
    } else {
      expect(b.body.channels.email).toBe(true);
      expect(cell(b.body)).toBe(false);
      expect(a.body.channels.email).toBe(false);
      expect(cell(a.body)).toBe(false);
    }
    const saved = (await call('GET', '/api/v1/me/notification-preferences', race.state.auth)).body;
    expect(saved.channels.email).toBe(false);
    expect(cell(saved)).toBe(false);
  });
});

describe('many preference changes at once', () => {
  it('lose none: each merges into what the others saved', async () => {
    const who = await k.client('Много настроек');
    const types = [
      'bid_received',
      'bid_accepted',
      'bid_rejected',
      'order_assigned',
      'order_update',
      'order_completed',
      'review_received',
      'dispute_update',
    ];
    const answers = await Promise.all(
      types.map((type) =>
        call('PUT', '/api/v1/me/notification-preferences', who.auth, { types: { [type]: { push: false } } }),
      ),
    );
    for (const answer of answers) expect(answer.status).toBe(200);
    const saved = (await call('GET', '/api/v1/me/notification-preferences', who.auth)).body as {
      types: { type: string; channels: Record<string, { choice: boolean | null }> }[];
    };
    expect(
      saved.types
        .filter((x) => x.channels.push!.choice === false)
        .map((x) => x.type)
        .sort(),
    ).toEqual([...types].sort());
  });
});
