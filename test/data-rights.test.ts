import { eq, getTableName, inArray, is } from 'drizzle-orm';
import { type PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptedColumns } from '../src/app.ts';
import * as schema from '../src/db-schema.ts';
import { DEFAULT_SETTINGS } from '../src/modules/core/seed.ts';
import { ORDER_EVENTS } from '../src/modules/orders/events.ts';
import {
  defineDataRights,
  tablesHoldingPersonalData,
  undeclaredTables,
} from '../src/platform/data-rights.ts';
import { createTestApp, deliverQueuedEvents, type TestApp } from './helper.ts';
import { inlineComponents } from './openapi-document.ts';
import { orderFixtures, PNG, type Provider, type SignedIn } from './order-fixtures.ts';

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
  return { user: user!, email: '', token, auth, phone, reauth: { password: PASSWORD } };
}

/** A fresh one-time code for the phone, as the app asks for one: the last one made old enough to ask again. */
async function freshCode(phone: string) {
  await t.db
    .update(schema.otpCodes)
    .set({ createdAt: new Date(Date.now() - 120_000) })
    .where(eq(schema.otpCodes.phoneHash, t.app.services.cipher.blindIndex(phone)));
  expect((await post('/api/v1/auth/otp/request', { phone })).statusCode).toBe(202);
  return t.sms.lastCodeFor(phone);
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
  const device = { token: `fcm-token-${client.user.id}`, platform: 'android' };
  expect((await call('POST', '/api/v1/me/devices', client.auth, device)).status).toBe(201);
  const choices = { types: { order_update: { email: true } } };
  expect((await call('PUT', '/api/v1/me/notification-preferences', client.auth, choices)).status).toBe(200);
  // What the dealings told each side becomes their notifications, as a worker would make them.
  await deliverQueuedEvents(t.app, 'notifications', ORDER_EVENTS);
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

describe('POST /me/export', () => {
  it('holds everything each person took part in, through every module’s section, and nothing private of the other', async () => {
    const client = await k.client('Айгуль Токтогулова');
    const p = await k.provider('Бакыт Ремонт');
    const stranger = await k.client('Чужой Клиент');
    const theirs = await k.orderIn(stranger, 'published');
    const { completed, disputed, photoId } = await dealings(client, p);
    // Each side's own contact details, which only their own export holds.
    const details = { address: 'мкр. Джал 12, дом 4', contact_info: { telegram: '@bakyt_master' } };
    expect((await call('PATCH', '/api/v1/me/profile', p.auth, details)).status).toBe(200);
    const clientDetails = { contact_info: { whatsapp: '+996700111222' } };
    expect((await call('PATCH', '/api/v1/me/profile', client.auth, clientDetails)).status).toBe(200);
    // The provider's verification, decided by staff with a note only staff may read.
    const evidence = await k.uploadPdf(p, 'verification_evidence');
    const submitted = await call('POST', '/api/v1/me/verifications', p.auth, {
      verification_type: 'identity',
      evidence_file_ids: [evidence],
      note: 'Паспорт, разворот',
    });
    expect(submitted.status).toBe(201);
    const moderator = await k.user(['moderator']);
    const decided = await call(
      'POST',
      `/api/v1/admin/verifications/${submitted.body.id}/reject`,
      moderator.auth,
      {
        public_note: 'Фото нечитаемо',
        admin_notes: 'STAFF ONLY: сверить с реестром',
      },
    );
    expect(decided.status).toBe(200);

    const mine = await call('POST', '/api/v1/me/export', client.auth, client.reauth);
    expect(mine.status).toBe(200);
    expect(Object.keys(mine.body).sort()).toEqual([
      'chat',
      'exported_at',
      'notifications',
      'orders',
      'platform',
      'users',
    ]);
    const { users: account, orders: dealt, platform } = mine.body;
    expect(account.account).toMatchObject({ id: client.user.id, email: client.email });
    expect(account.profile).toMatchObject(clientDetails);
    expect(account.client_profiles).toMatchObject([{ id: client.clientProfileId, is_deleted: false }]);
    expect(account.provider_profiles).toEqual([]);
    expect(account.sessions.map((s: { id: string }) => s.id)).toHaveLength(1);
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
    // The audit of the person's own changes: the order placed, the review written, the favorite added.
    const changed = platform.activity.map((a: { entity: string; entity_id: string }) => a.entity_id);
    expect(changed).toEqual(expect.arrayContaining([completed, disputed, client.clientProfileId]));
    const clientText = JSON.stringify(mine.body);
    expect(clientText).not.toContain(theirs);
    for (const private_ of [p.email, '@bakyt_master', 'мкр. Джал', 'Паспорт', 'STAFF ONLY', evidence]) {
      expect(clientText, private_).not.toContain(private_);
    }

    const providerExport = await call('POST', '/api/v1/me/export', p.auth, p.reauth);
    expect(providerExport.status).toBe(200);
    const { users: them, platform: theirPlatform } = providerExport.body;
    expect(them.profile).toMatchObject(details);
    expect(them.provider_profiles).toMatchObject([{ id: p.providerId, is_deleted: false }]);
    expect(them.services).toMatchObject([{ is_deleted: false }]);
    expect(them.verifications).toMatchObject([
      {
        id: submitted.body.id,
        verification_type: 'identity',
        status: 'rejected',
        evidence_file_ids: [evidence],
        user_note: 'Паспорт, разворот',
        public_note: 'Фото нечитаемо',
      },
    ]);
    expect(theirPlatform.files.map((f: { id: string }) => f.id)).toContain(evidence);
    // Their own request is in their activity; the staff's decision on it is the staff's.
    expect(theirPlatform.activity).toContainEqual(
      expect.objectContaining({ action: 'create', entity_id: submitted.body.id }),
    );
    const providerText = JSON.stringify(providerExport.body);
    for (const private_ of [client.email, '+996700111222', 'ул. Киевская 77', 'STAFF ONLY', theirs]) {
      expect(providerText, private_).not.toContain(private_);
    }
    const provider = providerExport.body.orders;
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
      inlineComponents(t.app.swagger()) as {
        paths: Record<
          string,
          { post: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }
        >;
      }
    ).paths['/api/v1/me/export']!.post.responses['200']!.content['application/json']!.schema as {
      properties: Record<string, { properties: Record<string, unknown> }>;
    };
    expect(Object.keys(response.properties).sort()).toEqual([
      'chat',
      'exported_at',
      'notifications',
      'orders',
      'platform',
      'users',
    ]);
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

/** Staff rule the dispute over `orderId` (work completed): agreed work no longer stands in an erasure's way. */
async function ruled(orderId: string, client: SignedIn) {
  const [dispute] = (await call('GET', `/api/v1/orders/${orderId}/disputes`, client.auth)).body.data;
  const moderator = await k.user(['moderator']);
  const resolved = await call('POST', `/api/v1/admin/disputes/${dispute.id}/resolve`, moderator.auth, {
    resolution: 'Работа выполнена',
    outcome: 'completed',
    refund: false,
  });
  expect(resolved.status).toBe(200);
}

describe('POST /me/erase', () => {
  it('runs every module’s part in one transaction: when one fails, nothing is erased', async () => {
    const client = await phoneClient('Жылдыз Орозова');
    const p = await k.provider('Эркин Мастер');
    const { completed, disputed } = await dealings(client, p);
    await ruled(disputed, client);
    // The right password clears the sign-in throttle, as a sign-in does: confirmed once first, so that what
    // is compared below is the erasure's doing alone.
    expect((await call('POST', '/api/v1/me/export', client.auth, client.reauth)).status).toBe(200);
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
      const refused = await call('POST', '/api/v1/me/erase', client.auth, {
        confirm: 'ERASE',
        ...client.reauth,
      });
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
    await ruled(disputed, client);
    // A moderator kept them out of chat once: a row only erasure takes.
    await t.db.insert(schema.chatRestrictions).values({ userId: client.user.id, until: new Date() });
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

    // Confirmed by a one-time code, which leaves the sign-in throttle as it is: only erasure takes it.
    const erased = await call('POST', '/api/v1/me/erase', client.auth, {
      confirm: 'ERASE',
      otp_code: await freshCode(client.phone),
    });
    expect(erased.status).toBe(204);
    for (const [table, ids] of rowsBefore) {
      const id = (table as unknown as { id: PgColumn }).id;
      const left = await t.db.select({ id }).from(table).where(inArray(id, ids));
      expect(left, getTableName(table)).toEqual([]);
    }
    const [finished] = await t.db.select().from(schema.orders).where(eq(schema.orders.id, completed));
    expect(finished).toMatchObject({ addressEncrypted: null, locationEncrypted: null, status: 'completed' });
    const [ruledOrder] = await t.db.select().from(schema.orders).where(eq(schema.orders.id, disputed));
    expect(ruledOrder).toMatchObject({ addressEncrypted: null, status: 'completed' });
    // The photo went with the rest of the person's uploads, name and all.
    expect(await t.db.select().from(schema.files).where(eq(schema.files.id, photoId))).toEqual([]);
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

  it('declares each retention setting with the default the catalog seeds, so staff see and change it', () => {
    const declared = rights()
      .tables()
      .flatMap((d) => (d.retention?.setting ? [[d.retention.setting, d.retention.days] as const] : []));
    expect(declared.map(([setting]) => setting).sort()).toEqual([
      'chat_message_retention_days',
      'idempotency_key_retention_days',
      'notification_delivery_retention_days',
      'notification_delivery_retention_days',
      'notification_retention_days',
      'otp_code_retention_days',
      'refresh_token_retention_days',
      'search_log_retention_days',
      'session_retention_days',
    ]);
    for (const [setting, days] of declared) {
      const seeded = DEFAULT_SETTINGS.find((s) => s.key === setting);
      expect(seeded?.value, setting).toBe(days);
      expect(seeded?.description, setting).toMatch(/^Days /);
    }
  });

  it('removes one-time codes past their day and sign-in throttles a day after the last wrong password', async () => {
    const code = async (hoursAgo: number) => {
      const [made] = await t.db
        .insert(schema.otpCodes)
        .values({
          phoneHash: `retention-phone-${hoursAgo}-${Date.now()}`,
          codeHash: 'h',
          createdAt: ago(hoursAgo / 24),
          expiresAt: ago(hoursAgo / 24 - 5 / 1440),
        })
        .returning();
      return made!.id;
    };
    const stale = await code(25);
    const recent = await code(23);
    const throttle = async (hoursAgo: number) => {
      const [made] = await t.db
        .insert(schema.signInThrottles)
        .values({
          subject: `retention-${hoursAgo}-${Date.now()}`,
          failures: 3,
          lastFailureAt: ago(hoursAgo / 24),
        })
        .returning();
      return made!.id;
    };
    const forgotten = await throttle(25);
    const counting = await throttle(23);

    await run();
    const codes = await t.db
      .select({ id: schema.otpCodes.id })
      .from(schema.otpCodes)
      .where(inArray(schema.otpCodes.id, [stale, recent]));
    expect(codes.map((c) => c.id)).toEqual([recent]);
    const throttles = await t.db
      .select({ id: schema.signInThrottles.id })
      .from(schema.signInThrottles)
      .where(inArray(schema.signInThrottles.id, [forgotten, counting]));
    expect(throttles.map((r) => r.id)).toEqual([counting]);
  });

  it('removes sessions expired past their days with their tokens, answers stored past expiry, and old searches', async () => {
    const who = await k.user();
    const session = async (expiredDaysAgo: number, revokedDaysAgo?: number) => {
      const [made] = await t.db
        .insert(schema.userSessions)
        .values({
          userId: who.user.id,
          expiresAt: ago(expiredDaysAgo),
          revokedAt: revokedDaysAgo === undefined ? null : ago(revokedDaysAgo),
        })
        .returning();
      await t.db
        .insert(schema.refreshTokens)
        .values({ sessionId: made!.id, tokenHash: `token-${made!.id}`, expiresAt: ago(expiredDaysAgo) });
      return made!.id;
    };
    const longGone = await session(31);
    const lately = await session(10);
    const live = await session(-1);
    // Signed out long before it would have expired: it ended then, and goes as an expired one would.
    const signedOutLongAgo = await session(-20, 31);
    const signedOutLately = await session(-20, 10);
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
          .where(inArray(schema.userSessions.id, [longGone, lately, live, signedOutLongAgo, signedOutLately]))
      )
        .map((s) => s.id)
        .sort();

    await run();
    expect(await sessionsLeft()).toEqual([lately, live, signedOutLately].sort());
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
