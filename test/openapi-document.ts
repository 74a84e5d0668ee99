/**
 * The served OpenAPI document with each `$ref` to a component replaced by the component, for tests that walk
 * the shapes of bodies and answers field by field. Components do not refer to themselves, so this ends.
 */
export function inlineComponents<T>(document: T): T {
  const schemas =
    (document as { components?: { schemas?: Record<string, unknown> } }).components?.schemas ?? {};
  const inline = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(inline);
    if (node === null || typeof node !== 'object') return node;
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
      return inline(schemas[ref.slice('#/components/schemas/'.length)]);
    }
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, inline(value)]));
  };
  return { ...document, paths: inline((document as { paths: unknown }).paths) } as T;
}
