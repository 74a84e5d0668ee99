import { and, desc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import { eraseAuditValues, listAudit, writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, NotFoundError } from '../../platform/errors.ts';
import type { CaseRules } from '../../platform/own-case.ts';
import type { SearchVocabulary } from '../../platform/search/service.ts';
import { restore } from '../../platform/soft-delete.ts';
import { DIRECTORY_SEARCH_SCOPE, providerTextsHold } from './directory-service.ts';
import type { AccountEvents } from './events.ts';
import type { ProfileService } from './profile-service.ts';
import {
  clientProfiles,
  favoriteProviders,
  otpCodes,
  providerProfiles,
  providerServices,
  signInThrottles,
  userProfiles,
  userSessions,
  users,
  userVerifications,
} from './schema.ts';
import type { AccountService } from './service.ts';

/** What an export holds at most per list; more than this is a sign of abuse, not of a person's data. */
const EXPORT_LIMIT = 10_000;
const ERASED_NAME = 'Deleted user';

export type PrivacyService = ReturnType<typeof createPrivacyService>;

/** Leaving the platform: deactivation (restorable by staff), export of everything held, and erasure. */
export function createPrivacyService({
  db,
  accounts,
  profiles,
  vocabulary,
  cases,
  events,
}: {
  db: Db;
  accounts: AccountService;
  profiles: ProfileService;
  vocabulary: SearchVocabulary;
  cases: Pick<CaseRules, 'assertMayActOnAccount'>;
  events: AccountEvents;
}) {
  async function liveUser(tx: Db, userId: string) {
    const [user] = await tx
      .select()
      .from(users)
      .where(and(eq(users.id, userId), eq(users.isDeleted, false)));
    if (!user) throw new NotFoundError('user');
    return user;
  }

  /** Every profile row of a user, deleted ones included: what export and erase cover. */
  async function profileRowsOf(tx: Db, userId: string) {
    const userProfileRows = await tx.select().from(userProfiles).where(eq(userProfiles.userId, userId));
    const profileIds = userProfileRows.map((p) => p.id);
    if (profileIds.length === 0) {
      return { userProfileRows, clientRows: [], providerRows: [], serviceRows: [], verificationRows: [] };
    }
    const clientRows = await tx
      .select()
      .from(clientProfiles)
      .where(inArray(clientProfiles.userProfileId, profileIds));
    const providerRows = await tx
      .select()
      .from(providerProfiles)
      .where(inArray(providerProfiles.userProfileId, profileIds));
    const providerIds = providerRows.map((p) => p.id);
    const serviceRows =
      providerIds.length === 0
        ? []
        : await tx
            .select()
            .from(providerServices)
            .where(inArray(providerServices.providerProfileId, providerIds));
    const verificationRows = await tx
      .select()
      .from(userVerifications)
      .where(inArray(userVerifications.userProfileId, profileIds));
    return { userProfileRows, clientRows, providerRows, serviceRows, verificationRows };
  }

  return {
    /**
     * `DELETE /me`: the account is deactivated and its profile, client and provider profiles, services and
     * verifications are soft-deleted under one deletion id; every session ends.
     */
    async deactivateAccount(actor: Actor) {
      const userId = actor.userId ?? '';
      await db.transaction(async (tx) => {
        const before = await liveUser(tx, userId);
        const [after] = await tx
          .update(users)
          .set({ status: 'deactivated' })
          .where(eq(users.id, userId))
          .returning();
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
        const [deleted] = await tx
          .select({ id: userProfiles.id })
          .from(userProfiles)
          .where(
            and(
              eq(userProfiles.userId, userId),
              eq(userProfiles.isDeleted, true),
              isNotNull(userProfiles.deletionId),
            ),
          )
          .orderBy(desc(userProfiles.deletedAt))
          .limit(1);
        const restored = deleted
          ? await restore(tx, actor, userProfiles, deleted.id, 'user_profile')
          : { counts: {} };
        const [after] = await tx
          .update(users)
          .set({ status: 'active' })
          .where(eq(users.id, userId))
          .returning();
        await writeAudit(tx, actor, [{ action: 'update', entity: 'users', entityId: userId, before, after }]);
        return { user: accounts.view(after!), restored: restored.counts };
      });
    },

    /** `GET /me/export`: everything held about the caller, staff-only notes excepted. */
    async exportData(actor: Actor) {
      const userId = actor.userId ?? '';
      const account = await accounts.me(actor);
      const rows = await profileRowsOf(db, userId);
      const live = <T extends { isDeleted: boolean }>(list: T[]) => list.filter((r) => !r.isDeleted);
      const clientIds = rows.clientRows.map((c) => c.id);
      const favorites =
        clientIds.length === 0
          ? []
          : await db
              .select()
              .from(favoriteProviders)
              .where(inArray(favoriteProviders.clientProfileId, clientIds))
              .limit(EXPORT_LIMIT);
      const sessions = await db
        .select()
        .from(userSessions)
        .where(eq(userSessions.userId, userId))
        .orderBy(desc(userSessions.id))
        .limit(EXPORT_LIMIT);
      const activity = await listAudit(db, { actorId: userId }, { limit: EXPORT_LIMIT });
      const profile = await profiles.getProfile(actor);
      return {
        exported_at: new Date().toISOString(),
        account,
        profile,
        client_profiles: rows.clientRows.map((c) => ({ ...profiles.clientView(c), is_deleted: c.isDeleted })),
        provider_profiles: rows.providerRows.map((p) => ({
          ...profiles.providerView(p),
          is_deleted: p.isDeleted,
        })),
        services: rows.serviceRows.map((s) => ({ ...profiles.serviceView(s), is_deleted: s.isDeleted })),
        favorites: favorites.map((f) => ({
          provider_id: f.providerProfileId,
          added_at: f.createdAt.toISOString(),
        })),
        verifications: live(rows.verificationRows).map((v) => ({
          id: v.id,
          verification_type: v.verificationType,
          status: v.status,
          evidence_file_ids: v.evidenceFileIds,
          user_note: v.userNote,
          public_note: v.publicNote,
          created_at: v.createdAt.toISOString(),
          reviewed_at: v.reviewedAt?.toISOString() ?? null,
        })),
        sessions: sessions.map((s) => ({
          id: s.id,
          device_name: s.deviceName,
          user_agent: s.userAgent,
          ip: s.ip,
          created_at: s.createdAt.toISOString(),
          last_used_at: s.lastUsedAt.toISOString(),
          revoked_at: s.revokedAt?.toISOString() ?? null,
        })),
        activity: activity.slice(0, EXPORT_LIMIT).map((a) => ({
          created_at: a.createdAt.toISOString(),
          action: a.action,
          entity: a.entity,
          entity_id: a.entityId,
          changes: a.changes,
        })),
      };
    },

    /**
     * `POST /me/erase`: personal data is overwritten for good. The rows stay, under the same id that
     * now names no one, so orders and payments the business must keep still add up.
     */
    async eraseAccount(actor: Actor) {
      const userId = actor.userId ?? '';
      await db.transaction(async (tx) => {
        const before = await liveUser(tx, userId);
        const rows = await profileRowsOf(tx, userId);
        const now = new Date();
        const [after] = await tx
          .update(users)
          .set({
            emailEncrypted: null,
            emailHash: null,
            phoneEncrypted: null,
            phoneHash: null,
            passwordHash: null,
            fullName: ERASED_NAME,
            status: 'deactivated',
            isDeleted: true,
            deletedAt: now,
          })
          .where(eq(users.id, userId))
          .returning();
        if (before.phoneHash) await tx.delete(otpCodes).where(eq(otpCodes.phoneHash, before.phoneHash));
        const identifiers = [before.emailHash, before.phoneHash].filter((h): h is string => h !== null);
        if (identifiers.length > 0)
          await tx.delete(signInThrottles).where(inArray(signInThrottles.subject, identifiers));
        const profileIds = rows.userProfileRows.map((p) => p.id);
        const providerIds = rows.providerRows.map((p) => p.id);
        if (profileIds.length > 0) {
          await tx
            .update(userProfiles)
            .set({
              bio: null,
              gender: null,
              photoFileId: null,
              contactInfoEncrypted: null,
              addressEncrypted: null,
              preferences: {},
              isDeleted: true,
              deletedAt: sql`coalesce(${userProfiles.deletedAt}, now())`,
            })
            .where(inArray(userProfiles.id, profileIds));
          await tx
            .update(userVerifications)
            .set({ userNote: null, evidenceFileIds: [], isDeleted: true })
            .where(inArray(userVerifications.userProfileId, profileIds));
          await tx
            .update(clientProfiles)
            .set({ preferences: {}, isDeleted: true })
            .where(inArray(clientProfiles.userProfileId, profileIds));
        }
        if (providerIds.length > 0) {
          await tx
            .update(providerProfiles)
            .set({
              businessName: ERASED_NAME,
              description: null,
              searchText: '',
              isDeleted: true,
              isAvailable: false,
            })
            .where(inArray(providerProfiles.id, providerIds));
          await tx
            .update(providerServices)
            .set({ description: null, isDeleted: true })
            .where(inArray(providerServices.providerProfileId, providerIds));
          await vocabulary.dropWords(
            tx,
            DIRECTORY_SEARCH_SCOPE,
            rows.providerRows.map((p) => p.searchText).join(' '),
            providerTextsHold,
          );
        }
        await tx
          .update(userSessions)
          .set({ userAgent: null, ip: null, deviceName: null })
          .where(eq(userSessions.userId, userId));
        // The trail keeps who did what and when; the erased values themselves go.
        await eraseAuditValues(tx, [
          userId,
          ...profileIds,
          ...rows.clientRows.map((c) => c.id),
          ...providerIds,
          ...rows.serviceRows.map((s) => s.id),
          ...rows.verificationRows.map((v) => v.id),
        ]);
        await writeAudit(tx, actor, [
          {
            action: 'update',
            entity: 'users',
            entityId: userId,
            before: { erased: false },
            after: { erased: true },
          },
        ]);
        await events.emit({ type: 'account_erased', user_id: userId, at: now.toISOString() });
        return after;
      });
      await accounts.logoutAll(actor);
    },
  };
}
