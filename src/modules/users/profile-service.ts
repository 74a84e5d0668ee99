import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Actor, Role } from '../../platform/actor.ts';
import { type AuditEntry, diffFields, writeAudit } from '../../platform/audit/service.ts';
import type { FieldCipher } from '../../platform/crypto.ts';
import { type Db, prepareSql } from '../../platform/db.ts';
import {
  ConflictError,
  isUniqueViolation,
  NotFoundError,
  RuleViolationError,
  ValidationError,
} from '../../platform/errors.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import type { SearchVocabulary } from '../../platform/search/service.ts';
import type { SoftDeletes } from '../../platform/soft-delete.ts';
import type { FileService } from '../../platform/storage/service.ts';
import type { CatalogService } from '../core/service.ts';
import { DIRECTORY_SEARCH_SCOPE, providerTextsHold } from './directory-service.ts';
import type {
  ClientProfileView,
  ContactInfoValue,
  CreateProviderProfileInput,
  CreateServiceInput,
  ProfileView,
  ProviderProfileView,
  ServiceView,
  UpdateProfileInput,
  UpdateProviderProfileInput,
  UpdateServiceInput,
} from './profile-contract.ts';
import { providerReach, type SealedContactCard, sealedContactCard } from './queries.ts';
import {
  clientProfiles,
  favoriteProviders,
  providerProfiles,
  providerServices,
  userProfiles,
  users,
  WEEKDAYS,
  type WeeklyAvailability,
} from './schema.ts';

type UserProfileRow = typeof userProfiles.$inferSelect;
type ClientProfileRow = typeof clientProfiles.$inferSelect;
type ProviderProfileRow = typeof providerProfiles.$inferSelect;
type ServiceRow = typeof providerServices.$inferSelect;

const ratingAvg = (sum: number, count: number) =>
  count === 0 ? null : Math.round((sum / count) * 100) / 100;

const minutes = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/** Each range must end after it starts and not overlap another on the same day. */
export function checkAvailability(availability: WeeklyAvailability | null | undefined, field: string) {
  if (!availability) return;
  const errors = [];
  for (const day of WEEKDAYS) {
    const ranges = (availability[day] ?? [])
      .map((r, i) => ({ ...r, i }))
      .sort((a, b) => minutes(a.from) - minutes(b.from));
    for (const [k, range] of ranges.entries()) {
      if (minutes(range.to) <= minutes(range.from)) {
        errors.push({ in: 'body', field: `${field}.${day}.${range.i}`, message: 'must end after it starts' });
      } else if (k > 0 && minutes(range.from) < minutes((ranges[k - 1] as typeof range).to)) {
        errors.push({
          in: 'body',
          field: `${field}.${day}.${range.i}`,
          message: 'overlaps another range that day',
        });
      }
    }
  }
  if (errors.length > 0) throw new ValidationError(errors, 'the availability is not valid');
}

const weekdaysOf = (availability: WeeklyAvailability) =>
  WEEKDAYS.filter((d) => (availability[d]?.length ?? 0) > 0);

const servicePages = idPages('users.my_services', providerServices.id);
const favoritePages = idPages('users.my_favorites', favoriteProviders.id);

