import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { NotFoundError, RuleViolationError } from '../../platform/errors.ts';
import { idPages, type PageRequest } from '../../platform/pagination.ts';
import {
  deleteFavorite,
  favoritesOf,
  insertFavoriteUnlessThere,
  providerForFavorite,
} from './profile-queries.ts';
import type { ProfileRecords } from './profile-records.ts';
import { favoriteProviders } from './schema.ts';

const favoritePages = idPages('users.my_favorites', favoriteProviders.id);

/** A client's favorite providers. */
export function createFavorites({ db, records }: { db: Db; records: ProfileRecords }) {
  return {
    /** Adding a favorite twice is fine: the answer is the same and nothing doubles. */
    async addFavorite(actor: Actor, providerId: string) {
      const provider = await providerForFavorite(db, providerId);
      if (!provider) throw new NotFoundError('provider');
      return db.transaction(async (tx) => {
        const { profile, client } = await records.clientOf(tx, actor);
        if (provider.userProfileId === profile.id) {
          throw new RuleViolationError(
            'cannot_favorite_self',
            'you cannot add your own provider profile to favorites',
          );
        }
        const created = await insertFavoriteUnlessThere(tx, client.id, provider.id);
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
        const { client } = await records.clientOf(tx, actor);
        const removed = await deleteFavorite(tx, client.id, providerId);
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
      const { client } = await records.clientOf(db, actor);
      const rows = await favoritesOf(db, client.id, page);
      return page.page(
        rows,
        (r) => r.id,
        (r) => r,
      );
    },
  };
}
