import { type Static, type TObject, type TProperties, type TSchema, Type } from 'typebox';
import { FieldError, fieldErrors } from '../errors.ts';
import { compileJsonSchema, MAX_FIELD_ERRORS } from '../validation.ts';

/**
 * Who sends a frame over the realtime socket: the app (`client`), which the server checks against the
 * frame's schema before anything reads it, or the `server`, whose frames are typed from the same schema.
 */
export type FrameSender = 'client' | 'server';

export interface FrameDefinition<T extends string = string, P extends TProperties = TProperties> {
  /** `module.what`: `chat.send_message`; the frame's `type` field. */
  type: T;
  sender: FrameSender;
  summary: string;
  description: string;
  /** The frame's fields besides `type`. */
  fields: P;
}

type FrameSchema<T extends string, P extends TProperties> = TObject<
  P & { type: ReturnType<typeof Type.Literal<T>> }
>;

export interface Frame<T extends string = string, P extends TProperties = TProperties>
  extends FrameDefinition<T, P> {
  /** The whole frame: `{ type, ...fields }`, no other field. */
  schema: FrameSchema<T, P>;
}

/** What one frame is on the wire: `Static` of its schema. */
export type FrameOf<F extends Frame> = Static<F['schema']>;

const TYPE = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

/** Every client frame may carry one: the refusal of the frame names it, so the app knows which it was. */
const Ref = Type.Optional(
  Type.String({ minLength: 1, maxLength: 64, description: 'The app’s own name for this frame' }),
);

/**
 * A frame of the realtime protocol: a JSON text message `{ "type": "chat.send_message", ...fields }`, and a
 * client's may carry a `ref`. The
 * module that owns it declares it beside its routes, and app.ts registers it (`frames.register`), so the
 * socket checks it and the AsyncAPI document lists it from this one schema.
 */
export function defineFrame<const T extends string, P extends TProperties>(
  definition: FrameDefinition<T, P>,
): Frame<T, P> {
  if (!TYPE.test(definition.type))
    throw new Error(`a frame type is module.what in snake_case: ${definition.type}`);
  const schema = Type.Object(
    {
      type: Type.Literal(definition.type),
      ...(definition.sender === 'client' && { ref: Ref }),
      ...definition.fields,
    },
    { additionalProperties: false, description: definition.summary },
  ) as unknown as FrameSchema<T, P>;
  return { ...definition, schema };
}

/**
 * The server's answer to a frame it cannot take, on the socket: the same codes and field errors as an
 * HTTP problem, so an app reads both one way.
 */
export const errorFrame = defineFrame({
  type: 'realtime.error',
  sender: 'server',
  summary: 'A frame the server could not take',
  description:
    '`code` is `malformed_frame` (not a JSON object), `unknown_frame` (no such `type` a client sends) or ' +
    '`invalid_frame` (a field is wrong: `errors` names each, `in` is `frame`); a module adds its own codes ' +
    'for frames it refuses by its rules, as its routes do. `ref` is the refused frame’s `ref`, when it had one.',
  fields: {
    code: Type.String({ description: 'Stable machine-readable error code' }),
    detail: Type.String(),
    ref: Ref,
    errors: Type.Optional(Type.Array(FieldError, { maxItems: MAX_FIELD_ERRORS })),
  },
});
export type ErrorFrame = FrameOf<typeof errorFrame>;

/** A frame refused before anything read it; `frame` is what the socket answers. */
export class FrameRefused extends Error {
  readonly frame: ErrorFrame;
  constructor(code: string, detail: string, errors?: ErrorFrame['errors'], ref?: string) {
    super(detail);
    this.frame = { type: 'realtime.error', code, detail, ...(ref && { ref }), ...(errors && { errors }) };
  }
}

