import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { DataRights } from '../../platform/data-rights.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, NotFoundError } from '../../platform/errors.ts';
import type { CaseRules } from '../../platform/own-case.ts';
import type { SoftDeletes } from '../../platform/soft-delete.ts';
import { liveUserRow, updateUser } from './account-queries.ts';
import type { ReauthenticationInput } from './contract.ts';
import type { AccountEvents } from './events.ts';
import type { AccountExtensions } from './extensions.ts';
import { lastDeletedProfile } from './profile-queries.ts';
import type { ProfileService } from './profile-service.ts';
import { userProfiles } from './schema.ts';
import type { AccountService } from './service.ts';

export type PrivacyService = ReturnType<typeof createPrivacyService>;

/** Leaving the platform: deactivation (restorable by staff), export of everything held, and erasure. */
export function createPrivacyService({
  db,
  accounts,
  profiles,
  dataRights,
  cases,
  events,
  softDeletes,
  extensions,
}: {
  db: Db;
  accounts: AccountService;
  profiles: ProfileService;
  dataRights: Pick<DataRights, 'export' | 'erase'>;
  cases: Pick<CaseRules, 'assertMayActOnAccount'>;
  events: AccountEvents;
  softDeletes: SoftDeletes;
  extensions: Pick<AccountExtensions, 'accountErasure'>;
}) {
  async function liveUser(tx: Db, userId: string, lock?: 'update') {
    const user = await liveUserRow(tx, userId, lock);
    if (!user) throw new NotFoundError('user');
    return user;
  }

  return {
    /**
     * `POST /me/close`, once the person has confirmed it is them: the account is deactivated and its
     * profile, client and provider profiles, services and verifications are soft-deleted under one deletion
     * id; every session ends.
     */
    async deactivateAccount(actor: Actor, confirmation: ReauthenticationInput) {
      await accounts.reauthenticate(actor, confirmation);
      const userId = actor.userId ?? '';
      await db.transaction(async (tx) => {
        const before = await liveUser(tx, userId);
        const after = await updateUser(tx, userId, { status: 'deactivated' });
        await writeAudit(tx, actor, [{ action: 'update', entity: 'users', entityId: userId, before, after }]);
        await profiles.deleteProfileTree(tx, actor, userId);
        await events.emit({ type: 'account_closed', user_id: userId, at: new Date().toISOString() });
      });
      await accounts.logoutAll(actor);
    },

    /**
     * Staff bring a deactivated account back with exactly what its deactivation took: not of someone they
     * have dealings with, and a staff account only by an admin (platform/own-case.ts).
     */
    async restoreAccount(actor: Actor, userId: string) {
      return db.transaction(async (tx) => {
        const before = await liveUser(tx, userId);
        await cases.assertMayActOnAccount(tx, actor, before, 'dealings');
        if (before.status !== 'deactivated') {
          throw new ConflictError('account_not_deactivated', 'only a deactivated account can be restored');
        }
        const deleted = await lastDeletedProfile(tx, userId);
        const restored = deleted
          ? await softDeletes.restore(tx, actor, userProfiles, deleted.id, 'user_profile')
          : { counts: {} };
        const after = await updateUser(tx, userId, { status: 'active' });
        await writeAudit(tx, actor, [{ action: 'update', entity: 'users', entityId: userId, before, after }]);
        return { user: accounts.view(after!), restored: restored.counts };
      });
    },

    /**
     * `POST /me/export`, once the person has confirmed it is them: everything held about the caller,
     * staff-only notes excepted, from every module.
     */
    async exportData(actor: Actor, confirmation: ReauthenticationInput) {
      await accounts.reauthenticate(actor, confirmation);
      return dataRights.export({ userId: actor.userId ?? '', actor });
    },

    /**
     * `POST /me/erase`, once the person has confirmed it is them: personal data is removed for good, by
     * every module as its declarations say (platform/data-rights.ts), in one transaction with the check
     * that the account is there to erase. The account's row is locked first, then every module may refuse
     * (`accountErasure`) before anything is erased: an action of another module that share-locks the
     * account cannot slip in between.
     */
    async eraseAccount(actor: Actor, confirmation: ReauthenticationInput) {
      await accounts.reauthenticate(actor, confirmation);
      const userId = actor.userId ?? '';
      await db.transaction(async (tx) => {
        await liveUser(tx, userId, 'update');
        await extensions.accountErasure.run({ actor, userId });
        await dataRights.erase({ userId, actor });
        await writeAudit(tx, actor, [
          {
            action: 'update',
            entity: 'users',
            entityId: userId,
            before: { erased: false },
            after: { erased: true },
          },
        ]);
        await events.emit({ type: 'account_erased', user_id: userId, at: new Date().toISOString() });
      });
      await accounts.logoutAll(actor);
    },
  };
}
