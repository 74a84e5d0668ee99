import type { SQL } from 'drizzle-orm';
import type { AppError } from './errors.ts';

/**
 * A named point inside an owning module's transaction where a later module adds work of its own: the owner
 * declares it and runs it, the later module registers a handler in app.ts, and the owner never imports the
 * later module. Handlers run in order, inside the owner's transaction (the joining handle puts their queries
 * there), so the work commits with the action or not at all: a handler that throws fails the whole action,
 * and its error is the answer. For work the user's next screen needs at once; everything else is an event
 * (ARCHITECTURE.md, "Hooks: when to use a hook and when an event").
 */
export interface ExtensionPoint<Context> {
  readonly name: string;
  register(module: string, handler: (context: Context) => Promise<void>): void;
  run(context: Context): Promise<void>;
}

export function extensionPoint<Context>(name: string): ExtensionPoint<Context> {
  const handlers: { module: string; handler: (context: Context) => Promise<void> }[] = [];
  return {
    name,
    register(module, handler) {
      if (handlers.some((h) => h.module === module))
        throw new Error(`${module} is registered twice at ${name}`);
      handlers.push({ module, handler });
    },
    async run(context) {
      for (const { handler } of handlers) await handler(context);
    },
  };
}

/**
 * A rule a later module adds to a single-statement action of the owner's: a boolean SQL expression over the
 * columns the owner names (`Columns`), AND-ed into the statement's own checks, so the action stays one
 * statement and one round trip. False refuses the action with `refusal()`.
 */
export interface SqlGuard<Columns> {
  /** Names the guard in the statement's answer, so the owner knows which refused. */
  name: string;
  condition(columns: Columns): SQL;
  refusal(): AppError;
}

/**
 * Where guards of one statement are registered. The owner reads them once, when it prepares the statement;
 * with none registered the statement is what it was without the point.
 */
export interface SqlGuardPoint<Columns> {
  readonly name: string;
  register(module: string, guard: SqlGuard<Columns>): void;
  /** The guards, for the owner's statement; from then on the point takes no more. */
  seal(): readonly SqlGuard<Columns>[];
}

export function sqlGuardPoint<Columns>(name: string): SqlGuardPoint<Columns> {
  const guards: SqlGuard<Columns>[] = [];
  let sealed = false;
  return {
    name,
    register(module, guard) {
      if (sealed) throw new Error(`${module}: guards at ${name} are registered in app.ts, before first use`);
      if (guards.some((g) => g.name === guard.name))
        throw new Error(`${guard.name} is registered twice at ${name}`);
      guards.push(guard);
    },
    seal() {
      sealed = true;
      return guards;
    },
  };
}