interface Registered {
  frame: Frame;
  /** A client's frame is checked; the server's own are typed from the same schema instead. */
  check?: ReturnType<typeof compileJsonSchema>;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export type FrameRegistry = ReturnType<typeof createFrameRegistry>;

/**
 * Every frame of the realtime protocol, each registered once in app.ts before the app starts. The socket
 * takes a client's text through `decode`, which checks it with the validator HTTP bodies get
 * (platform/validation.ts); the AsyncAPI document (`asyncApiDocument`) is made from the same schemas.
 */
export function createFrameRegistry() {
  const frames = new Map<string, Registered>();
  let sealed = false;

  const registry = {
    register(...list: Frame[]) {
      if (sealed) throw new Error('frames are registered in app.ts, before the app starts');
      for (const frame of list) {
        if (frames.has(frame.type)) throw new Error(`the frame ${frame.type} is registered twice`);
        const check =
          frame.sender === 'client' ? compileJsonSchema(frame.schema, `frame ${frame.type}`) : undefined;
        frames.set(frame.type, { frame, check });
      }
    },
    /** Called when the app starts: the document and the socket know every frame from then on. */
    seal() {
      sealed = true;
    },
    list(): Frame[] {
      return [...frames.values()].map((entry) => entry.frame);
    },
    /**
     * A client's text message as the frame it is, or a `FrameRefused` to answer it with: not JSON, a type
     * no client sends, or a field its schema refuses (each named, at most 20). Text fields come trimmed, as
     * in request bodies.
     */
    decode(text: string): { type: string } & Record<string, unknown> {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new FrameRefused('malformed_frame', 'a frame is a JSON object');
      }
      if (!isObject(value)) throw new FrameRefused('malformed_frame', 'a frame is a JSON object');
      const ref = typeof value.ref === 'string' ? value.ref.slice(0, 64) : undefined;
      const entry = typeof value.type === 'string' ? frames.get(value.type) : undefined;
      if (!entry?.check) {
        throw new FrameRefused(
          'unknown_frame',
          'no frame of this type is sent by a client',
          [{ in: 'frame', field: 'type', message: 'is not a frame a client sends' }],
          ref,
        );
      }
      if (!entry.check(value)) {
        throw new FrameRefused(
          'invalid_frame',
          'the frame is not valid',
          fieldErrors('frame', entry.check.errors ?? []),
          ref,
        );
      }
      return value as { type: string } & Record<string, unknown>;
    },
  };
  registry.register(errorFrame);
  return registry;
}

/** An AsyncAPI document needs a JSON Schema it can embed: the frame's, without TypeBox's symbols. */
const plain = (schema: TSchema) => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;

/**
 * The realtime protocol as an AsyncAPI 3 document: one channel, the socket, and for each frame a message
 * with its schema, and an operation from the server's side (`receive` what clients send, `send` the rest).
 */
export function asyncApiDocument(frames: Frame[], info: { title: string; version: string }) {
  const name = (frame: Frame) => frame.type.replace('.', '_');
  const messages = Object.fromEntries(
    frames.map((frame) => [
      name(frame),
      {
        name: frame.type,
        title: frame.type,
        summary: frame.summary,
        description: frame.description,
        contentType: 'application/json',
        payload: plain(frame.schema),
      },
    ]),
  );
  return {
    asyncapi: '3.0.0',
    info: {
      title: info.title,
      version: info.version,
      description:
        'The frames of the realtime socket: JSON text messages, each an object with a `type`. A client frame ' +
        'that does not match its schema is refused with a `realtime.error` frame, and nothing reads it.',
    },
    defaultContentType: 'application/json',
    channels: {
      socket: {
        // The socket's path is the module's that opens it; the frames are the same wherever it is.
        address: null,
        title: 'The realtime socket',
        messages: Object.fromEntries(
          frames.map((frame) => [name(frame), { $ref: `#/components/messages/${name(frame)}` }]),
        ),
      },
    },
    operations: Object.fromEntries(
      frames.map((frame) => [
        `${frame.sender === 'client' ? 'receive' : 'send'}_${name(frame)}`,
        {
          action: frame.sender === 'client' ? 'receive' : 'send',
          channel: { $ref: '#/channels/socket' },
          summary: frame.summary,
          messages: [{ $ref: `#/channels/socket/messages/${name(frame)}` }],
        },
      ]),
    ),
    components: { messages },
  };
}
