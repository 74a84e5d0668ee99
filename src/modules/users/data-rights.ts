import { desc, eq, inArray, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import { defineDataRights, EXPORT_LIMIT } from '../../platform/data-rights.ts';
import type { Db } from '../../platform/db.ts';
import { Nullable } from '../../platform/http.ts';
import { Component, DateTime, Ref, Uuid } from '../../platform/schemas.ts';
import type { SearchVocabulary } from '../../platform/search/service.ts';
import { SessionResponse, UserResponse } from './contract.ts';
import { DIRECTORY_SEARCH_SCOPE, providerTextsHold } from './directory-queries.ts';
import {
  ClientProfileResponse,
  ProfileResponse,
  ProviderProfileResponse,
  ServiceResponse,
} from './profile-contract.ts';
import type { ProfileService } from './profile-service.ts';
import {
  clientProfiles,
  favoriteProviders,
  otpCodes,
  providerProfiles,
  providerServices,
  refreshTokens,
  signInThrottles,
  userProfiles,
  userSessions,
  users,
  userVerifications,
  VERIFICATION_STATUSES,
  VERIFICATION_TYPES,
} from './schema.ts';
import type { AccountService } from './service.ts';
import { sessionDevice } from './session-service.ts';
import { SIGN_IN_THROTTLE } from './sign-in-throttle.ts';

const ERASED_NAME = 'Deleted user';

const WasDeleted = Type.Object({ is_deleted: Type.Boolean() });

const ExportedVerification = Component(
  'ExportedVerification',
  Type.Object({
    id: Uuid,
    verification_type: Type.Enum(VERIFICATION_TYPES),
    status: Type.Enum(VERIFICATION_STATUSES),
    evidence_file_ids: Type.Array(Uuid),
    user_note: Nullable(Type.String()),
    public_note: Nullable(Type.String()),
    created_at: DateTime,
    reviewed_at: Nullable(DateTime),
  }),
);

/** A session as the session list shows it, with when it ended in place of when it ends and whether it is the caller’s. */
const { expires_at: _expiresAt, current: _current, ...sessionFields } = SessionResponse.properties;
const ExportedSession = Component(
  'ExportedSession',
  Type.Object({ ...sessionFields, revoked_at: Nullable(DateTime) }),
);

const UsersSection = Component(
  'UsersExport',
  Type.Object({
    account: Ref(UserResponse),
    profile: Ref(ProfileResponse),
    client_profiles: Type.Array(Type.Intersect([Ref(ClientProfileResponse), WasDeleted])),
    provider_profiles: Type.Array(Type.Intersect([Ref(ProviderProfileResponse), WasDeleted])),
    services: Type.Array(Type.Intersect([Ref(ServiceResponse), WasDeleted])),
    favorites: Type.Array(Type.Object({ provider_id: Uuid, added_at: DateTime })),
    verifications: Type.Array(Ref(ExportedVerification)),
    sessions: Type.Array(Ref(ExportedSession)),
  }),
);

// The rows of one person, by account id: what the declarations name and the parts read and settle.
const accountOf = (userId: string) => eq(users.id, userId);
const sessionsOf = (userId: string) => eq(userSessions.userId, userId);
const profilesOf = (userId: string) => eq(userProfiles.userId, userId);
const profileIds = (userId: string) =>
  sql`(select ${userProfiles.id} from ${userProfiles} where ${profilesOf(userId)})`;
const clientsOf = (userId: string) => sql`${clientProfiles.userProfileId} in ${profileIds(userId)}`;
const providersOf = (userId: string) => sql`${providerProfiles.userProfileId} in ${profileIds(userId)}`;
const servicesOf = (userId: string) =>
  sql`${providerServices.providerProfileId} in (select ${providerProfiles.id} from ${providerProfiles} where ${providersOf(userId)})`;
const favoritesOf = (userId: string) =>
  sql`${favoriteProviders.clientProfileId} in (select ${clientProfiles.id} from ${clientProfiles} where ${clientsOf(userId)})`;
const verificationsOf = (userId: string) => sql`${userVerifications.userProfileId} in ${profileIds(userId)}`;
const tokensOf = (userId: string) =>
  sql`${refreshTokens.sessionId} in (select ${userSessions.id} from ${userSessions} where ${sessionsOf(userId)})`;
/** Codes go to a phone, not an account: those sent to the account's phone. */
const codesOf = (userId: string) =>
  sql`${otpCodes.phoneHash} = (select ${users.phoneHash} from ${users} where ${accountOf(userId)})`;
/** Throttles count per sign-in identifier: those of the account's email and phone. */
const throttlesOf = (userId: string) =>
  sql`${signInThrottles.subject} in (select unnest(array[${users.emailHash}, ${users.phoneHash}]) from ${users} where ${accountOf(userId)})`;

const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

/** The users module's tables: the account, how it signs in, and the marketplace profiles. */
export function userDataRights({
  db,
  accounts,
  profiles,
  vocabulary,
}: {
  db: Db;
  accounts: Pick<AccountService, 'me'>;
  profiles: Pick<ProfileService, 'getProfile' | 'clientView' | 'providerView' | 'serviceView'>;
  vocabulary: Pick<SearchVocabulary, 'dropWords'>;
}) {
  return defineDataRights({
    module: 'users',
    section: UsersSection,
    tables: [
      {
        table: users,
        rowsOf: accountOf,
        export: ['account'],
        erasure: {
          action: 'anonymise',
          detail: `email, phone and password removed, the name becomes "${ERASED_NAME}", the account closed and deleted; the id stays, naming no one`,
        },
        archived: false,
      },
      {
        table: userSessions,
        rowsOf: sessionsOf,
        export: ['sessions'],
        erasure: {
          action: 'anonymise',
          detail: 'device name, user agent and IP removed; every session ends',
        },
        retention: {
          setting: 'session_retention_days',
          days: 30,
          after: userSessions.expiresAt,
          purge: purgeSessions,
        },
        archived: false,
      },
      {
        table: refreshTokens,
        rowsOf: tokensOf,
        export: { omitted: 'hashes of sign-in tokens; the sessions they belong to are exported' },
        erasure: { action: 'delete', detail: 'every token of the person’s sessions' },
        retention: { setting: 'refresh_token_retention_days', days: 1, after: refreshTokens.expiresAt },
        archived: false,
      },
      {
        table: otpCodes,
        rowsOf: codesOf,
        export: { omitted: 'hashes of one-time codes, worthless once used or expired' },
        erasure: { action: 'delete', detail: 'the codes sent to the account’s phone' },
        retention: { setting: 'otp_code_retention_days', days: 1, after: otpCodes.createdAt },
        archived: false,
      },
      {
        table: signInThrottles,
        rowsOf: throttlesOf,
        export: { omitted: 'counts of wrong passwords, kept under a hash of the email or phone' },
        erasure: { action: 'delete', detail: 'the counts kept under the account’s email and phone' },
        // A rule of the throttle, not a policy: a day without a wrong password forgets the earlier ones.
        retention: {
          days: SIGN_IN_THROTTLE.forgetAfterSeconds / 86_400,
          after: signInThrottles.lastFailureAt,
        },
        archived: false,
      },
      {
        table: userProfiles,
        rowsOf: profilesOf,
        export: ['profile'],
        erasure: {
          action: 'anonymise',
          detail:
            'bio, gender, photo (its file with the person’s uploads, platform), contact details, address and preferences removed; the profile deleted',
        },
        archived: false,
      },
      {
        table: clientProfiles,
        rowsOf: clientsOf,
        export: ['client_profiles'],
        erasure: {
          action: 'anonymise',
          detail: 'preferences removed; the profile deleted, its counters kept',
        },
        archived: false,
      },
      {
        table: providerProfiles,
        rowsOf: providersOf,
        export: ['provider_profiles'],
        erasure: {
          action: 'anonymise',
          detail: `the business name becomes "${ERASED_NAME}", description and search text removed (their words leave the directory's vocabulary); the profile deleted, its rating kept`,
        },
        archived: false,
      },
      {
        table: providerServices,
        rowsOf: servicesOf,
        export: ['services'],
        erasure: { action: 'anonymise', detail: 'descriptions removed; the services deleted, prices kept' },
        archived: false,
      },
      {
        table: favoriteProviders,
        rowsOf: favoritesOf,
        export: ['favorites'],
        erasure: {
          action: 'delete',
          detail:
            'the person’s favorites; other clients’ favorites of the person, as a provider, stay theirs',
        },
        archived: false,
      },
      {
        table: userVerifications,
        rowsOf: verificationsOf,
        export: ['verifications'],
        erasure: {
          action: 'anonymise',
          detail:
            'only what the business must keep stays: type, status and dates; the person’s note, the staff’s notes and the evidence go (the evidence files with the person’s uploads, platform); the record deleted',
        },
        archived: false,
      },
    ],

    async export({ actor, userId }) {
      const account = await accounts.me(actor);
      const profile = await profiles.getProfile(actor);
      const clientRows = await db.select().from(clientProfiles).where(clientsOf(userId));
      const providerRows = await db.select().from(providerProfiles).where(providersOf(userId));
      const serviceRows = await db.select().from(providerServices).where(servicesOf(userId));
      const verificationRows = await db
        .select()
        .from(userVerifications)
        .where(verificationsOf(userId))
        .orderBy(desc(userVerifications.id))
        .limit(EXPORT_LIMIT);
      const favorites = await db
        .select()
        .from(favoriteProviders)
        .where(favoritesOf(userId))
        .orderBy(desc(favoriteProviders.id))
        .limit(EXPORT_LIMIT);
      const sessions = await db
        .select()
        .from(userSessions)
        .where(sessionsOf(userId))
        .orderBy(desc(userSessions.id))
        .limit(EXPORT_LIMIT);
      return {
        account,
        profile,
        client_profiles: clientRows.map((c) => ({ ...profiles.clientView(c), is_deleted: c.isDeleted })),
        provider_profiles: providerRows.map((p) => ({
          ...profiles.providerView(p),
          is_deleted: p.isDeleted,
        })),
        services: serviceRows.map((s) => ({ ...profiles.serviceView(s), is_deleted: s.isDeleted })),
        favorites: favorites.map((f) => ({
          provider_id: f.providerProfileId,
          added_at: f.createdAt.toISOString(),
        })),
        // A verification deleted with its profile, or withdrawn, is no longer the person's to see.
        verifications: verificationRows
          .filter((v) => !v.isDeleted)
          .map((v) => ({
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
          ...sessionDevice(s),
          revoked_at: s.revokedAt?.toISOString() ?? null,
        })),
      };
    },

    /**
     * Personal data is overwritten for good. The rows stay, under the same id that now names no one, so the
     * orders and payments the business must keep still add up. What is found through the account's email and
     * phone goes first, while the account still has them.
     */
    async erase({ userId }, erasure) {
      await db.delete(otpCodes).where(codesOf(userId));
      await db.delete(signInThrottles).where(throttlesOf(userId));
      await db.delete(refreshTokens).where(tokensOf(userId));
      const favorites = await db
        .delete(favoriteProviders)
        .where(favoritesOf(userId))
        .returning({ id: favoriteProviders.id });
      erasure.forget(ids(favorites));
      const verifications = await db
        .update(userVerifications)
        .set({ userNote: null, publicNote: null, adminNotes: null, evidenceFileIds: [], isDeleted: true })
        .where(verificationsOf(userId))
        .returning({ id: userVerifications.id });
      erasure.forget(ids(verifications));
      const services = await db
        .update(providerServices)
        .set({ description: null, isDeleted: true })
        .where(servicesOf(userId))
        .returning({ id: providerServices.id });
      erasure.forget(ids(services));
      const providerTexts = await db
        .select({ id: providerProfiles.id, searchText: providerProfiles.searchText })
        .from(providerProfiles)
        .where(providersOf(userId));
      if (providerTexts.length > 0) {
        await db
          .update(providerProfiles)
          .set({
            businessName: ERASED_NAME,
            description: null,
            searchText: '',
            isDeleted: true,
            isAvailable: false,
          })
          .where(inArray(providerProfiles.id, ids(providerTexts)));
        erasure.forget(ids(providerTexts));
        await vocabulary.dropWords(
          db,
          DIRECTORY_SEARCH_SCOPE,
          providerTexts.map((p) => p.searchText).join(' '),
          providerTextsHold,
        );
      }
      const clients = await db
        .update(clientProfiles)
        .set({ preferences: {}, isDeleted: true })
        .where(clientsOf(userId))
        .returning({ id: clientProfiles.id });
      erasure.forget(ids(clients));
      const userProfileRows = await db
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
        .where(profilesOf(userId))
        .returning({ id: userProfiles.id });
      erasure.forget(ids(userProfileRows));
      await db
        .update(userSessions)
        .set({ userAgent: null, ip: null, deviceName: null })
        .where(sessionsOf(userId));
      await db
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
          deletedAt: new Date(),
        })
        .where(accountOf(userId));
      erasure.forget([userId]);
    },
  });
}

/**
 * Ended sessions go with their refresh tokens, which reference them, in one statement. A session ends when
 * it expires or, earlier, when it is signed out or revoked: a session ended that way keeps its device and
 * address no longer than one that ran out (`least` passes over a null `revoked_at`).
 */
function purgeSessions(cutoff: ReturnType<typeof sql>, limit: ReturnType<typeof sql>) {
  return sql`with expired as (
      select ${userSessions.id} as id from ${userSessions}
      where least(${userSessions.revokedAt}, ${userSessions.expiresAt}) < ${cutoff} limit ${limit}),
    tokens as (delete from ${refreshTokens} where ${refreshTokens.sessionId} in (select id from expired))
    delete from ${userSessions} where ${userSessions.id} in (select id from expired)
    returning 1`;
}
