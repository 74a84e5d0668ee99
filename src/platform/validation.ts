import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import {
  _,
  Ajv,
  type CodeKeywordDefinition,
  type FuncKeywordDefinition,
  type KeywordCxt,
  type SchemaValidateFunction,
  type ValidateFunction,
} from 'ajv';
import { and, type Name } from 'ajv/dist/compile/codegen/index.js';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { Type } from 'typebox';
import { componentNamed } from './schemas.ts';

// ajv-formats ships CommonJS with a default export.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** How deep and how large a free-form JSON value (preferences, a setting's value) may be. */
export const JSON_LIMITS = { maxDepth: 20, maxBytes: 16 * 1024 };

/** Characters PostgreSQL cannot keep in text or jsonb: NUL, and surrogates without their pair. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what it looks for
const UNSTORABLE = /[\u0000\p{Cs}]/u;
const unstorable = (text: string) => UNSTORABLE.test(text);

/** At most this many field errors in one answer: the first ones, in the order of the schema. */
export const MAX_FIELD_ERRORS = 20;

/**
 * `x-text`: the value is trimmed before any other keyword sees it, and NUL or an unpaired surrogate is
 * refused. First among the keywords of every type, so length and pattern apply to the trimmed text.
 * Written inline (not a function Ajv calls with a context object): it runs on every text field of a bid.
 */
const textKeyword: CodeKeywordDefinition = {
  keyword: 'x-text',
  before: 'const',
  schemaType: 'boolean',
  error: { message: 'must not contain NUL or unpaired surrogate characters' },
  code(cxt: KeywordCxt) {
    const { gen, data, it } = cxt;
    gen.if(_`typeof ${data} == "string"`, () => {
      const trimmed = gen.const('trimmed', _`${data}.trim()`);
      gen.if(_`${trimmed} !== ${data}`, () => {
        gen.assign(data, trimmed);
        gen.if(it.parentData, () => gen.assign(_`${it.parentData}[${it.parentDataProperty}]`, data));
      });
    });
    // What `unstorable` checks, with the engine's own string scans.
    cxt.fail(_`typeof ${data} == "string" && (${data}.includes("\\u0000") || !${data}.isWellFormed())`);
  },
};

/**
 * `x-known`: the only fields an object may have, in place of `additionalProperties: false`. Each unknown
 * field is an error, but the search stops at MAX_FIELD_ERRORS of them: a body of thousands of unknown
 * fields is not walked to its end.
 */
const knownKeyword: CodeKeywordDefinition = {
  keyword: 'x-known',
  type: 'object',
  schemaType: 'array',
  error: {
    message: 'is not a known field',
    params: ({ params }) => _`{additionalProperty: ${params.additionalProperty}}`,
  },
  code(cxt: KeywordCxt) {
    const { gen, data, schema } = cxt;
    const names = schema as string[];
    const unknown = gen.let('unknown', 0);
    // As Ajv's additionalProperties does: comparisons for a few names, a lookup for many.
    const isUnknown = (key: Name) => {
      if (names.length > 8) return _`!${gen.scopeValue('obj', { ref: new Set(names) })}.has(${key})`;
      return names.length === 0 ? _`true` : and(...names.map((name) => _`${key} !== ${name}`));
    };
    gen.forIn('key', data, (key) =>
      gen.if(isUnknown(key), () => {
        cxt.setParams({ additionalProperty: key });
        cxt.error();
        gen.if(_`++${unknown} >= ${MAX_FIELD_ERRORS}`, () => gen.break());
      }),
    );
  },
};

const JSON_MESSAGES = {
  null: 'must not be null',
  depth: `must not be nested more than ${JSON_LIMITS.maxDepth} levels deep`,
  bytes: `must not be larger than ${JSON_LIMITS.maxBytes} bytes as JSON`,
  unstorable: 'must not contain NUL or unpaired surrogate characters',
};

