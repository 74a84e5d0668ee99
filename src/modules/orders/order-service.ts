import type { FieldCipher } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import type { CaseRules } from '../../platform/own-case.ts';
import type { SearchVocabulary } from '../../platform/search/service.ts';
import type { SoftDeletes } from '../../platform/soft-delete.ts';
import type { FileService } from '../../platform/storage/service.ts';
import type { CatalogService } from '../core/service.ts';
import type { ProfileService } from '../users/profile-service.ts';
import type { OrderEvents } from './events.ts';
import { createAddonSync } from './order-addons.ts';
import { createOrderCommands } from './order-commands.ts';
import { createPhotoSync } from './order-photos.ts';
import { createOrderReads } from './order-reads.ts';
import { createOrderRules } from './order-rules.ts';
import { createOrderViews } from './order-views.ts';
import { createOrderWork } from './order-work.ts';
import type { Settling } from './settling.ts';

export type OrderService = ReturnType<typeof createOrderService>;

/** What the order services are made of. */
export interface OrderServiceDeps {
  db: Db;
  cipher: FieldCipher;
  catalog: CatalogService;
  files: FileService;
  profiles: ProfileService;
  events: OrderEvents;
  vocabulary: SearchVocabulary;
  cases: Pick<CaseRules, 'assertNotOwnCase'>;
  softDeletes: SoftDeletes;
  settling: Settling;
}

/**
 * Orders: the client's commands (order-commands.ts), the agreed work (order-work.ts) and the reads
 * (order-reads.ts), held to the rules of order-rules.ts and shown as order-views.ts shows them.
 */
export function createOrderService(deps: OrderServiceDeps) {
  const views = createOrderViews(deps);
  return {
    ...createOrderCommands({
      ...deps,
      rules: createOrderRules(deps),
      views,
      syncAddons: createAddonSync(deps),
      syncPhotos: createPhotoSync(deps),
    }),
    ...createOrderWork({ ...deps, views }),
    ...createOrderReads({ ...deps, views }),
  };
}
