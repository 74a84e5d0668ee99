import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { FieldCipher } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import type { SoftDeletes } from '../../platform/soft-delete.ts';
import type { ContactInfoValue } from './profile-contract.ts';
import {
  addClientReview,
  addProviderCompletedOrder,
  addProviderReview,
  addToClientCounters,
  type ClientProfileRow,
  insertClientProfileUnlessLive,
  liveClientProfile,
  liveProfileId,
  liveProviderIdsIn,
  providerReachOf,
  sealedContactCardOf,
} from './profile-queries.ts';
import type { ProfileRecords } from './profile-records.ts';
import { decryptJson } from './profile-views.ts';
import type { SealedContactCard } from './queries.ts';
import { userProfiles } from './schema.ts';

/** What other modules (orders, privacy, verification) call on profiles, each in the caller's transaction. */
export function createProfileCalls({
  db,
  cipher,
  softDeletes,
  records,
}: {
  db: Db;
  cipher: FieldCipher;
  softDeletes: SoftDeletes;
  records: ProfileRecords;
}) {
  /** Opens a `sealedContactCard` (queries.ts) that another module's read carried. */
  function openContactCard(sealed: SealedContactCard | null) {
    if (!sealed) return null;
    return {
      full_name: sealed.full_name,
      phone: sealed.phone ? cipher.decrypt(sealed.phone) : null,
      email: sealed.email ? cipher.decrypt(sealed.email) : null,
      contact_info: decryptJson<ContactInfoValue>(cipher, sealed.contact_info),
    };
  }

  return {
    /**
     * Soft-deletes the caller's profile and everything under it (client and provider profiles, services,
     * verifications) under one deletion id, so staff can restore exactly that.
     */
    async deleteProfileTree(tx: Db, actor: Actor, userId: string) {
      const profileId = await liveProfileId(tx, userId);
      if (!profileId) return null;
      return softDeletes.softDelete(tx, actor, userProfiles, [profileId]);
    },

    /** For the orders module: adjusts a client's order counters, in the caller's transaction when it has one. */
    async adjustClientCounters(
      userId: string,
      delta: { total?: number; completed?: number; cancelled?: number },
    ) {
      const profileId = await liveProfileId(db, userId);
      if (!profileId) return;
      await addToClientCounters(db, profileId, delta);
    },

    /** Which of these provider profile ids are live: for other modules that reference providers. */
    async liveProviderIds(ids: string[]) {
      if (ids.length === 0) return [];
      return liveProviderIdsIn(db, ids);
    },

    /** For the orders module: the caller's client profile, made when they place their first order. */
    async ensureClientProfile(tx: Db, actor: Actor) {
      const profile = await records.ensureProfile(tx, actor);
      const existing = await liveClientProfile(tx, profile.id);
      if (existing) return existing;
      const created = await insertClientProfileUnlessLive(tx, profile.id);
      if (!created) return (await liveClientProfile(tx, profile.id)) as ClientProfileRow;
      await writeAudit(tx, actor, [
        { action: 'create', entity: 'client_profiles', entityId: created.id, after: created },
      ]);
      await records.syncUserType(tx, profile, actor);
      return created;
    },

    /** Whether the user has a live provider profile. */
    async isProvider(userId: string) {
      const rows = await providerReachOf(db, userId);
      return rows.length > 0;
    },

    /**
     * For the orders module, inside its transaction: a review of a provider was added (+1) or removed by
     * staff (-1). The average is recomputed from the sum and count in the same statement.
     */
    async recordProviderReview(tx: Db, providerProfileId: string, rating: number, sign: 1 | -1) {
      await addProviderReview(tx, providerProfileId, rating, sign);
    },

    /** One more completed order, or one fewer when a dispute ruling takes a completed order back. */
    async recordProviderCompletedOrder(tx: Db, providerProfileId: string, sign: 1 | -1) {
      await addProviderCompletedOrder(tx, providerProfileId, sign);
    },

    /** The client's rating by providers, kept like the provider's. */
    async recordClientReview(tx: Db, clientProfileId: string, rating: number, sign: 1 | -1) {
      await addClientReview(tx, clientProfileId, rating, sign);
    },

    /** For the parties of an agreed order only: how to reach this person. */
    async contactCard(tx: Db, userId: string) {
      return openContactCard(await sealedContactCardOf(tx, userId));
    },

    openContactCard,
  };
}
