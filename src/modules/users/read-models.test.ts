import { eq, type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { caller } from '../../../test/http.ts';
import { prepareSql } from '../../platform/db.ts';
import { seededCatalog } from '../core/catalog-fixtures.ts';
import {
  type NotificationAddress,
  notificationAddress,
  providerAccount,
  providerOffering,
  providerReach,
  type SealedContactCard,
  sealedContactCard,
} from './queries.ts';
import { providerProfiles } from './schema.ts';

/**
 * The users module's published read models (queries.ts), run as other modules embed them: their columns
 * are what the bid, the feed and the order detail read, so a change of name or meaning fails here first.
 */
let t: TestApp;
let plumbing: string;
let electrical: string;
let bishkek: string;
beforeAll(async () => {
  t = await createTestApp();
  const { subcategories, areas } = await seededCatalog(t.db);
  plumbing = subcategories.find((s) => s.slug === 'plumbing')!.id;
  electrical = subcategories.find((s) => s.slug === 'electrical')!.id;
  bishkek = areas.find((a) => a.slug === 'bishkek')!.id;
});
afterAll(() => t.close());

const call = caller(() => t);
const run = <Row>(query: SQL) => prepareSql<Row>(t.db, query)();
const uuid = (id: string) => sql`${id}::uuid`;

/** A provider in Бишкек with an active plumbing service and a paused electrical one. */
async function provider() {
  const who = await signedInUser(t, ['client'], 'Бакыт Асанов');
  const made = await call('POST', '/api/v1/me/provider-profile', who.auth, {
    business_name: 'Бакыт Ремонт',
    service_area_ids: [bishkek],
  });
  expect(made.status).toBe(201);
  for (const subcategory_id of [plumbing, electrical]) {
    const service = await call('POST', '/api/v1/me/services', who.auth, {
      subcategory_id,
      base_price: 50_000,
    });
    expect(service.status).toBe(201);
    if (subcategory_id === electrical) {
      const paused = await call('PATCH', `/api/v1/me/services/${service.body.id}`, who.auth, {
        is_active: false,
      });
      expect(paused.status).toBe(200);
    }
  }
  return { ...who, providerId: made.body.id as string };
}

describe('providerOffering', () => {
  it('answers the provider profile and whether it has an active service in the subcategory', async () => {
    const p = await provider();
    const offering = (subcategory: string) =>
      run(sql`select * from (${providerOffering(uuid(p.user.id), uuid(subcategory))}) r`);
    expect(await offering(plumbing)).toEqual([{ provider_profile_id: p.providerId, offers: true }]);
    expect(await offering(electrical)).toEqual([{ provider_profile_id: p.providerId, offers: false }]);
  });

  it('answers no row for someone who is not a provider, or whose provider profile is gone', async () => {
    const client = await signedInUser(t);
    expect(
      await run(sql`select * from (${providerOffering(uuid(client.user.id), uuid(plumbing))}) r`),
    ).toEqual([]);
    const p = await provider();
    await t.db.update(providerProfiles).set({ isDeleted: true }).where(eq(providerProfiles.id, p.providerId));
    expect(await run(sql`select * from (${providerOffering(uuid(p.user.id), uuid(plumbing))}) r`)).toEqual(
      [],
    );
  });
});

describe('providerReach', () => {
  it('answers the provider profile, the subcategories of its active services and its service areas', async () => {
    const p = await provider();
    const rows = await run<Record<string, unknown>>(sql`select * from (${providerReach(uuid(p.user.id))}) r`);
    expect(rows).toEqual([
      { id: p.providerId, offered_subcategory_ids: [plumbing], service_area_ids: [bishkek] },
    ]);
    const client = await signedInUser(t);
    expect(await run(sql`select * from (${providerReach(uuid(client.user.id))}) r`)).toEqual([]);
  });
});

describe('providerAccount', () => {
  it('answers the account of a provider in the directory, none for one who is not', async () => {
    const p = await provider();
    expect(await run(sql`select * from (${providerAccount(uuid(p.providerId))}) r`)).toEqual([
      { user_id: p.user.id },
    ]);
    await t.db
      .update(providerProfiles)
      .set({ isAvailable: false })
      .where(eq(providerProfiles.id, p.providerId));
    expect(await run(sql`select * from (${providerAccount(uuid(p.providerId))}) r`)).toEqual([]);
  });
});

describe('sealedContactCard', () => {
  it('is the name, email, phone and contact details as one JSON value, the personal fields encrypted', async () => {
    const who = await signedInUser(t, ['client'], 'Айгуль Токтогулова');
    const contact_info = { phone: '+996700111222', telegram: '@aigul' };
    expect((await call('PATCH', '/api/v1/me/profile', who.auth, { contact_info })).status).toBe(200);
    const [row] = await run<{ card: SealedContactCard }>(
      sql`select ${sealedContactCard(uuid(who.user.id))} as card`,
    );
    const card = row!.card;
    expect(Object.keys(card).sort()).toEqual(['contact_info', 'email', 'full_name', 'phone']);
    expect(card).toMatchObject({ full_name: 'Айгуль Токтогулова', phone: null });
    const { cipher, profiles } = t.app.services;
    expect(cipher.decrypt(card.email!)).toBe(who.email);
    expect(JSON.parse(cipher.decrypt(card.contact_info!))).toEqual(contact_info);
    expect(profiles.openContactCard(card)).toEqual({
      full_name: 'Айгуль Токтогулова',
      phone: null,
      email: who.email,
      contact_info,
    });
    const [none] = await run<{ card: unknown }>(
      sql`select ${sealedContactCard(uuid('01930000-0000-7000-8000-000000000000'))} as card`,
    );
    expect(none!.card).toBeNull();
  });
});

describe('notificationAddress', () => {
  it('is the name, whether the account is live, the notification language and the address, encrypted', async () => {
    const who = await signedInUser(t, ['client'], 'Асель Садыкова');
    const read = async () =>
      (await run<NotificationAddress>(sql`select * from (${notificationAddress(uuid(who.user.id))}) r`))[0];
    const row = await read();
    expect(row).toMatchObject({
      full_name: 'Асель Садыкова',
      live: true,
      language: null,
      gender: null,
      phone: null,
    });
    expect(t.app.services.cipher.decrypt(row!.email!)).toBe(who.email);
    expect((await call('PATCH', '/api/v1/me/profile', who.auth, { preferred_language: 'ky' })).status).toBe(
      200,
    );
    expect((await read())!.language).toBe('ky');
    expect(
      (await call('PATCH', '/api/v1/me/profile', who.auth, { notification_language: 'en' })).status,
    ).toBe(200);
    expect((await read())!.language).toBe('en');
    expect((await call('PATCH', '/api/v1/me/profile', who.auth, { gender: 'female' })).status).toBe(200);
    expect((await read())!.gender).toBe('female');
    const missing = uuid('01930000-0000-7000-8000-000000000000');
    expect(await run(sql`select * from (${notificationAddress(missing)}) r`)).toEqual([]);
  });
});
