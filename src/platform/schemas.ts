import { type Static, type TSchema, Type } from 'typebox';

/**
 * The named shapes of the API: each resource, input and page is declared once as a component, registered
 * with every app (`app.addSchema`), and referenced with `Ref`, so the OpenAPI document has one
 * `components.schemas` entry per shape (named by its `$id`, app.ts) and generated clients get names instead
 * of inlined copies.
 */
const components = new Map<string, TSchema>();
let handedOut = false;

/**
 * A named component: `schema` with `$id: name`. Declared at module level, so that every one exists before
 * an app registers them; a second component of the same name is an error, as two shapes under one name would
 * be to a client.
 */
export function Component<T extends TSchema>(name: string, schema: T): T {
  if (handedOut)
    throw new Error(`component ${name}: declare components at module level, before any app is built`);
  if (components.has(name)) throw new Error(`two components are named ${name}`);
  const named = Object.assign(copy(withOptionalDefaults(schema)), { $id: name });
  components.set(name, named);
  return named;
}

/** A copy with TypeBox's own non-enumerable markers, so Type.Partial and the like still know the kind. */
const copy = <T extends object>(schema: T): T =>
  Object.defineProperties({}, Object.getOwnPropertyDescriptors(schema)) as T;

type Node = Record<string, unknown>;

/**
 * The schema with each object's fields that have a default left out of its `required`: a client may leave
 * them out, and the validator (Ajv's useDefaults) fills them in, so the server's type (`Static`) still has
 * them. Used for every component and every query string, so the document does not ask a client for them.
 */
export function withOptionalDefaults<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(withOptionalDefaults) as T;
  if (schema === null || typeof schema !== 'object') return schema;
  const node = schema as Node;
  const out = copy(node);
  for (const [key, value] of Object.entries(node)) {
    if (value !== null && typeof value === 'object') out[key] = withOptionalDefaults(value);
  }
  const properties = node.properties as Record<string, Node> | undefined;
  if (Array.isArray(node.required) && properties) {
    out.required = node.required.filter((field: string) => properties[field]?.default === undefined);
  }
  return out as T;
}

/** Where a component is used: a `$ref` to it, typed as the component. */
export function Ref<T extends TSchema>(component: T) {
  const name = (component as { $id?: unknown }).$id;
  if (typeof name !== 'string' || components.get(name) !== component) {
    throw new Error('Ref takes a schema made by Component()');
  }
  return Type.Unsafe<Static<T>>(Type.Ref(name));
}

/** Every component, for an app to register (app.ts) before its routes. */
export function componentSchemas(): TSchema[] {
  handedOut = true;
  return [...components.values()];
}

/** The component a `$ref` names, for the request validators, which compile each route's schema on its own. */
export const componentNamed = (name: string): TSchema | undefined => components.get(name);

export const Uuid = Type.String({ format: 'uuid' });
export const DateTime = Type.String({ format: 'date-time' });
/** A date as people say it, without a time. */
export const DateOnly = Type.String({ format: 'date' });
export const Money = Type.Integer({
  minimum: 0,
  maximum: 1_000_000_000,
  description: 'Tyiyn (1 KGS = 100 tyiyn)',
});

/** Rows per table that one soft delete took, or one restore brought back. */
const Counts = (description: string) => Type.Record(Type.String(), Type.Integer(), { description });

/** What deleting something answers: the deletion's id (a restore names it) and what it took. */
export const DeleteResult = (name: string, description: string) =>
  Component(name, Type.Object({ deletion_id: Uuid, counts: Counts(description) }));

/** What restoring a deletion answers: what came back. */
export const RestoreResult = (name: string, description: string) =>
  Component(name, Type.Object({ counts: Counts(description) }));
