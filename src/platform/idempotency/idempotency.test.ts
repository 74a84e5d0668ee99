import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestDatabase, type TestApp, testConfig } from '../../../test/helper.ts';
import { type BuiltApp, buildApp } from '../../app.ts';
import { serviceCategories } from '../../modules/core/schema.ts';
import { catalogEntities } from '../../modules/core/service.ts';
import { actorOf } from '../auth.ts';
import type { Database } from '../db.ts';
import { idempotencyKeys } from './schema.ts';

/**
 * A keyed request's change and its stored answer commit together: a route that writes and then fails leaves
 * neither its row nor its key, and the retry with the same key runs as new.
 */
let database: Database;
let app: BuiltApp;
let failuresLeft = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildApp({ config: testConfig(), database, work: false, logger: false });
  app.post<{ Body: { slug: string } }>(
    '/api/v1/test/categories',
    { config: { access: ['admin'] } },
    async (request, reply) => {
      const row = await app.services.catalog.createEntity(actorOf(request), catalogEntities.categories, {
        slug: request.body.slug,
        name: { ru: 'Тест', en: 'Test' },
      });
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new Error('failed after the write');
      }
      return reply.code(201).send({ id: row.id });
    },
  );
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await database.close();
});

const asTestApp = () => ({ app, database, db: database.db }) as unknown as TestApp;

describe('a keyed request that fails after it wrote', () => {
  it('rolls its change back with its key, and the retry with the key runs as new', async () => {
    const admin = await signedInUser(asTestApp(), ['admin']);
    const slug = `failing-${Date.now()}`;
    const key = `failing-key-${Date.now()}`;
    const send = () =>
      app.inject({
        method: 'POST',
        url: '/api/v1/test/categories',
        headers: { ...admin.auth, 'idempotency-key': key },
        payload: { slug },
      });
    failuresLeft = 1;
    const failed = await send();
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toMatchObject({ code: 'internal_error' });
    expect(
      await database.db.select().from(serviceCategories).where(eq(serviceCategories.slug, slug)),
    ).toEqual([]);
    expect(await database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key))).toEqual([]);

    const retried = await send();
    expect(retried.statusCode, retried.body).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    const rows = await database.db.select().from(serviceCategories).where(eq(serviceCategories.slug, slug));
    expect(rows.map((r) => r.id)).toEqual([retried.json().id]);

    const replayed = await send();
    expect(replayed.statusCode).toBe(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.json()).toEqual(retried.json());
  });

  it('without a key, keeps what the services committed before the failure, as before', async () => {
    const admin = await signedInUser(asTestApp(), ['admin']);
    const slug = `unkeyed-${Date.now()}`;
    failuresLeft = 1;
    const failed = await app.inject({
      method: 'POST',
      url: '/api/v1/test/categories',
      headers: admin.auth,
      payload: { slug },
    });
    expect(failed.statusCode).toBe(500);
    expect(
      await database.db.select().from(serviceCategories).where(eq(serviceCategories.slug, slug)),
    ).toHaveLength(1);
  });
});
