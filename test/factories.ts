import { hash } from '@node-rs/argon2';
import { emailColumns } from '../src/modules/users/identifiers.ts';
import { userSessions, users } from '../src/modules/users/schema.ts';
import type { Role } from '../src/platform/actor.ts';
import type { TestApp } from './helper.ts';

let sequence = 0;

/** Every factory user's password, for what asks for it again (closing, erasing, exporting). */
export const TEST_PASSWORD = 'factory password';
// Hashed once per test file, and cheaply: the check reads the cost from the hash, so it stays cheap too.
const passwordHash = hash(TEST_PASSWORD, { memoryCost: 1024, timeCost: 1 });

/**
 * A signed-in user with the given roles and the password TEST_PASSWORD, made straight in the database: for
 * tests of other modules.
 */
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
      passwordHash: await passwordHash,
    })
    .returning();
  const [session] = await t.db
    .insert(userSessions)
    .values({ userId: user!.id, expiresAt: new Date(Date.now() + 86_400_000) })
    .returning();
  const token = await signer.sign({ userId: user!.id, sessionId: session!.id, roles });
  return {
    user: user!,
    email,
    token,
    auth: { authorization: `Bearer ${token}` },
    /** The body that confirms it is them. */
    reauth: { password: TEST_PASSWORD },
  };
}
