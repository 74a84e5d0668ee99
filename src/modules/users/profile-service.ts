import type { Actor } from '../../platform/actor.ts';
import { type AuditEntry, diffFields, writeAudit } from '../../platform/audit/service.ts';
import type { FieldCipher } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, onUniqueViolation, RuleViolationError } from '../../platform/errors.ts';
import type { SearchVocabulary } from '../../platform/search/service.ts';
import type { SoftDeletes } from '../../platform/soft-delete.ts';
import type { FileService } from '../../platform/storage/service.ts';
import type { CatalogService } from '../core/service.ts';
import { updateUser, userRow } from './account-queries.ts';
import { checkAvailability, weekdaysOf } from './profile-availability.ts';
import type {
  ContactInfoValue,
  CreateProviderProfileInput,
  ProfileView,
  UpdateProfileInput,
  UpdateProviderProfileInput,
} from './profile-contract.ts';
import { createFavorites } from './profile-favorites.ts';
import { createProfileCalls } from './profile-for-modules.ts';
import { createListing } from './profile-listing.ts';
import { createProviderServices } from './profile-provider-services.ts';
import {
  fullNameOf,
  insertClientProfile,
  insertProviderProfile,
  liveClientProfile,
  liveProviderProfile,
  providerProfileById,
  type UserProfileRow,
  updateClientProfile,
  updateProfile,
  updateProviderProfile,
} from './profile-queries.ts';
import { createProfileRecords } from './profile-records.ts';
import { clientView, decryptJson, providerView, serviceView } from './profile-views.ts';
import type { userProfiles } from './schema.ts';

export type ProfileService = ReturnType<typeof createProfileService>;

/**
 * Profiles: the user's own, and becoming a client or a provider. Built with the provider's services,
 * the favorites and what other modules call on profiles, into the one service app.ts hands around.
 */
