import { eq, getTableName, inArray, is } from 'drizzle-orm';
import { type PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptedColumns } from '../src/app.ts';
import * as schema from '../src/db-schema.ts';
import { orderFixtures, PNG, type Provider, type SignedIn } from '../src/modules/orders/order-fixtures.ts';
import {
  defineDataRights,
  tablesHoldingPersonalData,
  undeclaredTables,
} from '../src/platform/data-rights.ts';
import { createTestApp, type TestApp } from './helper.ts';

/**
 * Every module's data rights as app.ts wires them (ARCHITECTURE.md, "Data rights"): each table that holds
 * personal data is declared, the export holds each module's section, and erasure settles every module's
 * rows in one transaction, as the declarations say.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const k = orderFixtures(() => t);
const { call } = k;
const rights = () => t.app.services.dataRights;
const allTables = (Object.values(schema) as unknown[]).filter((value): value is PgTable =>
  is(value, PgTable),
);
const known = () => ({ people: [schema.users], encrypted: encryptedColumns.map((c) => c.column) });
const names = (tables: Iterable<PgTable>) => [...tables].map((table) => getTableName(table)).sort();

let sequence = 0;
const PASSWORD = 'correct horse battery';
/** Each sign-in from an address of its own: the per-IP limit is not what this test is about. */
const fromIp = () => `10.77.${Math.floor(++sequence / 250) % 250}.${sequence % 250}`;
const uniquePhone = () => `+996771${String(++sequence).padStart(6, '0')}`;
const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, payload, headers, remoteAddress: fromIp() });

/**
 * A person who signed up by phone (a one-time code, a refresh token), set a password and got it wrong once
 * (a sign-in throttle), and is a client: as real as the routes make one, for erasure to find every row.
 */
async function phoneClient(name: string): Promise<SignedIn & { phone: string }> {
  const phone = uniquePhone();
  expect((await post('/api/v1/auth/otp/request', { phone })).statusCode).toBe(202);
  const signedUp = await post('/api/v1/auth/otp/verify', { phone, code: t.sms.lastCodeFor(phone) });
  expect(signedUp.statusCode).toBe(201);
  const token = signedUp.json().access_token as string;
  const auth = { authorization: `Bearer ${token}` };
  expect((await call('PUT', '/api/v1/me/password', auth, { new_password: PASSWORD })).status).toBe(204);
  expect((await post('/api/v1/auth/login', { phone, password: 'not the password' })).statusCode).toBe(401);
  expect(
    (await call('PATCH', '/api/v1/me/profile', auth, { full_name: name, address: 'ул. Токтогула 1' })).status,
  ).toBe(200);
  // A keyed request: its answer is stored under the key.
  const made = await post(
    '/api/v1/me/client-profile',
    {},
    { ...auth, 'idempotency-key': `client-${sequence}-${Date.now()}` },
  );
  expect(made.statusCode).toBe(201);
  const [user] = await t.db.select().from(schema.users).where(eq(schema.users.id, signedUp.json().user.id));
  return { user: user!, email: '', token, auth, phone };
}

/**
 * Two people who dealt with each other through every part of an order: the client's order (with a photo
 * uploaded under a name) completed by the provider and reviewed both ways, a second one in dispute, the
 * client's favorite, the provider's search.
 */
async function dealings(client: SignedIn, p: Provider) {
  const photo = await t.app.inject({
    method: 'POST',
    url: '/api/v1/files?purpose=order_photo',
    headers: { ...client.auth, 'content-type': 'image/png', 'x-file-name': 'кухня.png' },
    payload: PNG,
  });
  expect(photo.statusCode).toBe(201);
  const completed = await k.orderIn(client, 'completed', p, { photo_file_ids: [photo.json().id] });
  expect(
    (
      await call('POST', `/api/v1/orders/${completed}/reviews`, client.auth, {
        rating: 5,
        comment: 'Отлично',
      })
    ).status,
  ).toBe(201);
  expect((await call('POST', `/api/v1/orders/${completed}/reviews`, p.auth, { rating: 4 })).status).toBe(201);
  const disputed = await k.orderIn(client, 'in_progress', p);
  const opened = await call('POST', `/api/v1/orders/${disputed}/disputes`, client.auth, {
    dispute_type: 'quality_issue',
    description: 'Кран снова течёт после ремонта',
  });
  expect(opened.status).toBe(201);
  expect((await call('PUT', `/api/v1/me/favorites/${p.providerId}`, client.auth)).status).toBe(201);
  expect((await call('GET', '/api/v1/orders/search?q=кран', p.auth)).status).toBe(200);
  return { completed, disputed, photoId: photo.json().id as string };
}

