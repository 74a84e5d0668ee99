import type { Actor, Role } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { FieldCipher } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import { NotFoundError } from '../../platform/errors.ts';
import type { CaseRules } from '../../platform/own-case.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import { liveUserRow, updateUser, userRow } from './account-queries.ts';
import { findUsers, latestProfileOf } from './admin-queries.ts';
import type { AdminUserView } from './contract.ts';
import { emailIndex } from './identifiers.ts';
import { type USER_STATUSES, users } from './schema.ts';
import type { AccountService } from './service.ts';

export interface AdminUserFilter extends PageRequest {
  q?: string;
  email?: string;
  phone?: string;
  role?: Role;
  status?: (typeof USER_STATUSES)[number][];
  deleted?: boolean;
}

const userPages = idPages('users.admin', users.id);

type UserRow = typeof users.$inferSelect;

export type UserAdminService = ReturnType<typeof createUserAdminService>;

/** Staff work on accounts: find, look at, change roles. Blocking lives with sign-in, in the account service. */
export function createUserAdminService({
  db,
  cipher,
  accounts,
  cases,
}: {
  db: Db;
  cipher: FieldCipher;
  accounts: AccountService;
  cases: Pick<CaseRules, 'assertMayActOnAccount'>;
}) {
  async function adminView(user: UserRow): Promise<AdminUserView> {
    const profile = await latestProfileOf(db, user.id);
    return {
      ...accounts.view(user),
      is_deleted: user.isDeleted,
      deleted_at: user.deletedAt?.toISOString() ?? null,
      last_login_at: user.lastLoginAt?.toISOString() ?? null,
      user_type: profile?.userType ?? null,
      verification_status: profile?.verificationStatus ?? null,
    };
  }

  return {
    /** Email and phone are found through their keyed hash (they are stored encrypted); names by substring. */
    async listUsers(filter: AdminUserFilter): Promise<PageResult<AdminUserView>> {
      const page = userPages(filter);
      const rows = await findUsers(
        db,
        {
          ...filter,
          emailHash: filter.email ? emailIndex(cipher, filter.email) : undefined,
          phoneHash: filter.phone ? cipher.blindIndex(filter.phone) : undefined,
        },
        page,
      );
      const { data, next_cursor } = page.page(
        rows,
        (r) => r.id,
        (r) => r,
      );
      return { data: await Promise.all(data.map(adminView)), next_cursor };
    },

    async getUser(userId: string) {
      const user = await userRow(db, userId);
      if (!user) throw new NotFoundError('user');
      return adminView(user);
    },

    /**
     * Sets an account's roles. Taking a role away ends the account's sessions, so the old roles in
     * unexpired access tokens stop working at once. Never one's own (so no admin locks themselves out),
     * and an account that holds or would get a staff role only by an admin (platform/own-case.ts).
     */
    async setRoles(actor: Actor, userId: string, roles: Role[]) {
      const wanted = [...new Set(roles)];
      const { before, after } = await db.transaction(async (tx) => {
        const row = await liveUserRow(tx, userId, 'update');
        if (!row) throw new NotFoundError('user');
        await cases.assertMayActOnAccount(
          tx,
          actor,
          { id: userId, roles: [...row.roles, ...wanted] },
          'party',
        );
        const changed = await updateUser(tx, userId, { roles: wanted });
        await writeAudit(tx, actor, [
          { action: 'update', entity: 'users', entityId: userId, before: row, after: changed },
        ]);
        return { before: row, after: changed! };
      });
      if (before.roles.some((r) => !wanted.includes(r)))
        await accounts.endSessionsOf(userId, 'roles_changed');
      return adminView(after);
    },
  };
}
