/** API bodies are snake_case, Drizzle rows camelCase: these convert one to the other, keys and types alike. */
type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
type SnakeCase<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<T>}`
  : S;

export type Camelize<T> = { [K in keyof T as CamelCase<K & string>]: T[K] };
export type Snakeize<T> = { [K in keyof T as SnakeCase<K & string>]: T[K] };

export function camelize<T extends object>(input: T): Camelize<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined) out[key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  }
  return out as Camelize<T>;
}

export function snakeize<T extends object>(row: T): Snakeize<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row))
    out[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  return out as Snakeize<T>;
}
