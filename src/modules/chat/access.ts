import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { DISPUTE_READERS } from '../orders/dispute-service.ts';
import { hasReportIn } from './report-queries.ts';
import { type ParticipantRow, participantOf, type RoomRow, roomById } from './room-queries.ts';

/** How the caller reaches a room: as one of its participants, or as staff through a dispute or a report. */
export interface RoomAccess {
  room: RoomRow;
  /** The caller's own place in the room, while they have not left it. */
  participant: ParticipantRow | undefined;
  /** Staff reading through a dispute on the order or a report of one of its messages: they see originals. */
  moderating: boolean;
}

export const chatNotFound = () => new NotFoundError('chat');

/** Staff who handle disputes and reports. */
export const isModerator = (actor: Actor) => actor.roles.some((r) => DISPUTE_READERS.includes(r));

/**
 * Who may read a room: its participants who have not left, moderators while a dispute is open on its order
 * or a report of one of its messages is theirs to read. Anyone else gets 404 `chat_not_found`, as for a
 * room that does not exist.
 */
export async function readAccess(db: Db, actor: Actor, roomId: string): Promise<RoomAccess> {
  const room = await roomById(db, roomId);
  if (!room || !actor.userId) throw chatNotFound();
  const participant = await participantOf(db, roomId, actor.userId);
  if (participant && !participant.leftAt) return { room, participant, moderating: false };
  if (isModerator(actor) && (room.disputeId !== null || (await hasReportIn(db, roomId))))
    return { room, participant: undefined, moderating: true };
  throw chatNotFound();
}

/** Who may write in a room, mark it read or report in it: only its participants who have not left. */
export async function participantAccess(db: Db, actor: Actor, roomId: string) {
  const access = await readAccess(db, actor, roomId);
  if (!access.participant) throw chatNotFound();
  return access as RoomAccess & { participant: ParticipantRow };
}
