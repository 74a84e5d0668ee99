import { sql } from 'drizzle-orm';
import type { FieldCipher } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import { LANGUAGES, type LanguageCode } from '../../platform/i18n.ts';
import { type NotificationAddress, notificationAddress } from '../users/queries.ts';

export interface Recipient {
  userId: string;
  fullName: string;
  gender: string | null;
  language: LanguageCode | null;
  email: string | null;
  phone: string | null;
}

export type Recipients = ReturnType<typeof createRecipients>;

/** Who a person is for a notification, through the users module's read model; undefined when gone. */
export function createRecipients({ db, cipher }: { db: Db; cipher: Pick<FieldCipher, 'decrypt'> }) {
  return {
    async find(userId: string): Promise<Recipient | undefined> {
      // Built for each call: it runs inside the event handler's transaction, which a prepared one would leave.
      const { rows } = (await db.execute(
        sql`select * from (${notificationAddress(sql`${userId}::uuid`)}) r`,
      )) as unknown as { rows: NotificationAddress[] };
      const [row] = rows;
      if (!row?.live) return undefined;
      return {
        userId,
        fullName: row.full_name,
        gender: row.gender,
        language: LANGUAGES.includes(row.language as LanguageCode) ? (row.language as LanguageCode) : null,
        email: row.email ? cipher.decrypt(row.email) : null,
        phone: row.phone ? cipher.decrypt(row.phone) : null,
      };
    },

    /** Where mail or a text reaches the person; null where they have no such address. */
    addressOf(recipient: Recipient, channel: 'email' | 'sms'): string | null {
      return channel === 'email' ? recipient.email : recipient.phone;
    },
  };
}
