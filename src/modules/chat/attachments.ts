import { and, eq, sql } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import type { AttachmentKind } from '../../platform/storage/service.ts';
import { readAccess } from './access.ts';
import { REPORT_MODERATORS } from './report-service.ts';
import { chatMessages, chatReports } from './schema.ts';

/**
 * A message's attachments are shown to whoever reads its room: its participants, and moderators through a
 * dispute on its order or a report in it. Each file was attached by its owner, the message's sender, so the
 * messages are found through the sender's index.
 */
export function chatAttachments(db: Db): AttachmentKind[] {
  return [
    {
      name: 'chat attachments',
      purpose: 'chat_attachment',
      visibleTo: 'the chat’s participants, and moderators through a dispute on its order or a report in it',
      async canSee(actor: Actor, file) {
        const rooms = await db
          .selectDistinct({ roomId: chatMessages.roomId })
          .from(chatMessages)
          .where(
            and(
              eq(chatMessages.senderUserId, file.ownerId),
              sql`${chatMessages.attachments} @> ${JSON.stringify([{ file_id: file.id }])}::jsonb`,
            ),
          );
        for (const { roomId } of rooms) {
          if (
            await readAccess(db, actor, roomId).then(
              () => true,
              () => false,
            )
          )
            return true;
        }
        return false;
      },
    },
    {
      name: 'chat report evidence',
      purpose: 'chat_attachment',
      visibleTo: `the moderators who review chat reports (${REPORT_MODERATORS.join(', ')})`,
      async canSee(actor: Actor, file) {
        if (!actor.roles.some((r) => (REPORT_MODERATORS as readonly string[]).includes(r))) return false;
        const [found] = await db
          .select({ id: chatReports.id })
          .from(chatReports)
          .where(
            and(
              eq(chatReports.reporterUserId, file.ownerId),
              sql`${file.id}::uuid = any(${chatReports.evidenceFileIds})`,
            ),
          )
          .limit(1);
        return found !== undefined;
      },
    },
  ];
}