/** Why a free-form value cannot be taken, or undefined when it can. Never descends past the depth limit. */
function jsonProblem(value: unknown, depth: number): keyof typeof JSON_MESSAGES | undefined {
  if (typeof value === 'string') return unstorable(value) ? 'unstorable' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= JSON_LIMITS.maxDepth) return 'depth';
  for (const [key, item] of Object.entries(value)) {
    if (unstorable(key)) return 'unstorable';
    const problem = jsonProblem(item, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * `x-json`: a free-form value within JSON_LIMITS, with nothing PostgreSQL's jsonb refuses; `"required"`
 * also refuses null. Not a `type` list: fast-json-stringify would write an object answered under such a
 * schema as `{}` and an array as text.
 */
const validateJson: SchemaValidateFunction = (schema: unknown, data: unknown) => {
  const problem =
    (schema === 'required' && data === null ? 'null' : undefined) ??
    jsonProblem(data, 0) ??
    (Buffer.byteLength(JSON.stringify(data) ?? '') > JSON_LIMITS.maxBytes ? 'bytes' : undefined);
  if (problem) validateJson.errors = [{ keyword: 'x-json', params: {}, message: JSON_MESSAGES[problem] }];
  return problem === undefined;
};
const jsonKeyword: FuncKeywordDefinition = {
  keyword: 'x-json',
  schemaType: ['boolean', 'string'],
  validate: validateJson,
};

function makeAjv(coerceTypes: boolean) {
  const ajv = new Ajv({
    // Unknown fields are an error, not silently dropped: a client that sends `status` learns it is ignored.
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: coerceTypes ? 'array' : false,
    allErrors: true,
    strict: false,
  });
  addFormats(ajv);
  for (const keyword of [textKeyword, knownKeyword, jsonKeyword]) ajv.addKeyword(keyword);
  return ajv;
}

const strict = makeAjv(false);
const coercing = makeAjv(true);

type Node = Record<string, unknown>;

const SIZE_KEYWORDS = ['maxItems', 'maxProperties'] as const;
/** Keywords checked beside the size limits; every other keyword is checked once the size is right. */
const OUTER_KEYWORDS = new Set<string>([
  ...SIZE_KEYWORDS,
  'type',
  'minItems',
  'minProperties',
  'x-known',
  'description',
  'default',
  'examples',
  'title',
]);
/** Keywords that hold subschemas: maps of them, lists of them, and single ones. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
const SCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems', 'items']);
const SCHEMA_ONE = new Set([
  'items',
  'additionalItems',
  'additionalProperties',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
]);
/** A schema without any of these says nothing of its value (TypeBox's Unknown and Any). */
const CONSTRAINTS = new Set([
  ...SCHEMA_MAPS,
  ...SCHEMA_LISTS,
  ...SCHEMA_ONE,
  'type',
  'const',
  'enum',
  '$ref',
]);

const isNode = (value: unknown): value is Node =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function mapSubschemas(key: string, value: unknown, visit: (sub: Node, at: string) => Node): unknown {
  if (SCHEMA_MAPS.has(key) && isNode(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([name, sub]) => [name, isNode(sub) ? visit(sub, `.${name}`) : sub]),
    );
  }
  if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
    return value.map((sub, i) => (isNode(sub) ? visit(sub, `[${i}]`) : sub));
  }
  if (SCHEMA_ONE.has(key) && isNode(value)) return visit(value, key === 'items' ? '[]' : `.${key}`);
  return value;
}

/**
 * A request schema as Ajv compiles it. With `allErrors` Ajv checks and reports each of 50,000 items of an
 * array allowed ten, and each of 5,000 unknown fields; here
 * - an array's maxItems and an object's maxProperties are checked before what lies inside:
 *   `{ maxItems, if: { maxItems }, then: { items, ... } }`, so an oversized one is one error;
 * - `additionalProperties: false` becomes `x-known`, which stops at MAX_FIELD_ERRORS unknown fields.
 * Strings keep their checks side by side: length and pattern are each one linear pass and one error.
 * Valid input costs a length check more per array with maxItems and per map with maxProperties.
 *
 * Refuses, when the route is registered, a request schema that does not bound its input: an array without
 * maxItems, a map of free keys without maxProperties, a free-form value without JsonValue limits.
 */
function sizeFirst(node: Node, where: string, insideJson = false): Node {
  const json = insideJson || node['x-json'] !== undefined;
  if (!json && !Object.keys(node).some((key) => CONSTRAINTS.has(key))) {
    throw new Error(`${where}: a free-form value needs the limits of JsonValue()`);
  }
  const out: Node = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = mapSubschemas(key, value, (sub, at) => sizeFirst(sub, `${where}${at}`, json));
  }
  const types = [out.type].flat();
  if (!json && (types.includes('array') || out.items !== undefined) && out.maxItems === undefined) {
    throw new Error(`${where}: an array needs maxItems`);
  }
  const freeKeys = out.patternProperties !== undefined || isNode(out.additionalProperties);
  if (freeKeys && out.maxProperties === undefined && !json) {
    throw new Error(`${where}: an object of free keys needs maxProperties`);
  }
  if (out.additionalProperties === false && out.patternProperties === undefined) {
    delete out.additionalProperties;
    out['x-known'] = Object.keys(isNode(out.properties) ? out.properties : {});
  }

  const size = Object.fromEntries(SIZE_KEYWORDS.filter((k) => out[k] !== undefined).map((k) => [k, out[k]]));
  const inner = Object.keys(out).filter((key) => !OUTER_KEYWORDS.has(key));
  if (Object.keys(size).length === 0 || inner.length === 0 || out.if !== undefined) return out;
  const guarded: Node = { if: size };
  const checked: Node = {};
  for (const [key, value] of Object.entries(out)) {
    if (inner.includes(key)) checked[key] = value;
    else guarded[key] = value;
  }
  // JSON Schema's `then`, not a promise's.
  Object.defineProperty(guarded, 'then', { value: checked, enumerable: true });
  return guarded;
}

