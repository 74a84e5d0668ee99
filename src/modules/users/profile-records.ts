import type { Actor, Role } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, NotFoundError, RuleViolationError } from '../../platform/errors.ts';
import { updateUser, userRow } from './account-queries.ts';
import {
  insertProfileUnlessLive,
  liveClientProfile,
  liveProfile,
  liveProviderProfile,
  type UserProfileRow,
  updateProfile,
} from './profile-queries.ts';

export type ProfileRecords = ReturnType<typeof createProfileRecords>;

/** The profile rows every profile service starts from: the user's, and its client and provider profiles. */
export function createProfileRecords({ db }: { db: Db }) {
  /**
   * A user's profile row, made on first need: every account has exactly one live profile. Two first
   * requests at once both try the insert; the partial unique index lets one in and the other reads it.
   */
  async function ensureProfile(tx: Db, actor: Actor, userId = actor.userId ?? ''): Promise<UserProfileRow> {
    const existing = await liveProfile(tx, userId);
    if (existing) return existing;
    const created = await insertProfileUnlessLive(tx, userId);
    if (created) {
      await writeAudit(tx, actor, [
        { action: 'create', entity: 'user_profiles', entityId: created.id, after: created },
      ]);
      return created;
    }
    const raced = await liveProfile(tx, userId);
    if (!raced)
      throw new ConflictError('concurrent_update', 'the profile changed while you were updating it; retry');
    return raced;
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
    providerOf,
    clientOf,

    /** The caller's own provider profile, where having none is "not found" rather than a rule. */
    ownProviderProfile: (actor: Actor) => providerOf(actor).catch(notFoundWhenMissing('provider_profile')),

    /** The caller's own client profile, where having none is "not found" rather than a rule. */
    ownClientProfile: (tx: Db, actor: Actor) =>
      clientOf(tx, actor).catch(notFoundWhenMissing('client_profile')),

    /** Keeps user_type and the account's roles in step with the profiles that exist. */
    async syncUserType(tx: Db, profile: UserProfileRow, actor: Actor) {
      const isClient = (await liveClientProfile(tx, profile.id)) !== undefined;
      const isProvider = (await liveProviderProfile(tx, profile.id)) !== undefined;
      const userType =
        isClient && isProvider ? 'both' : isProvider ? 'service_provider' : isClient ? 'client' : null;
      await updateProfile(tx, profile.id, { userType });
      const user = await userRow(tx, profile.userId);
      if (!user) return;
      const wanted: Role[] = [
        ...(isClient ? (['client'] as const) : []),
        ...(isProvider ? (['provider'] as const) : []),
      ];
      const missing = wanted.filter((r) => !user.roles.includes(r));
      if (missing.length === 0) return;
      const after = await updateUser(tx, user.id, { roles: [...user.roles, ...missing] });
      await writeAudit(tx, actor, [
        { action: 'update', entity: 'users', entityId: user.id, before: user, after },
      ]);
    },
  };
}

const notFoundWhenMissing =
  (entity: string) =>
  (error: unknown): never => {
    if (error instanceof RuleViolationError) throw new NotFoundError(entity);
    throw error;
  };
