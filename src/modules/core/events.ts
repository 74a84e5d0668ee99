import type { DomainEvent, Emitter } from '../../platform/events.ts';

/** What the catalog tells: each is emitted in the transaction of the change. */
export const CATALOG_EVENTS = [
  /** Staff deleted a category, and with it its subcategories. */
  'category_deleted',
  /** Staff restored a category, and what its deletion took. */
  'category_restored',
  /** Staff deleted a subcategory on its own. */
  'subcategory_deleted',
  /** Staff restored a subcategory deleted on its own. */
  'subcategory_restored',
] as const;
export type CatalogEventType = (typeof CATALOG_EVENTS)[number];

export interface CatalogEvent extends DomainEvent<CatalogEventType> {
  /** The category deleted or restored, or the subcategory's category. */
  category_id: string;
  /** For the subcategory events: the subcategory deleted or restored. */
  subcategory_id?: string;
  /**
   * The deletion: a module that takes rows of its own with it marks them with this id, and the restore
   * brings back what holds it.
   */
  deletion_id: string;
  /** The subcategories the deletion took, or the restore brought back. */
  subcategory_ids: string[];
  /** Who did it, and in which request: for the audit trail of what follows. */
  actor_id: string | null;
  request_id: string | null;
  /** ISO 8601. */
  at: string;
}

export type CatalogEvents = Emitter<CatalogEvent>;
