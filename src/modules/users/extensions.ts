import type { Actor } from '../../platform/actor.ts';
import { extensionPoint } from '../../platform/extension-points.ts';

/** An erasure about to happen: the account is live and locked, and nothing of it is erased yet. */
export interface AccountErasure {
  actor: Actor;
  userId: string;
}

export type AccountExtensions = ReturnType<typeof createAccountExtensions>;

/** Where later modules add their work to the users module's actions; made once per app and wired in app.ts. */
export function createAccountExtensions() {
  return {
    /**
     * Runs in the erasure's transaction before anything is erased, with the account's row locked for update
     * (so another module's transaction that share-locks it, `lockStanding`, lands wholly before or after).
     * A handler that throws refuses the erasure: a module whose rows forbid it (agreed work not finished).
     */
    accountErasure: extensionPoint<AccountErasure>('users.accountErasure'),
  };
}
