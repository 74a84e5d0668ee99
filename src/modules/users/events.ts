import type { Db } from '../../platform/db.ts';
import { defineJob, type Jobs } from '../../platform/jobs.ts';

/** What an account holder must hear about. Each is a job enqueued in the transaction of the change. */
export const ACCOUNT_EVENTS = [
  /** Wrong passwords locked password sign-in to the account for a while. */
  'account_sign_in_throttled',
] as const;
export type AccountEventType = (typeof ACCOUNT_EVENTS)[number];

export interface AccountEvent {
  /** Chosen where the event is emitted (UUIDv7): subscribers deduplicate on it. */
  id: string;
  type: AccountEventType;
  /** The account, and the one to tell. */
  user_id: string;
  /** ISO 8601. */
  at: string;
  /** For `account_sign_in_throttled`: the identifier the attempts named, their number, and the lock's end. */
  identifier?: 'email' | 'phone';
  failures?: number;
  locked_until?: string;
}

/**
 * Until the notifications module takes these over, the handler only records that the event was
 * handled; the payload carries ids, so a later handler reloads whatever it needs.
 */
export const accountEventJob = defineJob<AccountEvent>({
  name: 'users.event',
  async handle(event, { log }) {
    log.info({ event }, 'account event');
  },
});

export type AccountEvents = ReturnType<typeof createAccountEvents>;

export function createAccountEvents(jobs: Jobs) {
  return {
    /** Enqueues the event in `tx`: it exists only if the change commits. */
    async emit(tx: Db, event: AccountEvent) {
      await jobs.enqueue(tx, accountEventJob, event);
    },
  };
}
