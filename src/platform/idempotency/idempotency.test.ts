import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestDatabase, type TestApp, testConfig } from '../../../test/helper.ts';
import { type BuiltApp, buildApp } from '../../app.ts';
import { auditLog } from '../audit/schema.ts';
import { writeAudit } from '../audit/service.ts';
import { actorOf } from '../auth.ts';
import { newId } from '../columns.ts';
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
  // A write through the joining handle, as a service makes one, then maybe a failure.
  app.post<{ Body: { id: string } }>(
    '/api/v1/test/things',
    { config: { access: ['admin'] } },
    async (request, reply) => {
      const { id } = request.body;
      await writeAudit(database.db, actorOf(request), [
        { action: 'create', entity: 'test_things', entityId: id },
      ]);
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new Error('failed after the write');
      }
      return reply.code(201).send({ id });
    },
  );
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await database.close();
});

const asTestApp = () => ({ app, database, db: database.db }) as unknown as TestApp;
const written = (id: string) => database.db.select().from(auditLog).where(eq(auditLog.entityId, id));

describe('a keyed request that fails after it wrote', () => {
  it('rolls its change back with its key, and the retry with the key runs as new', async () => {
    const admin = await signedInUser(asTestApp(), ['admin']);
    const id = newId();
    const key = `failing-key-${Date.now()}`;
    const send = () =>
      app.inject({
        method: 'POST',
        url: '/api/v1/test/things',
        headers: { ...admin.auth, 'idempotency-key': key },
        payload: { id },
      });
    failuresLeft = 1;
    const failed = await send();
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toMatchObject({ code: 'internal_error' });
    expect(await written(id)).toEqual([]);
    expect(await database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key))).toEqual([]);

    const retried = await send();
    expect(retried.statusCode, retried.body).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(retried.json()).toEqual({ id });
    expect(await written(id)).toHaveLength(1);

    const replayed = await send();
    expect(replayed.statusCode).toBe(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.json()).toEqual(retried.json());
  });

  it('without a key, keeps what the services committed before the failure, as before', async () => {
    const admin = await signedInUser(asTestApp(), ['admin']);
    const id = newId();
    failuresLeft = 1;
    const failed = await app.inject({
      method: 'POST',
      url: '/api/v1/test/things',
      headers: admin.auth,
      payload: { id },
    });
    expect(failed.statusCode).toBe(500);
    expect(await written(id)).toHaveLength(1);
  });
});