describe('declarations', () => {
  it('cover every table that holds personal data, and name only tables of the schema', () => {
    const found = tablesHoldingPersonalData(allTables, known());
    // What the rule finds: by name, by encryption, by a reference to an account or to such a table.
    expect(names(found.keys())).toEqual(
      expect.arrayContaining([
        'audit_log',
        'files',
        'order_addons',
        'order_photos',
        'orders',
        'refresh_tokens',
      ]),
    );
    expect(rights().undeclared(allTables, known())).toEqual([]);
    const declared = rights()
      .tables()
      .map((d) => d.table);
    expect(names(declared.filter((table) => !allTables.includes(table)))).toEqual([]);
  });

  it('fail the check when a table that holds personal data is left out', () => {
    const withoutBids = rights()
      .tables()
      .map((d) => d.table)
      .filter((table) => table !== schema.bids);
    expect(undeclaredTables(withoutBids, allTables, known())).toEqual([
      'bids (provider_user_id names a person)',
    ]);
  });
});

describe('GET /me/export', () => {
  it('holds each module’s section: the account and profiles, everything of the orders, the activity and uploads', async () => {
    const client = await k.client('Айгуль Токтогулова');
    const p = await k.provider('Бакыт Ремонт');
    const stranger = await k.client('Чужой Клиент');
    const theirs = await k.orderIn(stranger, 'published');
    const { completed, disputed, photoId } = await dealings(client, p);

    const mine = await call('GET', '/api/v1/me/export', client.auth);
    expect(mine.status).toBe(200);
    expect(Object.keys(mine.body).sort()).toEqual(['exported_at', 'orders', 'platform', 'users']);
    const { users: account, orders: dealt, platform } = mine.body;
    expect(account.account.id).toBe(client.user.id);
    expect(account.favorites).toEqual([{ provider_id: p.providerId, added_at: expect.any(String) }]);
    expect(dealt.orders.map((o: { id: string }) => o.id).sort()).toEqual([completed, disputed].sort());
    const order = dealt.orders.find((o: { id: string }) => o.id === completed);
    expect(order).toMatchObject({
      status: 'completed',
      address: 'ул. Киевская 77, кв. 5',
      photos: [{ file_id: photoId, is_primary: true }],
      is_deleted: false,
    });
    expect(order.history.map((h: { to_status: string }) => h.to_status)).toEqual([
      'draft',
      'published',
      'bidding',
      'assigned',
      'in_progress',
      'completed',
    ]);
    expect(dealt.assignments.map((a: { role: string }) => a.role)).toEqual(['client', 'client']);
    expect(dealt.reviews_written).toMatchObject([{ order_id: completed, rating: 5, comment: 'Отлично' }]);
    expect(dealt.reviews_received).toMatchObject([{ order_id: completed, rating: 4 }]);
    expect(dealt.disputes).toMatchObject([{ order_id: disputed, opened_by_user_id: client.user.id }]);
    expect(dealt.bids).toEqual([]);
    expect(platform.files).toMatchObject([{ id: photoId, original_name: 'кухня.png' }]);
    expect(platform.activity.length).toBeGreaterThan(0);
    expect(JSON.stringify(mine.body)).not.toContain(theirs);

    const provider = (await call('GET', '/api/v1/me/export', p.auth)).body.orders;
    expect(provider.orders).toEqual([]);
    expect(provider.bids.map((b: { order_id: string }) => b.order_id).sort()).toEqual(
      [completed, disputed].sort(),
    );
    expect(provider.assignments.map((a: { role: string }) => a.role)).toEqual(['provider', 'provider']);
    expect(provider.reviews_written).toMatchObject([{ rating: 4 }]);
    expect(provider.reviews_received).toMatchObject([{ rating: 5 }]);
    expect(provider.disputes).toMatchObject([{ order_id: disputed }]);
    expect(provider.searches).toMatchObject([{ query: 'кран' }]);
  });

  it('is documented section by section', () => {
    const response = (
      t.app.swagger() as {
        paths: Record<
          string,
          { get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }
        >;
      }
    ).paths['/api/v1/me/export']!.get.responses['200']!.content['application/json']!.schema as {
      properties: Record<string, { properties: Record<string, unknown> }>;
    };
    expect(Object.keys(response.properties).sort()).toEqual(['exported_at', 'orders', 'platform', 'users']);
    expect(Object.keys(response.properties.orders!.properties)).toEqual(
      expect.arrayContaining([
        'orders',
        'bids',
        'assignments',
        'reviews_written',
        'reviews_received',
        'disputes',
      ]),
    );
  });
});

