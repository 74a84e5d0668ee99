import Fastify from 'fastify';
import { type TSchema, Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { registerErrorHandling } from './errors.ts';
import { HttpUrl, JsonObject, JsonValue, MAX_FIELD_ERRORS, Text, validatorCompiler } from './validation.ts';

/**
 * The request validator on a bare Fastify: what a route may declare, and how its answers stay small.
 * The whole app's routes are held to it in test/hostile-input.test.ts.
 */
async function appWith(body: TSchema) {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandling(app);
  app.post('/things', { schema: { body } }, async (request) => ({ got: request.body }));
  await app.ready();
  return app;
}

describe('a route does not start when its request schema leaves input unbounded', () => {
  it.each([
    [
      'an array without maxItems',
      Type.Object({ tags: Type.Array(Type.String()) }),
      'body.tags: an array needs maxItems',
    ],
    [
      'a map of free keys without maxProperties',
      Type.Object({ labels: Type.Record(Type.String(), Type.String()) }),
      'body.labels: an object of free keys needs maxProperties',
    ],
    [
      'a free-form value',
      Type.Object({ extra: Type.Unknown() }),
      'body.extra: a free-form value needs the limits of JsonValue()',
    ],
  ])('%s', async (_label, body, message) => {
    await expect(appWith(body)).rejects.toThrow(message);
  });

  it('starts with the bounded forms of the same', async () => {
    const app = await appWith(
      Type.Object({
        tags: Type.Array(Type.String(), { maxItems: 5 }),
        labels: JsonObject({ maxProperties: 5, description: 'Labels' }),
        extra: JsonValue(),
      }),
    );
    const res = await app.inject({
      method: 'POST',
      url: '/things',
      payload: { tags: [], labels: { a: [1] }, extra: 2 },
    });
    expect(res.statusCode).toBe(200);
    await app.close();
  });
});

describe('answers', () => {
  it(`carry at most ${MAX_FIELD_ERRORS} field errors`, async () => {
    const fields = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, Type.Integer()]));
    const app = await appWith(Type.Object(fields, { additionalProperties: false }));
    const payload = Object.fromEntries(Object.keys(fields).map((name) => [name, 'not a number']));
    const res = await app.inject({ method: 'POST', url: '/things', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toHaveLength(MAX_FIELD_ERRORS);
    expect(res.json().errors[0]).toEqual({ in: 'body', field: 'f0', message: 'must be integer' });
    await app.close();
  });

  it('check a text’s length after trimming it, and a URL’s scheme', async () => {
    const app = await appWith(
      Type.Object({
        title: Text({ minLength: 3, maxLength: 5 }),
        site: Type.Optional(HttpUrl({ maxLength: 100 })),
      }),
    );
    const post = (payload: object) => app.inject({ method: 'POST', url: '/things', payload });
    expect((await post({ title: '   abcde   ' })).json()).toEqual({ got: { title: 'abcde' } });
    const short = await post({ title: '  ab  ', site: 'javascript:alert(1)' });
    expect(short.json().errors).toEqual([
      { in: 'body', field: 'title', message: 'must NOT have fewer than 3 characters' },
      { in: 'body', field: 'site', message: 'must be an http:// or https:// URL' },
    ]);
    await app.close();
  });
});
