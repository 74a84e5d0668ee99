import type { DomainEvent, Emitter } from '../../platform/events.ts';

/** What the users module tells: each is emitted in the transaction of the change. */
export const ACCOUNT_EVENTS = [
  /** Wrong passwords locked password sign-in to the account for a while. */
  'account_sign_in_throttled',
  /** The holder closed the account (`POST /me/close`); staff may restore it. */
  'account_closed',
  /** The holder erased their personal data (`POST /me/erase`): for good. */
  'account_erased',
  /** Staff blocked the account. */
  'account_blocked',
] as const;
export type AccountEventType = (typeof ACCOUNT_EVENTS)[number];

export interface AccountEvent extends DomainEvent<AccountEventType> {
  /** The account, and the one to tell. */
  user_id: string;
  /** ISO 8601. */
  at: string;
  /** For `account_sign_in_throttled`: the identifier the attempts named, their number, and the lock's end. */
  identifier?: 'email' | 'phone';
  failures?: number;
  locked_until?: string;
}

export type AccountEvents = Emitter<AccountEvent>;
