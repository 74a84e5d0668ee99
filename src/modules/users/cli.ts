import { pino } from 'pino';
import { Value } from 'typebox/value';
import { createTokenSigner } from '../../platform/auth.ts';
import { createCache } from '../../platform/cache.ts';
import type { Config } from '../../platform/config.ts';
import { ConfigError } from '../../platform/config.ts';
import { createFieldCipher } from '../../platform/crypto.ts';
import type { Database } from '../../platform/db.ts';
import { createEventBus } from '../../platform/events.ts';
import { createJobs } from '../../platform/jobs.ts';
import { createCaseRules } from '../../platform/own-case.ts';
import { Email, Password } from './contract.ts';
import { createAccountService } from './service.ts';
import { createSignInThrottle } from './sign-in-throttle.ts';

/** `npm run admin:create -- --email ... --password ...`: the way the first staff account comes to be. */
export async function createAdmin(
  database: Database,
  config: Config,
  args: { email?: string; password?: string; name?: string },
) {
  if (!args.email || !Value.Check(Email, args.email))
    throw new ConfigError('admin:create needs --email with a valid email');
  if (!args.password || !Value.Check(Password, args.password)) {
    throw new ConfigError('admin:create needs --password of 8 to 128 characters');
  }
  // Never used here (the command signs no one in, nor blocks anyone); a queue that is not started makes no
  // connection, and with no subscribers nothing is emitted.
  const events = createEventBus({
    db: database.db,
    jobs: createJobs({ database, log: pino({ level: 'silent' }), work: false }),
  });
  const accounts = createAccountService({
    db: database.db,
    cache: createCache(),
    signer: createTokenSigner(config.secrets.jwtSecret, config.accessTokenTtlSeconds),
    sms: { send: async () => ({ messageId: null, response: {} }) },
    cipher: createFieldCipher(config.secrets.encryptionKeys, config.secrets.blindIndexKey),
    refreshTokenTtlDays: config.refreshTokenTtlDays,
    throttle: createSignInThrottle({ db: database.db, events }),
    events,
    cases: createCaseRules(),
  });
  const { user, created } = await accounts.createAdmin(
    { email: args.email, password: args.password, fullName: args.name ?? 'Administrator' },
    { ip: 'cli', requestId: 'cli' },
  );
  return { id: user.id, email: user.email ?? args.email, created };
}
