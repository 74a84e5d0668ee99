import { and, eq, inArray } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import type { DeviceView, RegisterDeviceInput } from './contract.ts';
import { notificationDevices } from './schema.ts';

type DeviceRow = typeof notificationDevices.$inferSelect;

export const deviceView = (d: DeviceRow): DeviceView => ({
  id: d.id,
  platform: d.platform,
  session_id: d.sessionId,
  created_at: d.createdAt.toISOString(),
  updated_at: d.updatedAt.toISOString(),
});

const devicePages = idPages('notifications.devices', notificationDevices.id);

const signedIn = (actor: Actor) => {
  if (!actor.userId || !actor.sessionId) throw new NotFoundError('device');
  return { userId: actor.userId, sessionId: actor.sessionId };
};

export type DeviceService = ReturnType<typeof createDeviceService>;

/**
 * The devices that take a person's push messages, one FCM token each, registered by a session. A device
 * goes when its session ends (`session_ended`); one registered by a request that raced the end is dropped
 * the next time a push looks for it.
 */
export function createDeviceService({
  db,
  isSessionLive,
}: {
  db: Db;
  isSessionLive: (sessionId: string) => boolean | Promise<boolean>;
}) {
  return {
    /** Registers the token for the caller's session; a token registered before moves here. */
    async registerDevice(actor: Actor, input: RegisterDeviceInput): Promise<DeviceView> {
      const { userId, sessionId } = signedIn(actor);
      const [device] = await db
        .insert(notificationDevices)
        .values({ userId, sessionId, token: input.token, platform: input.platform })
        .onConflictDoUpdate({
          target: notificationDevices.token,
          set: { userId, sessionId, platform: input.platform, updatedAt: new Date() },
        })
        .returning();
      return deviceView(device as DeviceRow);
    },

    async listDevices(actor: Actor, request: PageRequest): Promise<PageResult<DeviceView>> {
      const { userId } = signedIn(actor);
      const page = devicePages(request);
      const rows = await db
        .select()
        .from(notificationDevices)
        .where(and(eq(notificationDevices.userId, userId), page.where))
        .orderBy(page.orderBy)
        .limit(page.limit);
      return page.page(rows, (r) => r.id, deviceView);
    },

    async removeDevice(actor: Actor, id: string) {
      const { userId } = signedIn(actor);
      const gone = await db
        .delete(notificationDevices)
        .where(and(eq(notificationDevices.id, id), eq(notificationDevices.userId, userId)))
        .returning({ id: notificationDevices.id });
      if (gone.length === 0) throw new NotFoundError('device');
    },

    /** Whether the person has a device registered: push is one of their channels. */
    async hasDevice(userId: string) {
      const [one] = await db
        .select({ id: notificationDevices.id })
        .from(notificationDevices)
        .where(eq(notificationDevices.userId, userId))
        .limit(1);
      return one !== undefined;
    },

    /** The tokens of the person's devices whose sessions are live; those of ended sessions go. */
    async liveTokens(userId: string): Promise<string[]> {
      const devices = await db
        .select()
        .from(notificationDevices)
        .where(eq(notificationDevices.userId, userId));
      const ended: string[] = [];
      const tokens: string[] = [];
      for (const device of devices) {
        if (await isSessionLive(device.sessionId)) tokens.push(device.token);
        else ended.push(device.id);
      }
      if (ended.length > 0)
        await db.delete(notificationDevices).where(inArray(notificationDevices.id, ended));
      return tokens;
    },

    /** The session ended: its devices take no more pushes. Safe to run twice. */
    async forgetSession(userId: string, sessionId: string) {
      await db
        .delete(notificationDevices)
        .where(and(eq(notificationDevices.userId, userId), eq(notificationDevices.sessionId, sessionId)));
    },

    /** FCM answered that the token is invalid or no longer registered. */
    async forgetToken(token: string) {
      await db.delete(notificationDevices).where(eq(notificationDevices.token, token));
    },
  };
}
