import { Type } from 'typebox';

export const ROLES = ['client', 'provider', 'admin', 'moderator', 'finance', 'analyst'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = Type.Enum(ROLES);
export const STAFF_ROLES: readonly Role[] = ['admin', 'moderator', 'finance', 'analyst'];

/** Who is acting: a signed-in user, or the system itself (jobs, seeds, CLI). */
export interface Actor {
  userId: string | null;
  sessionId: string | null;
  roles: readonly Role[];
  requestId: string | null;
}

export const systemActor = (requestId: string | null = null): Actor => ({
  userId: null,
  sessionId: null,
  roles: ['admin'],
  requestId,
});

export const isStaff = (actor: Actor) => actor.roles.some((r) => STAFF_ROLES.includes(r));
