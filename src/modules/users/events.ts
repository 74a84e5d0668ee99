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
  /**
   * A session ended, one event per session: signed out, revoked by its holder or staff, its refresh token
   * reused, the password changed elsewhere, the account closed, erased, blocked or its roles changed, or it
   * ran out (the hourly `users.end-expired-sessions`).
   */
  'session_ended',
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
  /** For `account_signed_in_new_device` and `session_ended`: the session. */
  session_id?: string;
  /** For `session_ended`: why, as the session's `revoked_reason` records it. */
  reason?: string;
  /** For `account_signed_in_new_device`: the device as its sign-in named it. */
  device?: string;
  /** For `verification_decided`. */
  verification_id?: string;
  verification_type?: string;
  decision?: 'approved' | 'rejected';
}

export type AccountEvents = Emitter<AccountEvent>;
