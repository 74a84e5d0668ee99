import type { FieldCipher } from '../../platform/crypto.ts';
import { ForbiddenError } from '../../platform/errors.ts';
import type { UserRow, viewColumns } from './account-queries.ts';
import type { AccountStanding, UserView } from './contract.ts';

export function accountView(cipher: FieldCipher, user: Pick<UserRow, keyof typeof viewColumns>): UserView {
  return {
    id: user.id,
    email: user.emailEncrypted ? cipher.decrypt(user.emailEncrypted) : null,
    phone: user.phoneEncrypted ? cipher.decrypt(user.phoneEncrypted) : null,
    full_name: user.fullName,
    roles: user.roles,
    status: user.status,
    email_verified: user.emailVerifiedAt !== null,
    phone_verified: user.phoneVerifiedAt !== null,
    has_password: user.passwordHash !== null,
    created_at: user.createdAt.toISOString(),
  };
}

export const standingOf = (row: Pick<UserRow, 'status' | 'isDeleted'>): AccountStanding =>
  row.isDeleted || row.status === 'deactivated' ? 'closed' : row.status;

/** Why an account may not sign in, or undefined when it may. */
export function signInRefusal(user: UserRow): ForbiddenError | undefined {
  if (user.status === 'blocked')
    return new ForbiddenError('account_blocked', 'this account is blocked; contact support');
  if (user.status === 'deactivated') {
    return new ForbiddenError(
      'account_deactivated',
      'this account is deactivated; contact support to reopen it',
    );
  }
  return undefined;
}
