import { eq, sql } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, NotFoundError } from '../../platform/errors.ts';
import {
  CHANNELS,
  type Channel,
  CRITICAL_TYPES,
  channelAllowed,
  NOTIFICATION_TYPES,
  type NotificationType,
  type PreferencesView,
  type UpdatePreferencesInput,
} from './contract.ts';
import { notificationPreferences } from './schema.ts';

type Defaults = Record<NotificationType, Record<Channel, boolean>>;
type PreferenceRow = typeof notificationPreferences.$inferSelect;

/** Mail for what a person acts on or must keep; the rest stays in the app and on the phone. */
const EMAIL_BY_DEFAULT: readonly NotificationType[] = [
  'bid_accepted',
  'order_assigned',
  'order_completed',
  'payment_success',
  'payment_failed',
  'refund_update',
  'dispute_update',
  'verification_update',
  'new_sign_in',
  'system_alert',
];
/** SMS costs money: by default only a sign-in from a new device and a failed payment. */
const SMS_BY_DEFAULT: readonly NotificationType[] = ['new_sign_in', 'payment_failed'];

/** The platform's defaults in code; the setting `notification_channel_defaults` overrides cells of it. */
const BUILT_IN_DEFAULTS = Object.fromEntries(
  NOTIFICATION_TYPES.map((type) => [
    type,
    {
      in_app: true,
      push: type !== 'promotional',
      email: EMAIL_BY_DEFAULT.includes(type),
      sms: SMS_BY_DEFAULT.includes(type),
    },
  ]),
) as Defaults;

export type PreferenceService = ReturnType<typeof createPreferenceService>;

export function createPreferenceService({
  db,
  settingValue,
}: {
  db: Db;
  settingValue: (key: string, fallback: unknown) => Promise<unknown>;
}) {
  async function platformDefaults(): Promise<Defaults> {
    const override = (await settingValue('notification_channel_defaults', {})) as Record<
      string,
      Record<string, unknown>
    > | null;
    return Object.fromEntries(
      NOTIFICATION_TYPES.map((type) => [
        type,
        Object.fromEntries(
          CHANNELS.map((channel) => {
            const given = override?.[type]?.[channel];
            const value = typeof given === 'boolean' ? given : BUILT_IN_DEFAULTS[type][channel];
            return [channel, value && channelAllowed(type, channel)];
          }),
        ),
      ]),
    ) as Defaults;
  }

  const locked = (defaults: Defaults, type: NotificationType, channel: Channel) =>
    !channelAllowed(type, channel) || (CRITICAL_TYPES.includes(type) && defaults[type][channel]);

  function effective(row: PreferenceRow | undefined, defaults: Defaults): PreferencesView {
    const switches = row?.channelPreferences ?? {};
    const choices = row?.typePreferences ?? {};
    return {
      channels: Object.fromEntries(CHANNELS.map((c) => [c, switches[c] !== false])) as Record<
        Channel,
        boolean
      >,
      types: NOTIFICATION_TYPES.map((type) => {
        const critical = CRITICAL_TYPES.includes(type);
        return {
          type,
          critical,
          channels: Object.fromEntries(
            CHANNELS.map((channel) => {
              const byDefault = defaults[type][channel];
              const isLocked = locked(defaults, type, channel);
              const choice = choices[type]?.[channel];
              const chosen = typeof choice === 'boolean' ? choice : null;
              const enabled = isLocked
                ? byDefault
                : (chosen ?? byDefault) && (critical || switches[channel] !== false);
              return [channel, { enabled, choice: chosen, default: byDefault, locked: isLocked }];
            }),
          ) as PreferencesView['types'][number]['channels'],
        };
      }),
    };
  }

  async function rowOf(tx: Db, userId: string, lock?: 'update') {
    const query = tx.select().from(notificationPreferences).where(eq(notificationPreferences.userId, userId));
    const [row] = lock ? await query.for(lock) : await query;
    return row;
  }

  const userOf = (actor: Actor) => {
    if (!actor.userId) throw new NotFoundError('user');
    return actor.userId;
  };

  return {
    platformDefaults,

    /** The channels a notification of `type` goes to for this person now. */
    async enabledChannels(userId: string, type: NotificationType): Promise<Channel[]> {
      const view = effective(await rowOf(db, userId), await platformDefaults());
      const cells = view.types.find((t) => t.type === type)?.channels;
      return CHANNELS.filter((c) => cells?.[c].enabled);
    },

    async getPreferences(actor: Actor): Promise<PreferencesView> {
      return effective(await rowOf(db, userOf(actor)), await platformDefaults());
    },

    /**
     * Changes the switches and choices the body names, leaving the others. A critical type's channel that is
     * on by default cannot be turned off (409 `notification_type_critical`), nor SMS turned on for a type
     * that never uses it (409 `channel_not_allowed`); either refuses the whole change.
     */
    async updatePreferences(actor: Actor, input: UpdatePreferencesInput): Promise<PreferencesView> {
      const userId = userOf(actor);
      const defaults = await platformDefaults();
      for (const [type, cells] of Object.entries(input.types ?? {}) as [
        NotificationType,
        Partial<Record<Channel, boolean | null>>,
      ][]) {
        for (const [channel, value] of Object.entries(cells) as [Channel, boolean | null][]) {
          if (value === true && !channelAllowed(type, channel)) {
            throw new ConflictError('channel_not_allowed', `${type} is never sent by ${channel}`);
          }
          if (value === false && locked(defaults, type, channel)) {
            throw new ConflictError(
              'notification_type_critical',
              `${type} is critical: it is always sent by ${channel}`,
            );
          }
        }
      }
      return db.transaction(async (tx) => {
        // Two changes at once each merge into what the other saved: the row is made if missing, then locked
        // before it is read, so the second waits for the first and reads what it wrote.
        await tx.insert(notificationPreferences).values({ userId }).onConflictDoNothing();
        const row = await rowOf(tx, userId, 'update');
        const switches = { ...row?.channelPreferences, ...input.channels };
        const choices: Record<string, Record<string, boolean>> = { ...row?.typePreferences };
        for (const [type, cells] of Object.entries(input.types ?? {})) {
          const merged: Record<string, boolean> = { ...choices[type] };
          for (const [channel, value] of Object.entries(cells ?? {})) {
            if (value === null || value === undefined) delete merged[channel];
            else merged[channel] = value;
          }
          if (Object.keys(merged).length > 0) choices[type] = merged;
          else delete choices[type];
        }
        const [saved] = await tx
          .update(notificationPreferences)
          .set({ channelPreferences: switches, typePreferences: choices, updatedAt: sql`now()` })
          .where(eq(notificationPreferences.userId, userId))
          .returning();
        return effective(saved, defaults);
      });
    },
  };
}