/**
 * JSON bodies must carry the right types; query strings and path params are text, so they are coerced.
 * The schema is checked when the route is registered and compiled when the route is first called: Ajv's
 * code generation for every part of every route was a third of a start's time (bench/startup.ts).
 */
/**
 * A request schema with each `$ref` to a component (platform/schemas.ts) replaced by the component, so that
 * `sizeFirst` bounds what it refers to as well and the compiled validator is the one the inline schema made.
 */
function inlineComponents(node: Node, where: string): Node {
  const name = node.$ref;
  if (typeof name === 'string') {
    const component = componentNamed(name);
    if (component === undefined) throw new Error(`${where}: no component ${name}`);
    const { $id: _id, ...rest } = component as Node;
    return inlineComponents(rest, where);
  }
  const out: Node = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = mapSubschemas(key, value, (sub) => inlineComponents(sub, where));
  }
  return out;
}

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart, method, url }) => {
  const where = `${method} ${url} ${httpPart ?? 'body'}`;
  const sized = sizeFirst(inlineComponents(schema as Node, where), where);
  let validate: ValidateFunction | undefined;
  // Fastify reads a failed validation's `errors` from the function it was given.
  const lazy = Object.assign(
    (data: unknown) => {
      validate ??= (httpPart === 'body' ? strict : coercing).compile(sized);
      const valid = validate(data);
      lazy.errors = validate.errors;
      return valid;
    },
    { errors: null as ValidateFunction['errors'] },
  );
  return lazy;
};

const buildSerializer = SerializerSelector();

/**
 * Fastify's own response serializers (fast-json-stringify), each compiled when its route first answers with
 * that status: a route documents six problem answers it seldom gives, and compiling them all at start took
 * as long as the request validators.
 */
export const lazySerializers: typeof buildSerializer = (externalSchemas, options) => {
  const compile = buildSerializer(externalSchemas, options);
  return (route) => {
    let serialize: ReturnType<typeof compile> | undefined;
    return (data) => {
      serialize ??= compile(route);
      return serialize(data);
    };
  };
};

/**
 * The validator of a JSON value a client sends, as a request body gets it: the right types, no coercion,
 * sizes first; `where` names the schema when it does not bound its input. Realtime frames use it too.
 */
export const compileJsonSchema = (schema: object, where: string) =>
  strict.compile(sizeFirst(schema as Node, where));

const BLANK = '\\S';
const HTTP_URL = '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\s]';
const PATTERN_MESSAGES: Record<string, string> = {
  [BLANK]: 'must not be blank',
  [HTTP_URL]: 'must be an http:// or https:// URL',
};

/** What the client reads for an error of one of the patterns above; Ajv's own message otherwise. */
export const messageOf = (error: { params: { pattern?: unknown }; message?: string }) =>
  PATTERN_MESSAGES[String(error.params.pattern)] ?? error.message;

/** Ajv's errors as the client should read them: no `if` wrappers of the size checks, at most 20. */
export function reportableErrors<T extends { keyword: string }>(errors: readonly T[]): T[] {
  const out: T[] = [];
  for (const error of errors) {
    if (error.keyword === 'if') continue;
    out.push(error);
    if (out.length === MAX_FIELD_ERRORS) break;
  }
  return out;
}

interface TextOptions {
  maxLength: number;
  minLength?: number;
  description?: string;
  examples?: string[];
}

/**
 * Text a person writes (a title, a name, an address, a note). Leading and trailing whitespace is trimmed
 * before the length is checked, and a value with no visible character is refused: a field that is not
 * wanted is left out (or null where the field allows it), never sent blank. The pattern makes a
 * minLength of 1 needless.
 */
export const Text = (options: TextOptions) => Type.String({ ...options, pattern: BLANK, 'x-text': true });

/** A web address: only http and https, so a link shown to others can never run script or read files. */
export const HttpUrl = ({ maxLength, description }: { maxLength: number; description?: string }) =>
  Type.String({
    format: 'uri',
    pattern: HTTP_URL,
    maxLength,
    description: description ?? 'An http:// or https:// URL',
  });

const JSON_DESCRIPTION = `At most ${JSON_LIMITS.maxDepth} levels deep and ${JSON_LIMITS.maxBytes / 1024} KB as JSON`;

/** Any JSON value but null (a value the field requires), within JSON_LIMITS. */
export const JsonValue = (description = 'Any JSON value but null') =>
  Type.Unsafe<string | number | boolean | object>({
    'x-json': 'required',
    description: `${description}. ${JSON_DESCRIPTION}`,
  });

/** An object of free keys with any JSON values, within JSON_LIMITS as a whole. */
export const JsonObject = ({ maxProperties, description }: { maxProperties: number; description: string }) =>
  Type.Record(Type.String(), Type.Unknown(), {
    maxProperties,
    propertyNames: { maxLength: 64 },
    'x-json': true,
    description: `${description}. ${JSON_DESCRIPTION}`,
  });