export type ProfileService = ReturnType<typeof createProfileService>;

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
  const encryptJson = (value: unknown) => (value === null ? null : cipher.encrypt(JSON.stringify(value)));
  const decryptJson = <T>(value: string | null) =>
    value === null ? null : (JSON.parse(cipher.decrypt(value)) as T);

  /**
   * A user's profile row, made on first need: every account has exactly one live profile. Two first
   * requests at once both try the insert; the partial unique index lets one in and the other reads it.
   */
  async function ensureProfile(tx: Db, actor: Actor, userId = actor.userId ?? ''): Promise<UserProfileRow> {
    const live = () =>
      tx
        .select()
        .from(userProfiles)
        .where(and(eq(userProfiles.userId, userId), eq(userProfiles.isDeleted, false)))
        .limit(1);
    const [existing] = await live();
    if (existing) return existing;
    const [created] = await tx
      .insert(userProfiles)
      .values({ userId })
      .onConflictDoNothing({ target: userProfiles.userId, where: sql`not is_deleted` })
      .returning();
    if (created) {
      await writeAudit(tx, actor, [
        { action: 'create', entity: 'user_profiles', entityId: created.id, after: created },
      ]);
      return created;
    }
    const [raced] = await live();
    if (!raced)
      throw new ConflictError('concurrent_update', 'the profile changed while you were updating it; retry');
    return raced;
  }

  async function liveClientProfile(tx: Db, profileId: string) {
    const [row] = await tx
      .select()
      .from(clientProfiles)
      .where(and(eq(clientProfiles.userProfileId, profileId), eq(clientProfiles.isDeleted, false)));
    return row;
  }

  async function liveProviderProfile(tx: Db, profileId: string) {
    const [row] = await tx
      .select()
      .from(providerProfiles)
      .where(and(eq(providerProfiles.userProfileId, profileId), eq(providerProfiles.isDeleted, false)));
    return row;
  }

  async function providerOf(actor: Actor) {
    const profile = await ensureProfile(db, actor);
    const provider = await liveProviderProfile(db, profile.id);
    if (!provider) {
      throw new RuleViolationError(
        'provider_profile_required',
        'create a provider profile first (POST /me/provider-profile)',
      );
    }
    return provider;
  }

  async function checkServiceAreas(ids: string[] | undefined) {
    if (!ids || ids.length === 0) return;
    const found = new Set(await catalog.existingServiceAreaIds(ids));
    const errors = ids
      .map((id, i) => ({ id, i }))
      .filter(({ id }) => !found.has(id))
      .map(({ i }) => ({ in: 'body', field: `service_area_ids.${i}`, message: 'is not a service area' }));
    if (errors.length > 0)
      throw new RuleViolationError('service_area_not_found', 'unknown service area', errors);
  }

  async function profileView(tx: Db, profile: UserProfileRow): Promise<ProfileView> {
    const [user] = await tx
      .select({ fullName: users.fullName })
      .from(users)
      .where(eq(users.id, profile.userId));
    return {
      user_id: profile.userId,
      full_name: user?.fullName ?? '',
      user_type: profile.userType,
      bio: profile.bio,
      gender: profile.gender,
      photo_file_id: profile.photoFileId,
      preferred_language: profile.preferredLanguage,
      notification_language: profile.notificationLanguage,
      contact_info: decryptJson<ContactInfoValue>(profile.contactInfoEncrypted),
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

  const clientView = (c: ClientProfileRow): ClientProfileView => ({
    id: c.id,
    preferences: c.preferences,
    orders_total: c.ordersTotal,
    orders_completed: c.ordersCompleted,
    orders_cancelled: c.ordersCancelled,
    rating_avg: ratingAvg(c.ratingSum, c.reviewCount),
    review_count: c.reviewCount,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  });

  const providerView = (p: ProviderProfileRow): ProviderProfileView => ({
    id: p.id,
    business_name: p.businessName,
    experience_years: p.experienceYears,
    description: p.description,
    service_area_ids: p.serviceAreaIds,
    travel_radius_km: p.travelRadiusKm,
    availability: p.availability,
    is_available: p.isAvailable,
    is_verified: p.isVerified,
    rating_avg: ratingAvg(p.ratingSum, p.reviewCount),
    review_count: p.reviewCount,
    orders_completed: p.ordersCompleted,
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  });

  const serviceView = (s: ServiceRow): ServiceView => ({
    id: s.id,
    subcategory_id: s.subcategoryId,
    description: s.description,
    base_price: s.basePrice,
    currency: s.currency,
    price_type: s.priceType,
    availability: s.availability,
    is_active: s.isActive,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  });

  /** Keeps user_type and the account's roles in step with the profiles that exist. */
  async function syncUserType(tx: Db, profile: UserProfileRow, actor: Actor) {
    const isClient = (await liveClientProfile(tx, profile.id)) !== undefined;
    const isProvider = (await liveProviderProfile(tx, profile.id)) !== undefined;
    const userType =
      isClient && isProvider ? 'both' : isProvider ? 'service_provider' : isClient ? 'client' : null;
    await tx.update(userProfiles).set({ userType }).where(eq(userProfiles.id, profile.id));
    const [user] = await tx.select().from(users).where(eq(users.id, profile.userId));
    if (!user) return;
    const wanted: Role[] = [
      ...(isClient ? (['client'] as const) : []),
      ...(isProvider ? (['provider'] as const) : []),
    ];
    const missing = wanted.filter((r) => !user.roles.includes(r));
    if (missing.length === 0) return;
    const [after] = await tx
      .update(users)
      .set({ roles: [...user.roles, ...missing] })
      .where(eq(users.id, user.id))
      .returning();
    await writeAudit(tx, actor, [
      { action: 'update', entity: 'users', entityId: user.id, before: user, after },
    ]);
  }

  /** Opens a `sealedContactCard` (queries.ts) that another module's read carried. */
  function openContactCard(sealed: SealedContactCard | null) {
    if (!sealed) return null;
    return {
      full_name: sealed.full_name,
      phone: sealed.phone ? cipher.decrypt(sealed.phone) : null,
      email: sealed.email ? cipher.decrypt(sealed.email) : null,
      contact_info: decryptJson<ContactInfoValue>(sealed.contact_info),
    };
  }

  /**
   * What the directory finds a provider by: the search text (business name, description, the descriptions
   * of the active services and the names of the subcategories offered, whose words join the directory's
   * vocabulary) and the subcategories of the active services. A paused service is not shown, so its text
   * is not searchable either. Called by every change to the profile's texts or its services.
   */
  async function refreshListing(tx: Db, providerId: string) {
    const [provider] = await tx.select().from(providerProfiles).where(eq(providerProfiles.id, providerId));
    if (!provider) return;
    const services = await tx
      .select({ description: providerServices.description, subcategoryId: providerServices.subcategoryId })
      .from(providerServices)
      .where(
        and(
          eq(providerServices.providerProfileId, providerId),
          eq(providerServices.isDeleted, false),
          eq(providerServices.isActive, true),
        ),
      );
    const offeredSubcategoryIds = [...new Set(services.map((s) => s.subcategoryId))];
    const names = await catalog.subcategorySearchTerms(offeredSubcategoryIds);
    const searchText = [
      provider.businessName,
      provider.description,
      ...services.map((s) => s.description),
      ...names,
    ]
      .filter(Boolean)
      .join(' ')
      .toLowerCase();
    await tx
      .update(providerProfiles)
      .set({ searchText, offeredSubcategoryIds })
      .where(eq(providerProfiles.id, providerId));
    await vocabulary.addWords(tx, DIRECTORY_SEARCH_SCOPE, searchText);
    if (provider.searchText !== searchText) {
      await vocabulary.dropWords(tx, DIRECTORY_SEARCH_SCOPE, provider.searchText, providerTextsHold);
    }
  }

  async function loadOwnService(tx: Db, actor: Actor, serviceId: string) {
    const provider = await providerOf(actor);
    const [service] = await tx
      .select()
      .from(providerServices)
      .where(
        and(
          eq(providerServices.id, serviceId),
          eq(providerServices.providerProfileId, provider.id),
          eq(providerServices.isDeleted, false),
        ),
      );
    if (!service) throw new NotFoundError('service');
    return { provider, service };
  }

  async function checkPrice(subcategoryId: string, basePrice: number | undefined) {
    const terms = await catalog.subcategoryTerms(subcategoryId);
    if (!terms) {
      throw new RuleViolationError(
        'subcategory_not_found',
        'the subcategory does not exist or is not offered',
        [{ in: 'body', field: 'subcategory_id', message: 'is not an offered subcategory' }],
      );
    }
    if (basePrice !== undefined && (basePrice < terms.minPrice || basePrice > terms.maxPrice)) {
      throw new RuleViolationError(
        'price_out_of_range',
        `the price must be between ${terms.minPrice} and ${terms.maxPrice} tyiyn in this category`,
        [{ in: 'body', field: 'base_price', message: `must be ${terms.minPrice} to ${terms.maxPrice}` }],
      );
    }
  }

  async function providerForFavorite(providerId: string) {
    const [provider] = await db
      .select({ id: providerProfiles.id, userProfileId: providerProfiles.userProfileId })
      .from(providerProfiles)
      .where(and(eq(providerProfiles.id, providerId), eq(providerProfiles.isDeleted, false)));
    if (!provider) throw new NotFoundError('provider');
    return provider;
  }

  async function clientOf(tx: Db, actor: Actor) {
    const profile = await ensureProfile(tx, actor);
    const client = await liveClientProfile(tx, profile.id);
    if (!client) {
      throw new RuleViolationError(
        'client_profile_required',
        'create a client profile first (POST /me/client-profile)',
      );
    }
    return { profile, client };
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
      if (
        input.service_area_id &&
        (await catalog.existingServiceAreaIds([input.service_area_id])).length === 0
      ) {
        throw new RuleViolationError('service_area_not_found', 'unknown service area', [
          { in: 'body', field: 'service_area_id', message: 'is not a service area' },
        ]);
      }
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
        const [after] = await tx
          .update(userProfiles)
          .set(changes)
          .where(eq(userProfiles.id, before.id))
          .returning();
        // Only the name changed: the profile row itself has nothing to record.
        const audit: AuditEntry[] =
          Object.keys(diffFields(before, after)).length > 0
            ? [{ action: 'update', entity: 'user_profiles', entityId: before.id, before, after }]
            : [];
        if (input.full_name !== undefined) {
          const [userBefore] = await tx.select().from(users).where(eq(users.id, before.userId));
          const [userAfter] = await tx
            .update(users)
            .set({ fullName: input.full_name })
            .where(eq(users.id, before.userId))
            .returning();
          audit.push({
            action: 'update',
            entity: 'users',
            entityId: before.userId,
            before: userBefore,
            after: userAfter,
          });
        }
        await writeAudit(tx, actor, audit);
        return profileView(tx, after as UserProfileRow);
      });
    },

    async createClientProfile(actor: Actor, input: { preferences?: Record<string, unknown> }) {
      try {
        return await db.transaction(async (tx) => {
          const profile = await ensureProfile(tx, actor);
          if (await liveClientProfile(tx, profile.id)) throw clientExists();
          const [created] = await tx
            .insert(clientProfiles)
            .values({ userProfileId: profile.id, preferences: input.preferences ?? {} })
            .returning();
          await writeAudit(tx, actor, [
            { action: 'create', entity: 'client_profiles', entityId: created!.id, after: created },
          ]);
          await syncUserType(tx, profile, actor);
          return clientView(created!);
        });
      } catch (error) {
        if (isUniqueViolation(error, 'client_profiles_profile_live_uq')) throw clientExists();
        throw error;
      }
    },

    async getClientProfile(actor: Actor) {
      const { client } = await clientOf(db, actor).catch((error: unknown) => {
        if (error instanceof RuleViolationError) throw new NotFoundError('client_profile');
        throw error;
      });
      return clientView(client);
    },

    async updateClientProfile(actor: Actor, input: { preferences?: Record<string, unknown> }) {
      return db.transaction(async (tx) => {
        const { client } = await clientOf(tx, actor).catch((error: unknown) => {
          if (error instanceof RuleViolationError) throw new NotFoundError('client_profile');
          throw error;
        });
        const [after] = await tx
          .update(clientProfiles)
          .set({ preferences: input.preferences })
          .where(eq(clientProfiles.id, client.id))
          .returning();
        await writeAudit(tx, actor, [
          { action: 'update', entity: 'client_profiles', entityId: client.id, before: client, after },
        ]);
        return clientView(after!);
      });
    },

    async createProviderProfile(actor: Actor, input: CreateProviderProfileInput) {
      checkAvailability(input.availability, 'availability');
      await checkServiceAreas(input.service_area_ids);
      try {
        return await db.transaction(async (tx) => {
          const profile = await ensureProfile(tx, actor);
          if (await liveProviderProfile(tx, profile.id)) throw providerExists();
          const availability = input.availability ?? {};
          const [created] = await tx
            .insert(providerProfiles)
            .values({
              userProfileId: profile.id,
              businessName: input.business_name,
              experienceYears: input.experience_years ?? 0,
              description: input.description ?? null,
              serviceAreaIds: input.service_area_ids ?? [],
              travelRadiusKm: input.travel_radius_km ?? null,
              availability,
              availableWeekdays: weekdaysOf(availability),
              isVerified: profile.verificationStatus === 'verified',
            })
            .returning();
          await writeAudit(tx, actor, [
            { action: 'create', entity: 'provider_profiles', entityId: created!.id, after: created },
          ]);
          await refreshListing(tx, created!.id);
          await syncUserType(tx, profile, actor);
          const [fresh] = await tx
            .select()
            .from(providerProfiles)
            .where(eq(providerProfiles.id, created!.id));
          return providerView(fresh!);
        });
      } catch (error) {
        if (isUniqueViolation(error, 'provider_profiles_profile_live_uq')) throw providerExists();
        throw error;
      }
    },

    async getProviderProfile(actor: Actor) {
      const provider = await providerOf(actor).catch((error: unknown) => {
        if (error instanceof RuleViolationError) throw new NotFoundError('provider_profile');
        throw error;
      });
      return providerView(provider);
    },

    async updateProviderProfile(actor: Actor, input: UpdateProviderProfileInput) {
      checkAvailability(input.availability, 'availability');
      await checkServiceAreas(input.service_area_ids);
      return db.transaction(async (tx) => {
        const before = await providerOf(actor).catch((error: unknown) => {
          if (error instanceof RuleViolationError) throw new NotFoundError('provider_profile');
          throw error;
        });
        const [after] = await tx
          .update(providerProfiles)
          .set({
            businessName: input.business_name,
            experienceYears: input.experience_years,
            description: input.description,
            serviceAreaIds: input.service_area_ids,
            travelRadiusKm: input.travel_radius_km,
            availability: input.availability,
            availableWeekdays: input.availability ? weekdaysOf(input.availability) : undefined,
            isAvailable: input.is_available,
          })
          .where(eq(providerProfiles.id, before.id))
          .returning();
        await writeAudit(tx, actor, [
          { action: 'update', entity: 'provider_profiles', entityId: before.id, before, after },
        ]);
        if (input.business_name !== undefined || input.description !== undefined)
          await refreshListing(tx, before.id);
        const [fresh] = await tx.select().from(providerProfiles).where(eq(providerProfiles.id, before.id));
        return providerView(fresh!);
      });
    },

    async listServices(actor: Actor, request: PageRequest): Promise<PageResult<ServiceView>> {
      const page = servicePages(request);
      const provider = await providerOf(actor);
      const rows = await db
        .select()
        .from(providerServices)
        .where(
          and(
            eq(providerServices.providerProfileId, provider.id),
            eq(providerServices.isDeleted, false),
            page.where,
          ),
        )
        .orderBy(page.orderBy)
        .limit(page.limit);
      return page.page(rows, (s) => s.id, serviceView);
    },

    async getService(actor: Actor, serviceId: string) {
      const { service } = await loadOwnService(db, actor, serviceId);
      return serviceView(service);
    },

    async createService(actor: Actor, input: CreateServiceInput) {
      checkAvailability(input.availability, 'availability');
      await checkPrice(input.subcategory_id, input.base_price);
      try {
        return await db.transaction(async (tx) => {
          const provider = await providerOf(actor);
          const [created] = await tx
            .insert(providerServices)
            .values({
              providerProfileId: provider.id,
              subcategoryId: input.subcategory_id,
              description: input.description ?? null,
              basePrice: input.base_price,
              priceType: input.price_type ?? 'fixed',
              availability: input.availability ?? null,
            })
            .returning();
          await writeAudit(tx, actor, [
            { action: 'create', entity: 'provider_services', entityId: created!.id, after: created },
          ]);
          await refreshListing(tx, provider.id);
          return serviceView(created!);
        });
      } catch (error) {
        if (isUniqueViolation(error, 'provider_services_subcategory_live_uq')) {
          throw new ConflictError(
            'service_already_offered',
            'you already offer a service in this subcategory; edit it',
          );
        }
        throw error;
      }
    },

    async updateService(actor: Actor, serviceId: string, input: UpdateServiceInput) {
      checkAvailability(input.availability, 'availability');
      if (input.base_price !== undefined) {
        const { service } = await loadOwnService(db, actor, serviceId);
        await checkPrice(service.subcategoryId, input.base_price);
      }
      return db.transaction(async (tx) => {
        const { provider, service: before } = await loadOwnService(tx, actor, serviceId);
        const [after] = await tx
          .update(providerServices)
          .set({
            description: input.description,
            basePrice: input.base_price,
            priceType: input.price_type,
            availability: input.availability,
            isActive: input.is_active,
          })
          .where(eq(providerServices.id, before.id))
          .returning();
        await writeAudit(tx, actor, [
          { action: 'update', entity: 'provider_services', entityId: before.id, before, after },
        ]);
        if (input.description !== undefined || input.is_active !== undefined)
          await refreshListing(tx, provider.id);
        return serviceView(after!);
      });
    },

    async deleteService(actor: Actor, serviceId: string) {
      await db.transaction(async (tx) => {
        const { provider, service } = await loadOwnService(tx, actor, serviceId);
        await softDeletes.softDelete(tx, actor, providerServices, [service.id]);
        await refreshListing(tx, provider.id);
      });
    },

    /** Adding a favorite twice is fine: the answer is the same and nothing doubles. */
    async addFavorite(actor: Actor, providerId: string) {
      const provider = await providerForFavorite(providerId);
      return db.transaction(async (tx) => {
        const { profile, client } = await clientOf(tx, actor);
        if (provider.userProfileId === profile.id) {
          throw new RuleViolationError(
            'cannot_favorite_self',
            'you cannot add your own provider profile to favorites',
          );
        }
        const [created] = await tx
          .insert(favoriteProviders)
          .values({ clientProfileId: client.id, providerProfileId: provider.id })
          .onConflictDoNothing()
          .returning();
        if (created) {
          await writeAudit(tx, actor, [
            { action: 'create', entity: 'favorite_providers', entityId: created.id, after: created },
          ]);
        }
        return { created: created !== undefined };
      });
    },

    async removeFavorite(actor: Actor, providerId: string) {
      await db.transaction(async (tx) => {
        const { client } = await clientOf(tx, actor);
        const removed = await tx
          .delete(favoriteProviders)
          .where(
            and(
              eq(favoriteProviders.clientProfileId, client.id),
              eq(favoriteProviders.providerProfileId, providerId),
            ),
          )
          .returning();
        if (removed.length === 0) throw new NotFoundError('favorite');
        await writeAudit(
          tx,
          actor,
          removed.map((r) => ({
            action: 'delete' as const,
            entity: 'favorite_providers',
            entityId: r.id,
            before: r,
          })),
        );
      });
    },

    /** Favorites newest first; providers that are gone from the directory are left out. */
    async listFavorites(actor: Actor, request: PageRequest) {
      const page = favoritePages(request);
      const { client } = await clientOf(db, actor);
      const rows = await db
        .select({
          id: favoriteProviders.id,
          providerId: favoriteProviders.providerProfileId,
          addedAt: favoriteProviders.createdAt,
        })
        .from(favoriteProviders)
        .innerJoin(providerProfiles, eq(providerProfiles.id, favoriteProviders.providerProfileId))
        .where(
          and(
            eq(favoriteProviders.clientProfileId, client.id),
            eq(providerProfiles.isDeleted, false),
            page.where,
          ),
        )
        .orderBy(page.orderBy)
        .limit(page.limit);
      return page.page(
        rows,
        (r) => r.id,
        (r) => r,
      );
    },

    /**
     * Soft-deletes the caller's profile and everything under it (client and provider profiles, services,
     * verifications) under one deletion id, so staff can restore exactly that.
     */
    async deleteProfileTree(tx: Db, actor: Actor, userId: string) {
      const [profile] = await tx
        .select({ id: userProfiles.id })
        .from(userProfiles)
        .where(and(eq(userProfiles.userId, userId), eq(userProfiles.isDeleted, false)));
      if (!profile) return null;
      return softDeletes.softDelete(tx, actor, userProfiles, [profile.id]);
    },

    /** For the orders module: adjusts a client's order counters, in the caller's transaction when it has one. */
    async adjustClientCounters(
      userId: string,
      delta: { total?: number; completed?: number; cancelled?: number },
    ) {
      const [profile] = await db
        .select({ id: userProfiles.id })
        .from(userProfiles)
        .where(and(eq(userProfiles.userId, userId), eq(userProfiles.isDeleted, false)));
      if (!profile) return;
      await db
        .update(clientProfiles)
        .set({
          ordersTotal: sql`${clientProfiles.ordersTotal} + ${delta.total ?? 0}`,
          ordersCompleted: sql`${clientProfiles.ordersCompleted} + ${delta.completed ?? 0}`,
          ordersCancelled: sql`${clientProfiles.ordersCancelled} + ${delta.cancelled ?? 0}`,
        })
        .where(and(eq(clientProfiles.userProfileId, profile.id), eq(clientProfiles.isDeleted, false)));
    },

    /** Which of these provider profile ids are live: for other modules that reference providers. */
    async liveProviderIds(ids: string[]) {
      if (ids.length === 0) return [];
      const rows = await db
        .select({ id: providerProfiles.id })
        .from(providerProfiles)
        .where(and(inArray(providerProfiles.id, ids), eq(providerProfiles.isDeleted, false)));
      return rows.map((r) => r.id);
    },
    /** For the orders module: the caller's client profile, made when they place their first order. */
    async ensureClientProfile(tx: Db, actor: Actor) {
      const profile = await ensureProfile(tx, actor);
      const existing = await liveClientProfile(tx, profile.id);
      if (existing) return existing;
      const [created] = await tx
        .insert(clientProfiles)
        .values({ userProfileId: profile.id })
        .onConflictDoNothing({ target: clientProfiles.userProfileId, where: sql`not is_deleted` })
        .returning();
      if (!created) return (await liveClientProfile(tx, profile.id)) as ClientProfileRow;
      await writeAudit(tx, actor, [
        { action: 'create', entity: 'client_profiles', entityId: created.id, after: created },
      ]);
      await syncUserType(tx, profile, actor);
      return created;
    },

    /** Whether the user has a live provider profile. */
    async isProvider(userId: string) {
      const rows = await prepareSql(db, providerReach(sql`${userId}::uuid`))();
      return rows.length > 0;
    },

    /**
     * For the orders module, inside its transaction: a review of a provider was added (+1) or removed by
     * staff (-1). The average is recomputed from the sum and count in the same statement.
     */
    async recordProviderReview(tx: Db, providerProfileId: string, rating: number, sign: 1 | -1) {
      await tx
        .update(providerProfiles)
        .set({
          ratingSum: sql`${providerProfiles.ratingSum} + ${sign * rating}`,
          reviewCount: sql`${providerProfiles.reviewCount} + ${sign}`,
          ratingAvgX100: sql`case when ${providerProfiles.reviewCount} + ${sign} <= 0 then 0 else ((${providerProfiles.ratingSum} + ${sign * rating}) * 100) / (${providerProfiles.reviewCount} + ${sign}) end`,
        })
        .where(eq(providerProfiles.id, providerProfileId));
    },

    /** One more completed order, or one fewer when a dispute ruling takes a completed order back. */
    async recordProviderCompletedOrder(tx: Db, providerProfileId: string, sign: 1 | -1) {
      await tx
        .update(providerProfiles)
        .set({ ordersCompleted: sql`${providerProfiles.ordersCompleted} + ${sign}` })
        .where(eq(providerProfiles.id, providerProfileId));
    },

    /** The client's rating by providers, kept like the provider's. */
    async recordClientReview(tx: Db, clientProfileId: string, rating: number, sign: 1 | -1) {
      await tx
        .update(clientProfiles)
        .set({
          ratingSum: sql`${clientProfiles.ratingSum} + ${sign * rating}`,
          reviewCount: sql`${clientProfiles.reviewCount} + ${sign}`,
        })
        .where(eq(clientProfiles.id, clientProfileId));
    },

    /** For the parties of an agreed order only: how to reach this person. */
    async contactCard(tx: Db, userId: string) {
      const [row] = await tx
        .select({ sealed: sealedContactCard(sql`${userId}::uuid`) })
        .from(users)
        .where(eq(users.id, userId));
      return openContactCard(row?.sealed ?? null);
    },

    openContactCard,
  };
}

const clientExists = () => new ConflictError('client_profile_exists', 'you already have a client profile');
const providerExists = () =>
  new ConflictError('provider_profile_exists', 'you already have a provider profile');
