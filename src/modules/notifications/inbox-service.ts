import { and, arrayContains, count, eq, inArray, isNull, ne, type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import type { InboxFilter, NotificationView } from './contract.ts';
import { notificationLogs, userNotifications } from './schema.ts';

type NotificationRow = typeof userNotifications.$inferSelect;

export const notificationView = (n: NotificationRow): NotificationView => ({
  id: n.id,
  type: n.notificationType,
  priority: n.priority,
  status: n.status,
  subject: n.subject,
  message: n.message,
  link: n.link,
  context: n.contextData,
  created_at: n.createdAt.toISOString(),
  seen_at: n.seenAt?.toISOString() ?? null,
  read_at: n.readAt?.toISOString() ?? null,
  archived_at: n.archivedAt?.toISOString() ?? null,
});

const inboxPages = idPages('notifications.inbox', userNotifications.id);

const userOf = (actor: Actor) => {
  if (!actor.userId) throw new NotFoundError('notification');
  return actor.userId;
};

export type InboxService = ReturnType<typeof createInboxService>;

/**
 * The in-app inbox: a person's notifications that went to `in_app`, newest first. A person reaches only
 * their own: anyone else's id is not found.
 */
export function createInboxService({ db }: { db: Db }) {
  const inboxOf = (userId: string): SQL =>
    and(eq(userNotifications.userId, userId), arrayContains(userNotifications.channels, ['in_app'])) as SQL;

  async function change(
    actor: Actor,
    id: string,
    set: (before: NotificationRow) => Partial<NotificationRow>,
    action: 'read' | 'archived',
  ): Promise<NotificationView> {
    const userId = userOf(actor);
    return db.transaction(async (tx) => {
      const [before] = await tx
        .select()
        .from(userNotifications)
        .where(and(eq(userNotifications.id, id), inboxOf(userId)))
        .for('update');
      if (!before) throw new NotFoundError('notification');
      const [after] = await tx
        .update(userNotifications)
        .set(set(before))
        .where(eq(userNotifications.id, id))
        .returning();
      await tx
        .insert(notificationLogs)
        .values({ notificationId: id, userId, action, channel: 'in_app', details: { from: before.status } });
      return notificationView(after as NotificationRow);
    });
  }

  return {
    async listNotifications(
      actor: Actor,
      filter: InboxFilter,
      request: PageRequest,
    ): Promise<PageResult<NotificationView>> {
      const userId = userOf(actor);
      const page = inboxPages(request);
      const rows = await db
        .select()
        .from(userNotifications)
        .where(
          and(
            inboxOf(userId),
            page.where,
            filter.status
              ? inArray(userNotifications.status, filter.status)
              : ne(userNotifications.status, 'archived'),
            filter.type ? inArray(userNotifications.notificationType, filter.type) : undefined,
          ),
        )
        .orderBy(page.orderBy)
        .limit(page.limit);
      return page.page(rows, (r) => r.id, notificationView);
    },

    async unreadCount(actor: Actor) {
      const [row] = await db
        .select({ unread: count() })
        .from(userNotifications)
        .where(and(inboxOf(userOf(actor)), eq(userNotifications.status, 'unread')));
      return { unread: row?.unread ?? 0 };
    },

    /** The app showed the inbox: every item not seen before is seen now (it stays unread). */
    async markSeen(actor: Actor) {
      const seen = await db
        .update(userNotifications)
        .set({ seenAt: new Date() })
        .where(and(inboxOf(userOf(actor)), isNull(userNotifications.seenAt)))
        .returning({ id: userNotifications.id });
      return { changed: seen.length };
    },

    /** An archived item stays archived; reading it again keeps when it was first read. */
    async markRead(actor: Actor, id: string) {
      return change(
        actor,
        id,
        (before) => {
          const now = new Date();
          return {
            status: before.status === 'archived' ? 'archived' : 'read',
            readAt: before.readAt ?? now,
            seenAt: before.seenAt ?? now,
          };
        },
        'read',
      );
    },

    async markAllRead(actor: Actor) {
      const read = await db
        .update(userNotifications)
        .set({
          status: 'read',
          readAt: new Date(),
          seenAt: sql`coalesce(${userNotifications.seenAt}, now())` as never,
        })
        .where(and(inboxOf(userOf(actor)), eq(userNotifications.status, 'unread')))
        .returning({ id: userNotifications.id });
      return { changed: read.length };
    },

    async archive(actor: Actor, id: string) {
      return change(
        actor,
        id,
        (before) => ({ status: 'archived', archivedAt: before.archivedAt ?? new Date() }),
        'archived',
      );
    },
  };
}
