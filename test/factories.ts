import { emailColumns } from '../src/modules/users/identifiers.ts';
import { userSessions, users } from '../src/modules/users/schema.ts';
import type { Role } from '../src/platform/actor.ts';
import type { TestApp } from './helper.ts';

let sequence = 0;

/** A signed-in user with the given roles, made straight in the database: for tests of other modules. */
export async function signedInUser(t: TestApp, roles: Role[] = ['client'], fullName = 'Test User') {
  const n = ++sequence;
  const email = `user${n}.${Date.now()}@example.kg`;
  const { cipher, signer } = t.app.services;
  const [user] = await t.db
    .insert(users)
    .values({
      fullName,
      roles,
      ...emailColumns(cipher, email),
    })
    .returning();
  const [session] = await t.db
    .insert(userSessions)
    .values({ userId: user!.id, expiresAt: new Date(Date.now() + 86_400_000) })
    .returning();
  const token = await signer.sign({ userId: user!.id, sessionId: session!.id, roles });
  return { user: user!, email, token, auth: { authorization: `Bearer ${token}` } };
}
