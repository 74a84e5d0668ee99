import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { participantAccess } from './access.ts';
import type { RoomNoticePreferences } from './contract.ts';
import { NOTICE_CHANNELS } from './enums.ts';
import { lockParticipant, type ParticipantRow } from './room-queries.ts';
import { changeParticipant } from './room-service.ts';

export type NoticePreferences = ReturnType<typeof createNoticePreferences>;

/** A room's stored switches as the API shows them: a channel not switched off is left to the person's own. */
function effective(participant: ParticipantRow): RoomNoticePreferences {
  const stored = participant.notificationPreferences;
  return Object.fromEntries(
    NOTICE_CHANNELS.map((channel) => [channel, stored[channel] !== false]),
  ) as RoomNoticePreferences;
}

/**
 * What one chat's messages tell a participant (the seed's ChatParticipant.notification_preferences): a
 * person silences a busy chat on push without turning chat messages off everywhere. The notifications
 * module reads the switches through `chatNoticeSilenced` when it tells them of a message.
 */
export function createNoticePreferences({ db }: { db: Db }) {
  return {
    async get(actor: Actor, roomId: string) {
      const { participant } = await participantAccess(db, actor, roomId);
      return effective(participant);
    },

    async set(actor: Actor, roomId: string, input: Partial<RoomNoticePreferences>) {
      return db.transaction(async () => {
        const { participant: found } = await participantAccess(db, actor, roomId);
        // Locked before it is read, so two changes at once each keep the other's channel.
        const participant = await lockParticipant(db, found.id);
        const changed = await changeParticipant(db, actor, participant, {
          notificationPreferences: { ...participant.notificationPreferences, ...input },
        });
        return effective(changed);
      });
    },
  };
}
