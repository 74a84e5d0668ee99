import specs from '@asyncapi/specs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { Text } from '../validation.ts';
import { createFrameRegistry, defineFrame, FrameRefused } from './frames.ts';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** Frames as a module will declare them; the realtime protocol has no module's frames yet. */
const ping = defineFrame({
  type: 'test.ping',
  sender: 'client',
  summary: 'A ping with a short text',
  description: 'The server answers it with a `test.pong`.',
  fields: {
    text: Text({ maxLength: 10 }),
    tags: Type.Optional(Type.Array(Type.String({ maxLength: 10 }), { maxItems: 2 })),
  },
});
const pong = defineFrame({
  type: 'test.pong',
  sender: 'server',
  summary: 'The answer to a ping',
  description: 'Carries the ping’s text back.',
  fields: { text: Type.String() },
});

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ prepare: (app) => app.services.frames.register(ping, pong) });
});
afterAll(() => t.close());

/** The refusal `decode` throws for `text`, as the socket would answer it. */
function refusal(text: string) {
  try {
    t.app.services.frames.decode(text);
  } catch (error) {
    if (error instanceof FrameRefused) return error.frame;
    throw error;
  }
  throw new Error(`decoded: ${text}`);
}

describe('the AsyncAPI document', () => {
  it('is served beside the OpenAPI document, a valid AsyncAPI 3.0 document', async () => {
    const res = await t.app.inject({ url: '/docs/asyncapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const document = res.json();
    // The specification's schema brings its own copy of the JSON Schema draft-07 meta-schema.
    const ajv = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false });
    addFormats(ajv);
    const validate = ajv.compile(specs.schemas['3.0.0']);
    expect(validate(document), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    expect(document.asyncapi).toBe('3.0.0');
  });

  it('lists every registered frame with the schema the server checks it against', async () => {
    const document = (await t.app.inject({ url: '/docs/asyncapi.json' })).json();
    const frames = t.app.services.frames.list();
    expect(frames.map((f) => f.type).sort()).toEqual(['realtime.error', 'test.ping', 'test.pong']);
    for (const frame of frames) {
      const name = frame.type.replace('.', '_');
      expect(document.components.messages[name], frame.type).toMatchObject({
        name: frame.type,
        summary: frame.summary,
        payload: JSON.parse(JSON.stringify(frame.schema)),
      });
      expect(document.channels.socket.messages[name]).toEqual({ $ref: `#/components/messages/${name}` });
      const action = frame.sender === 'client' ? 'receive' : 'send';
      expect(document.operations[`${action}_${name}`]).toMatchObject({
        action,
        messages: [{ $ref: `#/channels/socket/messages/${name}` }],
      });
    }
    expect(Object.keys(document.components.messages)).toHaveLength(frames.length);
  });
});

describe('a client’s frame', () => {
  it('is taken when it matches its schema, its text trimmed as in request bodies', () => {
    expect(t.app.services.frames.decode('{"type":"test.ping","text":"  hi  ","ref":"a1"}')).toEqual({
      type: 'test.ping',
      text: 'hi',
      ref: 'a1',
    });
  });

  it('is refused, naming each wrong field, when it does not match its schema', () => {
    expect(refusal('{"type":"test.ping","text":"far too long a text","colour":"red","ref":"r7"}')).toEqual({
      type: 'realtime.error',
      code: 'invalid_frame',
      detail: 'the frame is not valid',
      ref: 'r7',
      errors: [
        { in: 'frame', field: 'text', message: 'must NOT have more than 10 characters' },
        { in: 'frame', field: 'colour', message: 'is not a known field' },
      ],
    });
    // The checks of request bodies, not a second validator's: NUL, blank text, the size of a list first.
    expect(refusal('{"type":"test.ping","text":"a\\u0000b"}').errors).toEqual([
      { in: 'frame', field: 'text', message: 'must not contain NUL or unpaired surrogate characters' },
    ]);
    expect(refusal('{"type":"test.ping","text":"   "}').errors).toEqual([
      { in: 'frame', field: 'text', message: 'must not be blank' },
    ]);
    expect(
      refusal(JSON.stringify({ type: 'test.ping', text: 'x', tags: Array(1000).fill('t') })).errors,
    ).toEqual([{ in: 'frame', field: 'tags', message: 'must NOT have more than 2 items' }]);
    expect(refusal('{"type":"test.ping"}').errors).toEqual([
      { in: 'frame', field: 'text', message: "must have required property 'text'" },
    ]);
  });

  it('is refused when it is not a JSON object, or no client sends its type', () => {
    for (const text of ['not json', '[1]', 'null', '"test.ping"']) {
      expect(refusal(text), text).toMatchObject({ type: 'realtime.error', code: 'malformed_frame' });
    }
    for (const text of ['{"text":"x"}', '{"type":"test.nothing"}', '{"type":"test.pong","text":"x"}']) {
      expect(refusal(text), text).toMatchObject({
        code: 'unknown_frame',
        errors: [{ in: 'frame', field: 'type', message: 'is not a frame a client sends' }],
      });
    }
  });

  it('the refusal is itself a frame of the protocol, valid under its own schema', async () => {
    const registry = createFrameRegistry();
    const error = registry.list().find((f) => f.type === 'realtime.error')!;
    const ajv = new Ajv({ strict: false });
    const check = ajv.compile(JSON.parse(JSON.stringify(error.schema)));
    expect(check(refusal('{"type":"test.ping","text":""}'))).toBe(true);
    expect(check(refusal('no'))).toBe(true);
  });
});

describe('the registry', () => {
  it('takes frames only before the app starts, each type once, each bounded as request bodies are', () => {
    expect(() => t.app.services.frames.register(defineFrame({ ...ping, type: 'test.late' }))).toThrow(
      /before the app starts/,
    );
    const registry = createFrameRegistry();
    registry.register(ping);
    expect(() => registry.register(ping)).toThrow(/twice/);
    expect(() =>
      registry.register(
        defineFrame({ ...ping, type: 'test.unbounded', fields: { ids: Type.Array(Type.String()) } }),
      ),
    ).toThrow(/maxItems/);
    expect(() => defineFrame({ ...ping, type: 'Ping' })).toThrow(/module.what/);
  });
});