describe('POST /me/erase', () => {
  it('runs every module’s part in one transaction: when one fails, nothing is erased', async () => {
    const client = await phoneClient('Жылдыз Орозова');
    const p = await k.provider('Эркин Мастер');
    const { completed } = await dealings(client, p);
    const before = await everythingOf(client.user.id, completed);

    const failing = rights().register(
      defineDataRights({
        module: 'failing',
        section: Type.Object({}),
        tables: [],
        export: async () => ({}),
        async erase({ userId }) {
          if (userId === client.user.id) throw new Error('a later module failed');
        },
      }),
    );
    try {
      const refused = await call('POST', '/api/v1/me/erase', client.auth, { confirm: 'ERASE' });
      expect(refused.status).toBe(500);
    } finally {
      failing();
    }
    expect(await everythingOf(client.user.id, completed)).toEqual(before);
    expect((await call('GET', '/api/v1/me', client.auth)).status).toBe(200);
  });

  it('leaves none of the person’s rows where the declarations say delete, and anonymises the rest', async () => {
    const client = await phoneClient('Асель Бекова');
    const p = await k.provider('Нурбек Сантехник');
    const { completed, disputed, photoId } = await dealings(client, p);
    const deleting = rights()
      .tables()
      .filter((d) => d.erasure.action === 'delete' && d.rowsOf);
    const rowsBefore = new Map<PgTable, string[]>();
    for (const declared of deleting) {
      const id = (declared.table as unknown as { id: PgColumn }).id;
      const found = await t.db.select({ id }).from(declared.table).where(declared.rowsOf!(client.user.id));
      rowsBefore.set(
        declared.table,
        found.map((r) => r.id as string),
      );
    }
    // Every table erasure deletes from held some of the person's rows: the check below checks something.
    expect(names([...rowsBefore].filter(([, ids]) => ids.length === 0).map(([table]) => table))).toEqual([]);

    expect((await call('POST', '/api/v1/me/erase', client.auth, { confirm: 'ERASE' })).status).toBe(204);
    for (const [table, ids] of rowsBefore) {
      const id = (table as unknown as { id: PgColumn }).id;
      const left = await t.db.select({ id }).from(table).where(inArray(id, ids));
      expect(left, getTableName(table)).toEqual([]);
    }
    const [finished] = await t.db.select().from(schema.orders).where(eq(schema.orders.id, completed));
    expect(finished).toMatchObject({ addressEncrypted: null, locationEncrypted: null, status: 'completed' });
    // Work still agreed keeps its address: the provider needs it.
    const [working] = await t.db.select().from(schema.orders).where(eq(schema.orders.id, disputed));
    expect(working?.addressEncrypted).not.toBeNull();
    const [file] = await t.db.select().from(schema.files).where(eq(schema.files.id, photoId));
    expect(file?.originalName).toBeNull();
    const fileTrail = await t.db.select().from(schema.auditLog).where(eq(schema.auditLog.entityId, photoId));
    expect(JSON.stringify(fileTrail)).not.toContain('кухня');
    const [session] = await t.db
      .select()
      .from(schema.userSessions)
      .where(eq(schema.userSessions.userId, client.user.id));
    expect(session).toMatchObject({ ip: null, userAgent: null, deviceName: null });
    expect(
      await t.db.select().from(schema.orderSearches).where(eq(schema.orderSearches.userId, client.user.id)),
    ).toEqual([]);
  });
});

