import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, PROCESS_TEST_TIMEOUT, startMain } from '../../test/processes.ts';
import { ConfigError, loadConfig } from './config.ts';

/** The environment is read once, checked whole, and a mistake stops the start with one line that names it. */
const dirs: string[] = [];
afterAll(() => {
  killStarted();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir() {
  const dir = mkdtempSync(join(tmpdir(), 'kg-config-'));
  dirs.push(dir);
  return dir;
}

const SECRETS = {
  JWT_SECRET: 'a-production-secret-that-is-long-enough',
  ENCRYPTION_KEYS: `1:${Buffer.alloc(32, 3).toString('base64')}`,
  BLIND_INDEX_KEY: 'a-blind-index-key-that-is-long-enough!!',
};

/** The error a configuration gets, which must be a ConfigError of one line. */
function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig({ DATA_DIR: dataDir(), ...SECRETS, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('invalid values', () => {
  it.each([
    ['PORT', 'abc', /PORT must be integer \(got "abc"\)/],
    ['PORT', '70000', /PORT must be <= 65535/],
    ['PORT', '80.5', /PORT must be integer/],
    ['DATABASE_URL', 'mysql://db/kg', /DATABASE_URL .*\(got "mysql:\/\/db\/kg"\)/],
    ['REDIS_URL', 'localhost:6379', /REDIS_URL /],
    ['LOG_LEVEL', 'verbose', /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    ['NODE_ENV', 'staging', /NODE_ENV must be one of development, production, test/],
    ['TRUST_PROXY', 'maybe', /TRUST_PROXY must be boolean/],
    ['BODY_LIMIT_BYTES', '10', /BODY_LIMIT_BYTES must be >= 1024/],
    ['WORKER_PORT', 'http', /WORKER_PORT must be integer/],
    ['STORAGE_URL', 'https://bucket.example/x', /STORAGE_URL /],
    ['STORAGE_URL', 's3://Bad_Bucket', /STORAGE_URL /],
    ['S3_ENDPOINT', 'minio:9000', /S3_ENDPOINT /],
    ['S3_FORCE_PATH_STYLE', 'sometimes', /S3_FORCE_PATH_STYLE must be boolean/],
  ])('refuses %s=%s, naming the variable', (name, value, expected) => {
    const message = refusal({ [name]: value });
    expect(message).toMatch(/^invalid configuration: /);
    expect(message).toMatch(expected);
  });

  it('takes an S3 bucket with its prefix, endpoint and both keys or neither; local disk without STORAGE_URL', () => {
    const config = (env: NodeJS.ProcessEnv) => loadConfig({ DATA_DIR: dataDir(), ...SECRETS, ...env });
    expect(config({}).storage).toEqual({ kind: 'local' });
    expect(config({}).workerPort).toBe(3001);
    expect(
      config({
        STORAGE_URL: 's3://kg-files/uploads/',
        S3_ENDPOINT: 'http://127.0.0.1:9000',
        S3_ACCESS_KEY_ID: 'id',
        S3_SECRET_ACCESS_KEY: 'secret',
      }).storage,
    ).toEqual({
      kind: 's3',
      bucket: 'kg-files',
      prefix: 'uploads/',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    expect(config({ STORAGE_URL: 's3://kg-files', S3_REGION: 'eu-central-1' }).storage).toMatchObject({
      prefix: '',
      endpoint: undefined,
      region: 'eu-central-1',
      forcePathStyle: false,
      credentials: undefined,
    });
    expect(refusal({ STORAGE_URL: 's3://kg-files', S3_ACCESS_KEY_ID: 'id' })).toMatch(
      /S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are set together/,
    );
    const secret = refusal({ STORAGE_URL: 's3://kg-files', S3_SECRET_ACCESS_KEY: 'hunter2-s3-secret' });
    expect(secret).toMatch(/set together/);
    expect(secret).not.toContain('hunter2');
  });

  it('never echoes a secret, and masks the password of a database URL', () => {
    const short = refusal({ JWT_SECRET: 'hunter2-but-too-short' });
    expect(short).toMatch(/JWT_SECRET must not have fewer than 32 characters/);
    expect(short).not.toContain('hunter2');

    const keys = refusal({ ENCRYPTION_KEYS: '1:hunter2' });
    expect(keys).toMatch(/ENCRYPTION_KEYS /);
    expect(keys).not.toContain('hunter2');

    const url = refusal({ DATABASE_URL: 'postgress://kg:hunter2@db:5432/kg' });
    expect(url).toContain('DATABASE_URL');
    expect(url).toContain('postgress://kg:***@db:5432/kg');
    expect(url).not.toContain('hunter2');
  });

  it('refuses an encryption key that is not 32 bytes, naming its version', () => {
    const message = refusal({
      ENCRYPTION_KEYS: `1:${Buffer.alloc(32).toString('base64')},2:${'A'.repeat(44)}`,
    });
    expect(message).toMatch(/ENCRYPTION_KEYS key version 2 is not 32 bytes/);
  });

  it('takes defaults for what is unset or empty', () => {
    const config = loadConfig({ DATA_DIR: dataDir(), ...SECRETS, PORT: '', LOG_LEVEL: '' });
    expect(config).toMatchObject({ port: 3000, host: '127.0.0.1', logLevel: 'info', env: 'development' });
    expect(config.runWorker).toBe(true);
    expect(loadConfig({ DATA_DIR: dataDir(), ...SECRETS, PORT: '8080', TRUST_PROXY: 'yes' })).toMatchObject({
      port: 8080,
      trustProxy: true,
    });
  });
});

describe('operator endpoints', () => {
  it('serves the docs in development and test, and in production only when DOCS_ENABLED says so', () => {
    const docs = (env: NodeJS.ProcessEnv) =>
      loadConfig({ DATA_DIR: dataDir(), ...SECRETS, ...env }).docsEnabled;
    expect(docs({ NODE_ENV: 'development' })).toBe(true);
    expect(docs({ NODE_ENV: 'test' })).toBe(true);
    expect(docs({ NODE_ENV: 'production' })).toBe(false);
    expect(docs({ NODE_ENV: 'production', DOCS_ENABLED: 'true' })).toBe(true);
    expect(docs({ NODE_ENV: 'development', DOCS_ENABLED: 'false' })).toBe(false);
    expect(refusal({ DOCS_ENABLED: 'perhaps' })).toMatch(/DOCS_ENABLED must be boolean/);
  });

  it('takes a metrics token of 16 printable characters or more, and never echoes a bad one', () => {
    const token = 'scrape-token-0123456789';
    expect(loadConfig({ DATA_DIR: dataDir(), ...SECRETS, METRICS_TOKEN: token }).metricsToken).toBe(token);
    expect(loadConfig({ DATA_DIR: dataDir(), ...SECRETS }).metricsToken).toBeUndefined();
    const short = refusal({ METRICS_TOKEN: 'hunter2' });
    expect(short).toMatch(/METRICS_TOKEN must not have fewer than 16 characters/);
    expect(short).not.toContain('hunter2');
    expect(refusal({ METRICS_TOKEN: 'has a space in it, hunter2' })).not.toContain('hunter2');
  });
});

describe('secrets', () => {
  it('refuses to start in production without them, naming each one missing', () => {
    expect(
      refusal({ NODE_ENV: 'production', JWT_SECRET: '', ENCRYPTION_KEYS: '', BLIND_INDEX_KEY: '' }),
    ).toBe(
      'invalid configuration: JWT_SECRET, ENCRYPTION_KEYS, BLIND_INDEX_KEY must be set when NODE_ENV=production',
    );
    expect(refusal({ NODE_ENV: 'production', BLIND_INDEX_KEY: '' })).toBe(
      'invalid configuration: BLIND_INDEX_KEY must be set when NODE_ENV=production',
    );
  });

  it('uses the ones given in production and writes nothing', () => {
    const dir = dataDir();
    const config = loadConfig({ NODE_ENV: 'production', DATA_DIR: dir, ...SECRETS });
    expect(config.secrets.jwtSecret).toBe(SECRETS.JWT_SECRET);
    expect(config.secrets.encryptionKeys.get(1)).toEqual(Buffer.alloc(32, 3));
    expect(() => statSync(join(dir, 'secrets.json'))).toThrow(/ENOENT/);
  });

  it('generates them in development, keeps them in DATA_DIR/secrets.json and loads the same ones again', () => {
    const dir = dataDir();
    const first = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
    const file = join(dir, 'secrets.json');
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    expect(stored).toEqual({
      JWT_SECRET: first.secrets.jwtSecret,
      ENCRYPTION_KEYS: expect.stringMatching(/^1:/),
      BLIND_INDEX_KEY: first.secrets.blindIndexKey,
    });
    expect(first.secrets.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.secrets.encryptionKeys.get(1)).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const second = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
    expect(second.secrets).toEqual(first.secrets);
    // A secret given in the environment wins over the generated one.
    const third = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir, JWT_SECRET: SECRETS.JWT_SECRET });
    expect(third.secrets.jwtSecret).toBe(SECRETS.JWT_SECRET);
    expect(third.secrets.blindIndexKey).toBe(first.secrets.blindIndexKey);
  });

  it('refuses a damaged secrets file rather than replacing the keys that encrypted the data', () => {
    const dir = dataDir();
    const file = join(dir, 'secrets.json');
    writeFileSync(file, '{"JWT_SECRET": "cut off');
    expect(() => loadConfig({ NODE_ENV: 'development', DATA_DIR: dir })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'development', DATA_DIR: dir })).toThrow(/secrets\.json/);
    writeFileSync(file, JSON.stringify({ JWT_SECRET: SECRETS.JWT_SECRET }));
    expect(() => loadConfig({ NODE_ENV: 'development', DATA_DIR: dir })).toThrow(/secrets\.json/);
    expect(readFileSync(file, 'utf8')).toBe(JSON.stringify({ JWT_SECRET: SECRETS.JWT_SECRET }));
  });
});

describe('the command line', () => {
  it(
    'exits 1 with a single line on stderr naming PORT when PORT is not a number',
    async () => {
      const server = startMain('serve', { PORT: 'abc', DATA_DIR: dataDir() });
      // Awaits the exit, however long a loaded machine takes to start the process.
      expect(await server.exited, server.output()).toBe(1);
      expect(server.output()).toBe(server.stderr());
      expect(server.stderr().trim().split('\n')).toEqual([
        'invalid configuration: PORT must be integer (got "abc")',
      ]);
    },
    PROCESS_TEST_TIMEOUT,
  );
});
