import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import {
  ConflictError,
  NotFoundError,
  onUniqueViolation,
  RuleViolationError,
} from '../../platform/errors.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import type { SoftDeletes } from '../../platform/soft-delete.ts';
import { checkPriceRange } from '../core/price-range.ts';
import type { CatalogService } from '../core/service.ts';
import { checkAvailability } from './profile-availability.ts';
import type { CreateServiceInput, ServiceView, UpdateServiceInput } from './profile-contract.ts';
import { insertService, liveServiceOf, liveServicesOf, updateService } from './profile-queries.ts';
import type { ProfileRecords } from './profile-records.ts';
import { serviceView } from './profile-views.ts';
import { providerServices } from './schema.ts';

const servicePages = idPages('users.my_services', providerServices.id);

/** A provider's services: one per subcategory, priced within the category's range, each in the listing. */
export function createProviderServices({
  db,
  catalog,
  softDeletes,
  records,
  refreshListing,
}: {
  db: Db;
  catalog: Pick<CatalogService, 'subcategoryTerms'>;
  softDeletes: SoftDeletes;
  records: ProfileRecords;
  refreshListing: (tx: Db, providerId: string) => Promise<void>;
}) {
  async function loadOwnService(tx: Db, actor: Actor, serviceId: string) {
    const provider = await records.providerOf(actor);
    const service = await liveServiceOf(tx, serviceId, provider.id);
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
    checkPriceRange(terms, { base_price: basePrice }, { code: 'price_out_of_range', what: 'price' });
  }

  return {
    async listServices(actor: Actor, request: PageRequest): Promise<PageResult<ServiceView>> {
      const page = servicePages(request);
      const provider = await records.providerOf(actor);
      const rows = await liveServicesOf(db, provider.id, page);
      return page.page(rows, (s) => s.id, serviceView);
    },

    async getService(actor: Actor, serviceId: string) {
      const { service } = await loadOwnService(db, actor, serviceId);
      return serviceView(service);
    },

    async createService(actor: Actor, input: CreateServiceInput) {
      checkAvailability(input.availability, 'availability');
      await checkPrice(input.subcategory_id, input.base_price);
      return onUniqueViolation(
        db.transaction(async (tx) => {
          const provider = await records.providerOf(actor);
          const created = await insertService(tx, {
            providerProfileId: provider.id,
            subcategoryId: input.subcategory_id,
            description: input.description ?? null,
            basePrice: input.base_price,
            priceType: input.price_type ?? 'fixed',
            availability: input.availability ?? null,
          });
          await writeAudit(tx, actor, [
            { action: 'create', entity: 'provider_services', entityId: created.id, after: created },
          ]);
          await refreshListing(tx, provider.id);
          return serviceView(created);
        }),
        {
          provider_services_subcategory_live_uq: () =>
            new ConflictError(
              'service_already_offered',
              'you already offer a service in this subcategory; edit it',
            ),
        },
      );
    },

    async updateService(actor: Actor, serviceId: string, input: UpdateServiceInput) {
      checkAvailability(input.availability, 'availability');
      if (input.base_price !== undefined) {
        const { service } = await loadOwnService(db, actor, serviceId);
        await checkPrice(service.subcategoryId, input.base_price);
      }
      return db.transaction(async (tx) => {
        const { provider, service: before } = await loadOwnService(tx, actor, serviceId);
        const after = await updateService(tx, before.id, {
          description: input.description,
          basePrice: input.base_price,
          priceType: input.price_type,
          availability: input.availability,
          isActive: input.is_active,
        });
        await writeAudit(tx, actor, [
          { action: 'update', entity: 'provider_services', entityId: before.id, before, after },
        ]);
        if (input.description !== undefined || input.is_active !== undefined)
          await refreshListing(tx, provider.id);
        return serviceView(after);
      });
    },

    async deleteService(actor: Actor, serviceId: string) {
      await db.transaction(async (tx) => {
        const { provider, service } = await loadOwnService(tx, actor, serviceId);
        await softDeletes.softDelete(tx, actor, providerServices, [service.id]);
        await refreshListing(tx, provider.id);
      });
    },
  };
}