/** What erasure would change of a person: their rows in the tables every module declares. */
async function everythingOf(userId: string, orderId: string) {
  const rows: Record<string, unknown> = {};
  for (const declared of rights().tables()) {
    if (!declared.rowsOf) continue;
    rows[getTableName(declared.table)] = await t.db
      .select()
      .from(declared.table)
      .where(declared.rowsOf(userId))
      .orderBy((declared.table as unknown as { id: PgColumn }).id);
  }
  rows.order = await t.db.select().from(schema.orders).where(eq(schema.orders.id, orderId));
  return JSON.parse(JSON.stringify(rows));
}

describe('retention', () => {
  const DAY = 86_400_000;
  const ago = (days: number) => new Date(Date.now() - days * DAY);
  const run = () => rights().retentionJob.handle({}, { log: t.app.log, jobId: 'test', retryCount: 0 });

  async function setSetting(key: string, value: number) {
    const admin = await k.user(['admin']);
    const list = await call('GET', '/api/v1/admin/settings?limit=100', admin.auth);
    const setting = list.body.data.find((s: { key: string }) => s.key === key);
    expect(setting, key).toBeDefined();
    const changed = await call('PATCH', `/api/v1/admin/settings/${setting.id}`, admin.auth, { value });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
  }

  it('removes sessions expired past their days with their tokens, answers stored past expiry, and old searches', async () => {
    const who = await k.user();
    const session = async (expiredDaysAgo: number) => {
      const [made] = await t.db
        .insert(schema.userSessions)
        .values({ userId: who.user.id, expiresAt: ago(expiredDaysAgo) })
        .returning();
      await t.db
        .insert(schema.refreshTokens)
        .values({ sessionId: made!.id, tokenHash: `token-${made!.id}`, expiresAt: ago(expiredDaysAgo) });
      return made!.id;
    };
    const longGone = await session(31);
    const lately = await session(10);
    const live = await session(-1);
    const answer = async (expiredDaysAgo: number) => {
      const [made] = await t.db
        .insert(schema.idempotencyKeys)
        .values({
          scope: who.user.id,
          key: `key-${expiredDaysAgo}-${Date.now()}`,
          method: 'POST',
          path: '/api/v1/orders',
          requestHash: 'h',
          statusCode: 201,
          responseBody: {},
          expiresAt: ago(expiredDaysAgo),
        })
        .returning();
      return made!.id;
    };
    await answer(0.01);
    const liveAnswer = await answer(-0.5);
    const search = async (daysAgo: number) => {
      const [made] = await t.db
        .insert(schema.orderSearches)
        .values({ userId: who.user.id, query: `q${daysAgo}`, resultCount: 0, createdAt: ago(daysAgo) })
        .returning();
      return made!.id;
    };
    await search(91);
    const recentSearch = await search(10);

    const sessionsLeft = async () =>
      (
        await t.db
          .select({ id: schema.userSessions.id })
          .from(schema.userSessions)
          .where(inArray(schema.userSessions.id, [longGone, lately, live]))
      )
        .map((s) => s.id)
        .sort();

    await run();
    expect(await sessionsLeft()).toEqual([lately, live].sort());
    const tokens = await t.db
      .select({ sessionId: schema.refreshTokens.sessionId })
      .from(schema.refreshTokens)
      .where(inArray(schema.refreshTokens.sessionId, [longGone, lately, live]));
    // The token of the session ten days past its expiry is past its own day: it goes, the session stays.
    expect(tokens.map((r) => r.sessionId)).toEqual([live]);
    const answers = await t.db
      .select({ id: schema.idempotencyKeys.id })
      .from(schema.idempotencyKeys)
      .where(eq(schema.idempotencyKeys.scope, who.user.id));
    expect(answers.map((a) => a.id)).toEqual([liveAnswer]);
    const searches = () =>
      t.db
        .select({ id: schema.orderSearches.id })
        .from(schema.orderSearches)
        .where(eq(schema.orderSearches.userId, who.user.id));
    expect((await searches()).map((s) => s.id)).toEqual([recentSearch]);

    // Staff shorten the periods: the session ten days past and the ten-day-old search go at the next run.
    await setSetting('session_retention_days', 7);
    await setSetting('search_log_retention_days', 5);
    await run();
    expect(await sessionsLeft()).toEqual([live]);
    expect(await searches()).toEqual([]);
  });
});
