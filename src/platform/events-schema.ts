import { pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { newId } from './columns.ts';

/**
 * The events each subscriber has handled: its handler's effect commits with its row here, and a second
 * delivery of the event finds the row and does nothing. Append-only, so there is no updated_at; the id
 * (UUIDv7) says when the event was handled, which is what the purge goes by.
 */
export const eventDeliveries = pgTable(
  'event_deliveries',
  {
    id: uuid('id').primaryKey().$defaultFn(newId),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** The subscriber's queue, `<module>.on.<event type>`. */
    subscriber: text('subscriber').notNull(),
    eventId: uuid('event_id').notNull(),
  },
  (t) => [uniqueIndex('event_deliveries_subscriber_event_uq').on(t.subscriber, t.eventId)],
);
