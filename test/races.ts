const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An answer as a failure message shows it: status and problem code, not the whole response. */
function brief(answer: unknown) {
  const { status, body } = (answer ?? {}) as { status?: unknown; body?: { code?: unknown } };
  return status === undefined ? answer : { status, code: body?.code };
}

/**
 * How far apart the two requests of a race start, attempt by attempt: first together (the database picks),
 * then staggered ever wider, until the one started first lands first even on a loaded machine.
 */
export const RACE_LAGS_MS = [0, 3, 30, 100, 300, 1_000, 3_000] as const;

/**
 * Races requests `a` and `b` on a fresh `setup` each attempt, the one named `first` started first and the
 * other `lag` ms later (per RACE_LAGS_MS), until `landed` says the wanted order happened; fails if it never
 * did. A race test forces each order this way and asserts that order's whole outcome, instead of branching
 * on whichever order happened. The answers come back as `a` and `b`, whichever started first.
 */
export async function raceInOrder<S, A, B>(options: {
  setup: (attempt: number) => Promise<S>;
  a: (state: S) => Promise<A>;
  b: (state: S) => Promise<B>;
  first: 'a' | 'b';
  landed: (a: A, b: B) => boolean;
}): Promise<{ state: S; a: A; b: B; lagMs: number }> {
  const seen: string[] = [];
  for (const [attempt, lagMs] of RACE_LAGS_MS.entries()) {
    const state = await options.setup(attempt);
    const later = <T>(run: (state: S) => Promise<T>) => sleep(lagMs).then(() => run(state));
    const [a, b] = await Promise.all(
      options.first === 'a' ? [options.a(state), later(options.b)] : [later(options.a), options.b(state)],
    );
    if (options.landed(a, b)) return { state, a, b, lagMs };
    seen.push(JSON.stringify({ lagMs, a: brief(a), b: brief(b) }));
  }
  throw new Error(`the race never landed in the order wanted (${options.first} first):\n${seen.join('\n')}`);
}
