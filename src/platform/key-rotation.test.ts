import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, testConfig } from '../../test/helper.ts';
import { PROCESS_TEST_TIMEOUT } from '../../test/processes.ts';
import { encryptedColumns } from '../app.ts';
import { createFieldCipher } from './crypto.ts';
import { rotateEncryptionKeys } from './key-rotation.ts';

const OLD_KEY = `1:${Buffer.alloc(32, 7).toString('base64')}`;
const NEW_KEY = `2:${Buffer.alloc(32, 9).toString('base64')}`;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ config: testConfig({ ENCRYPTION_KEYS: OLD_KEY }) });
});
afterAll(() => t.close());

const encryptedValues = async () => {
  const users = await t.database.sql.query('select email_encrypted, phone_encrypted from users');
  const profiles = await t.database.sql.query(
    'select contact_info_encrypted, address_encrypted from user_profiles',
  );
  return [...users.rows, ...profiles.rows]
    .flatMap((r) => Object.values(r))
    .filter((v): v is string => typeof v === 'string');
};

describe('encryption key rotation', () => {
  it('re-encrypts every personal value with the newest key, and data stays readable with only that key', async () => {
    const signup = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'rotate.me@example.kg', password: 'correct horse battery', full_name: 'Rotate' },
    });
    const auth = { authorization: `Bearer ${signup.json().access_token}` };
    await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/me/profile',
      headers: auth,
      payload: { address: 'ул. Ахунбаева 1', contact_info: { telegram: '@rotate' } },
    });
    const before = await encryptedValues();
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.every((v) => v.startsWith('v1.'))).toBe(true);

    const { secrets } = testConfig({ ENCRYPTION_KEYS: `${OLD_KEY},${NEW_KEY}` });
    const cipher = createFieldCipher(secrets.encryptionKeys, secrets.blindIndexKey);
    const result = await rotateEncryptionKeys(t.db, cipher, encryptedColumns);
    expect(result.keyVersion).toBe(2);
    expect(result.reencrypted['users.email_encrypted']).toBeGreaterThanOrEqual(1);
    expect(result.reencrypted['user_profiles.address_encrypted']).toBe(1);
    const after = await encryptedValues();
    expect(after.every((v) => v.startsWith('v2.'))).toBe(true);

    const again = await rotateEncryptionKeys(t.db, cipher, encryptedColumns);
    expect(Object.values(again.reencrypted).every((n) => n === 0)).toBe(true);

    // A process that knows only the new key reads everything and still finds the account by email.
    const newOnly = await createTestApp({
      database: t.database,
      config: testConfig({ ENCRYPTION_KEYS: NEW_KEY }),
    });
    try {
      const login = await newOnly.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'rotate.me@example.kg', password: 'correct horse battery' },
      });
      expect(login.statusCode).toBe(200);
      const token = { authorization: `Bearer ${login.json().access_token}` };
      const profile = await newOnly.app.inject({ method: 'GET', url: '/api/v1/me/profile', headers: token });
      expect(profile.json()).toMatchObject({
        address: 'ул. Ахунбаева 1',
        contact_info: { telegram: '@rotate' },
      });
    } finally {
      await newOnly.app.close();
    }
  });
});

describe('npm run keys:rotate', () => {
  it.skipIf(process.env.DATABASE_URL)(
    'adds a key to the development ring and re-encrypts with it',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'kg-rotate-'));
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DATA_DIR: dataDir,
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
      };
      delete env.DATABASE_URL;
      delete env.REDIS_URL;
      delete env.ENCRYPTION_KEYS;
      const run = (...args: string[]) =>
        promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
          env,
        });
      await run('admin:create', '--email', 'root@example.kg', '--password', 'correct horse battery');
      const rotated = await run('keys:rotate', '--new-key');
      expect(rotated.stdout).toContain('re-encrypted with key version 2');
      expect(rotated.stdout).toContain('"users.email_encrypted":1');
      const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8'));
      expect(secrets.ENCRYPTION_KEYS.split(',')).toHaveLength(2);
    },
    PROCESS_TEST_TIMEOUT,
  );
});