export function createProfileService({
  db,
  cipher,
  catalog,
  files,
  vocabulary,
  softDeletes,
}: {
  db: Db;
  cipher: FieldCipher;
  catalog: CatalogService;
  files: FileService;
  vocabulary: SearchVocabulary;
  softDeletes: SoftDeletes;
}) {
  const records = createProfileRecords({ db });
  const { ensureProfile, syncUserType } = records;
  const refreshListing = createListing({ catalog, vocabulary });
  const encryptJson = (value: unknown) => (value === null ? null : cipher.encrypt(JSON.stringify(value)));

  async function profileView(tx: Db, profile: UserProfileRow): Promise<ProfileView> {
    return {
      user_id: profile.userId,
      full_name: (await fullNameOf(tx, profile.userId)) ?? '',
      user_type: profile.userType,
      bio: profile.bio,
      gender: profile.gender,
      photo_file_id: profile.photoFileId,
      preferred_language: profile.preferredLanguage,
      notification_language: profile.notificationLanguage,
      contact_info: decryptJson<ContactInfoValue>(cipher, profile.contactInfoEncrypted),
      address: profile.addressEncrypted === null ? null : cipher.decrypt(profile.addressEncrypted),
      service_area_id: profile.serviceAreaId,
      preferences: profile.preferences,
      verification_status: profile.verificationStatus,
      has_client_profile: (await liveClientProfile(tx, profile.id)) !== undefined,
      has_provider_profile: (await liveProviderProfile(tx, profile.id)) !== undefined,
      created_at: profile.createdAt.toISOString(),
      updated_at: profile.updatedAt.toISOString(),
    };
  }

  return {
    ensureProfile,
    clientView,
    providerView,
    serviceView,

    async getProfile(actor: Actor) {
      return db.transaction(async (tx) => profileView(tx, await ensureProfile(tx, actor)));
    },

    async updateProfile(actor: Actor, input: UpdateProfileInput) {
      for (const field of ['preferred_language', 'notification_language'] as const) {
        const code = input[field];
        if (code && !(await catalog.isActiveLanguage(code))) {
          throw new RuleViolationError('language_not_supported', `${code} is not a supported language`, [
            { in: 'body', field, message: 'is not an active language' },
          ]);
        }
      }
      await catalog.checkServiceAreas({ service_area_id: input.service_area_id });
      return db.transaction(async (tx) => {
        const before = await ensureProfile(tx, actor);
        if (input.photo_file_id !== undefined) {
          await files.attach(actor, input.photo_file_id ? [input.photo_file_id] : [], 'profile_photo', {
            entity: 'user_profiles',
            id: before.id,
            field: 'photo_file_id',
          });
        }
        const changes: Partial<typeof userProfiles.$inferInsert> = {
          // Set here, not left to $onUpdateFn: a PATCH of the name alone leaves every other column undefined,
          // and Drizzle refuses an update with nothing to set. The name is shown as part of the profile, so
          // the profile's updated_at moves with it.
          updatedAt: new Date(),
          bio: input.bio,
          gender: input.gender,
          photoFileId: input.photo_file_id,
          preferredLanguage: input.preferred_language,
          notificationLanguage: input.notification_language,
          serviceAreaId: input.service_area_id,
          preferences: input.preferences,
          contactInfoEncrypted:
            input.contact_info === undefined ? undefined : encryptJson(input.contact_info),
          addressEncrypted:
            input.address === undefined
              ? undefined
              : input.address === null
                ? null
                : cipher.encrypt(input.address),
        };
        const after = await updateProfile(tx, before.id, changes);
        // Only the name changed: the profile row itself has nothing to record.
        const audit: AuditEntry[] =
          Object.keys(diffFields(before, after)).length > 0
            ? [{ action: 'update', entity: 'user_profiles', entityId: before.id, before, after }]
            : [];
        if (input.full_name !== undefined) {
          const userBefore = await userRow(tx, before.userId);
          const userAfter = await updateUser(tx, before.userId, { fullName: input.full_name });
          audit.push({
            action: 'update',
            entity: 'users',
            entityId: before.userId,
            before: userBefore,
            after: userAfter,
          });
        }
        await writeAudit(tx, actor, audit);
        return profileView(tx, after);
      });
    },

    async createClientProfile(actor: Actor, input: { preferences?: Record<string, unknown> }) {
      return onUniqueViolation(
        db.transaction(async (tx) => {
          const profile = await ensureProfile(tx, actor);
          if (await liveClientProfile(tx, profile.id)) throw clientExists();
          const created = await insertClientProfile(tx, {
            userProfileId: profile.id,
            preferences: input.preferences ?? {},
          });
          await writeAudit(tx, actor, [
            { action: 'create', entity: 'client_profiles', entityId: created.id, after: created },
          ]);
          await syncUserType(tx, profile, actor);
          return clientView(created);
        }),
        { client_profiles_profile_live_uq: clientExists },
      );
    },

    async getClientProfile(actor: Actor) {
      const { client } = await records.ownClientProfile(db, actor);
      return clientView(client);
    },

    async updateClientProfile(actor: Actor, input: { preferences?: Record<string, unknown> }) {
      return db.transaction(async (tx) => {
        const { client } = await records.ownClientProfile(tx, actor);
        const after = await updateClientProfile(tx, client.id, { preferences: input.preferences });
        await writeAudit(tx, actor, [
          { action: 'update', entity: 'client_profiles', entityId: client.id, before: client, after },
        ]);
        return clientView(after);
      });
    },

    async createProviderProfile(actor: Actor, input: CreateProviderProfileInput) {
      checkAvailability(input.availability, 'availability');
      await catalog.checkServiceAreas(serviceAreaFields(input.service_area_ids));
      return onUniqueViolation(
        db.transaction(async (tx) => {
          const profile = await ensureProfile(tx, actor);
          if (await liveProviderProfile(tx, profile.id)) throw providerExists();
          const availability = input.availability ?? {};
          const created = await insertProviderProfile(tx, {
            userProfileId: profile.id,
            businessName: input.business_name,
            experienceYears: input.experience_years ?? 0,
            description: input.description ?? null,
            serviceAreaIds: input.service_area_ids ?? [],
            travelRadiusKm: input.travel_radius_km ?? null,
            availability,
            availableWeekdays: weekdaysOf(availability),
            isVerified: profile.verificationStatus === 'verified',
          });
          await writeAudit(tx, actor, [
            { action: 'create', entity: 'provider_profiles', entityId: created.id, after: created },
          ]);
          await refreshListing(tx, created.id);
          await syncUserType(tx, profile, actor);
          return providerView((await providerProfileById(tx, created.id))!);
        }),
        { provider_profiles_profile_live_uq: providerExists },
      );
    },

    async getProviderProfile(actor: Actor) {
      return providerView(await records.ownProviderProfile(actor));
    },

    async updateProviderProfile(actor: Actor, input: UpdateProviderProfileInput) {
      checkAvailability(input.availability, 'availability');
      await catalog.checkServiceAreas(serviceAreaFields(input.service_area_ids));
      return db.transaction(async (tx) => {
        const before = await records.ownProviderProfile(actor);
        const after = await updateProviderProfile(tx, before.id, {
          businessName: input.business_name,
          experienceYears: input.experience_years,
          description: input.description,
          serviceAreaIds: input.service_area_ids,
          travelRadiusKm: input.travel_radius_km,
          availability: input.availability,
          availableWeekdays: input.availability ? weekdaysOf(input.availability) : undefined,
          isAvailable: input.is_available,
        });
        await writeAudit(tx, actor, [
          { action: 'update', entity: 'provider_profiles', entityId: before.id, before, after },
        ]);
        if (input.business_name !== undefined || input.description !== undefined)
          await refreshListing(tx, before.id);
        return providerView((await providerProfileById(tx, before.id))!);
      });
    },

    ...createProviderServices({ db, catalog, softDeletes, records, refreshListing }),
    ...createFavorites({ db, records }),
    ...createProfileCalls({ db, cipher, softDeletes, records }),
  };
}

/** The body fields a list of service area ids is checked under: `service_area_ids.<i>`. */
const serviceAreaFields = (ids: string[] | undefined) =>
  Object.fromEntries((ids ?? []).map((id, i) => [`service_area_ids.${i}`, id]));

const clientExists = () => new ConflictError('client_profile_exists', 'you already have a client profile');
const providerExists = () =>
  new ConflictError('provider_profile_exists', 'you already have a provider profile');
