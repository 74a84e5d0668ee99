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
  /** A sign-in from a device (name and user agent) the account had not signed in from before. */
  'account_signed_in_new_device',
  /** Staff approved or rejected a verification request of the account's holder. */
  'verification_decided',
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
  /** For `account_signed_in_new_device`: the new session, and the device as its sign-in named it. */
  session_id?: string;
  device?: string;
  /** For `verification_decided`. */
  verification_id?: string;
  verification_type?: string;
  decision?: 'approved' | 'rejected';
}

export type AccountEvents = Emitter<AccountEvent>;
