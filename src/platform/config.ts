import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });

/** Every environment variable the service reads, with its default. */
const EnvSchema = Type.Object({
  NODE_ENV: Type.Enum(['development', 'production', 'test'], { default: 'development' }),
  PORT: Port,
  /** Where `worker` serves /health/live, /health/ready and /metrics. */
  WORKER_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3001 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 20 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  CORS_ORIGINS: Type.String({ default: '' }),
  TRUST_PROXY: Type.Boolean({ default: false }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  /** Comma-separated `version:base64key` pairs; the highest version encrypts, all decrypt. */
  ENCRYPTION_KEYS: Type.Optional(
    Type.String({ pattern: '^\\d+:[A-Za-z0-9+/=]{43,44}(,\\d+:[A-Za-z0-9+/=]{43,44})*$' }),
  ),
  BLIND_INDEX_KEY: Type.Optional(Type.String({ minLength: 32 })),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 86_400, default: 900 }),
  REFRESH_TOKEN_TTL_DAYS: Type.Integer({ minimum: 1, maximum: 365, default: 30 }),
  RUN_WORKER: Type.Optional(Type.Boolean()),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 50 * 1024 * 1024, default: 1024 * 1024 }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, maximum: 120_000, default: 10_000 }),
  /** Sign-in attempts (login, OTP request, OTP verify) one IP may make per minute, per route. */
  AUTH_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 100_000, default: 20 }),
  /** Prefix of every Redis key and channel, so deployments can share one Redis. */
  REDIS_KEY_PREFIX: Type.String({ pattern: '^[A-Za-z0-9:_-]{1,64}$', default: 'kg:' }),
  /** Set: `/metrics` answers only `Authorization: Bearer <this>`. */
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, maxLength: 512, pattern: '^[\\x21-\\x7e]+$' })),
  /** Swagger UI at `/docs` and the OpenAPI document at `/docs/json`; on unless NODE_ENV=production. */
  DOCS_ENABLED: Type.Optional(Type.Boolean()),
  /** Unset: uploads on local disk under DATA_DIR/files. `s3://bucket` or `s3://bucket/prefix`: in that bucket. */
  STORAGE_URL: Type.Optional(
    Type.String({ pattern: '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*()/-]*)?$' }),
  ),
  /** An S3-compatible service's URL (MinIO, R2, ...); unset, AWS S3 itself. */
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1' }),
  /** Both or neither; neither leaves the credentials to the AWS SDK's own chain (AWS_* variables, a role). */
  S3_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  /** Bucket in the path, not the host name; on by default where S3_ENDPOINT is set. */
  S3_FORCE_PATH_STYLE: Type.Optional(Type.Boolean()),
  /** `smtp://user:pass@host:port` or `smtps://...`: notification mail goes there. Unset: the development adapter logs it. */
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://[^\\s]+$' })),
  /** A Google service account's JSON key (as the file holds it, or base64): push goes through FCM HTTP v1. Unset: the development adapter logs it. */
  FCM_SERVICE_ACCOUNT: Type.Optional(Type.String({ minLength: 2 })),
  /** Where FCM is; a test points it at a fake. */
  FCM_ENDPOINT: Type.String({ pattern: '^https?://[^\\s]+$', default: 'https://fcm.googleapis.com' }),
  /** The Kyrgyz SMS gateway's message endpoint (SMSPRO's XML protocol). Unset: the development sender logs texts. */
  SMS_GATEWAY_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  SMS_LOGIN: Type.Optional(Type.String({ minLength: 1 })),
  SMS_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  /** The sender name the gateway approved. */
  SMS_SENDER: Type.Optional(Type.String({ minLength: 1, maxLength: 11 })),
  /** The gateway answers as usual and sends nothing. */
  SMS_TEST_MODE: Type.Boolean({ default: false }),
  /** The sender of notification mail. */
  MAIL_FROM: Type.String({ minLength: 3, default: 'Master KG <no-reply@master.kg>' }),
});

type Env = Static<typeof EnvSchema>;

/** Where uploaded files live. */
export type StorageConfig =
  | { kind: 'local' }
  | {
      kind: 's3';
      bucket: string;
      /** Put before every key: '' or a path ending in `/`. */
      prefix: string;
      endpoint: string | undefined;
      region: string;
      forcePathStyle: boolean;
      credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
    };

export interface Secrets {
  jwtSecret: string;
  encryptionKeys: Map<number, Buffer>;
  blindIndexKey: string;
}

export interface Config {
  env: Env['NODE_ENV'];
  port: number;
  /** The port of a worker process's health and metrics. */
  workerPort: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  redisUrl: string | undefined;
  logLevel: Env['LOG_LEVEL'];
  corsOrigins: string[];
  trustProxy: boolean;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  /** Embedded mode runs the job worker inside the API process unless told otherwise. */
  runWorker: boolean;
  bodyLimitBytes: number;
  shutdownGraceMs: number;
  authRateLimitPerMinute: number;
  redisKeyPrefix: string;
  /** The bearer token `/metrics` requires; open to anyone when unset. */
  metricsToken: string | undefined;
  docsEnabled: boolean;
  storage: StorageConfig;
  smtpUrl: string | undefined;
  mailFrom: string;
  smsGateway: { url: string; login: string; password: string; sender: string; test: boolean } | undefined;
  /** The FCM_SERVICE_ACCOUNT key, its JSON read. */
  fcm: { account: FcmServiceAccount; endpoint: string } | undefined;
  secrets: Secrets;
}

export class ConfigError extends Error {}

/** The SMS gateway's settings: none without SMS_GATEWAY_URL; with it, its login, password and sender too. */
function smsGatewayOf(env: Env): Config['smsGateway'] {
  const { SMS_GATEWAY_URL: url, SMS_LOGIN: login, SMS_PASSWORD: password, SMS_SENDER: sender } = env;
  if (!url) return undefined;
  if (!login || !password || !sender) {
    throw new ConfigError('SMS_GATEWAY_URL needs SMS_LOGIN, SMS_PASSWORD and SMS_SENDER');
  }
  return { url, login, password, sender, test: env.SMS_TEST_MODE };
}

/** What FCM HTTP v1 needs of a Google service account's key. */
export interface FcmServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  token_uri: string;
}

/** The key file's JSON, given as it is or in base64; an error naming what it lacks. */
function serviceAccountOf(value: string): FcmServiceAccount {
  const text = value.trim().startsWith('{') ? value : Buffer.from(value, 'base64').toString('utf8');
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError('FCM_SERVICE_ACCOUNT is not a service account key (JSON, or JSON in base64)');
  }
  const missing = ['project_id', 'client_email', 'private_key', 'token_uri'].filter(
    (k) => typeof parsed[k] !== 'string',
  );
  if (missing.length > 0) throw new ConfigError(`FCM_SERVICE_ACCOUNT lacks ${missing.join(', ')}`);
  return parsed as unknown as FcmServiceAccount;
}

/** Why a directory cannot be used, in the words an operator needs. */
function fsReason(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'the file system is read-only';
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'no space left on the device';
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'it is not a directory';
  return message;
}

/** DATA_DIR cannot be written: the embedded database, uploads and development secrets all live there. */
export function dataDirError(dataDir: string, error: unknown): ConfigError {
  return new ConfigError(`invalid configuration: DATA_DIR ${dataDir} is not writable (${fsReason(error)})`);
}

const BOOLEAN_VARS = new Set(['TRUST_PROXY', 'RUN_WORKER', 'DOCS_ENABLED', 'S3_FORCE_PATH_STYLE']);
/** Never echoed in an error: a malformed secret is still likely a real one. */
const SECRET_VARS = new Set([
  'JWT_SECRET',
  'ENCRYPTION_KEYS',
  'BLIND_INDEX_KEY',
  'METRICS_TOKEN',
  'S3_SECRET_ACCESS_KEY',
]);

/** The value as an error message may show it: secrets left out, URL passwords masked, one line. */
function shownValue(name: string, raw: string): string {
  if (SECRET_VARS.has(name)) return '';
  const masked = raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
  return ` (got ${JSON.stringify(masked)})`;
}

function coerce(name: string, raw: string): unknown {
  const schema = (EnvSchema.properties as Record<string, { type?: string }>)[name];
  if (BOOLEAN_VARS.has(name)) {
    if (['true', '1', 'yes'].includes(raw)) return true;
    if (['false', '0', 'no'].includes(raw)) return false;
    return raw;
  }
  if (schema?.type === 'integer') return /^-?\d+$/.test(raw) ? Number(raw) : raw;
  return raw;
}

function readEnv(source: NodeJS.ProcessEnv): Env {
  const input: Record<string, unknown> = {};
  for (const name of Object.keys(EnvSchema.properties)) {
    const raw = source[name];
    if (raw !== undefined && raw !== '') input[name] = coerce(name, raw);
  }
  input.PORT ??= 3000;
  const withDefaults = Value.Default(EnvSchema, input);
  const firstError = Value.Errors(EnvSchema, withDefaults)[0];
  if (firstError) {
    const name = firstError.instancePath.replace(/^\//, '') || 'environment';
    const raw = source[name];
    const value = name in input && raw !== undefined ? shownValue(name, raw) : '';
    const choices = (EnvSchema.properties as Record<string, { enum?: string[] }>)[name]?.enum;
    const message = choices ? `must be one of ${choices.join(', ')}` : firstError.message;
    throw new ConfigError(`invalid configuration: ${name} ${message}${value}`);
  }
  return withDefaults as Env;
}

export function parseEncryptionKeys(spec: string): Map<number, Buffer> {
  const keys = new Map<number, Buffer>();
  for (const part of spec.split(',')) {
    const [version, key] = part.split(':') as [string, string];
    const bytes = Buffer.from(key, 'base64');
    if (bytes.length !== 32) {
      throw new ConfigError(`invalid configuration: ENCRYPTION_KEYS key version ${version} is not 32 bytes`);
    }
    keys.set(Number(version), bytes);
  }
  return keys;
}

interface DevSecretsFile {
  JWT_SECRET: string;
  ENCRYPTION_KEYS: string;
  BLIND_INDEX_KEY: string;
}

/** Development and test runs keep generated secrets beside the embedded database, so restarts keep sessions valid. */
function loadOrCreateDevSecrets(dataDir: string): DevSecretsFile {
  const file = join(dataDir, 'secrets.json');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`invalid configuration: ${file} cannot be read (${fsReason(error)})`);
    }
  }
  if (text !== undefined) {
    let stored: Partial<Record<keyof DevSecretsFile, unknown>> | undefined;
    try {
      stored = JSON.parse(text);
    } catch {
      stored = undefined;
    }
    const complete =
      typeof stored === 'object' &&
      stored !== null &&
      (['JWT_SECRET', 'ENCRYPTION_KEYS', 'BLIND_INDEX_KEY'] as const).every(
        (name) => typeof stored[name] === 'string',
      );
    if (!complete) {
      // Not regenerated: data encrypted with the old keys would become unreadable.
      throw new ConfigError(
        `invalid configuration: ${file} is not a JSON object with JWT_SECRET, ENCRYPTION_KEYS and BLIND_INDEX_KEY; restore it, or set those variables`,
      );
    }
    return stored as DevSecretsFile;
  }
  const secrets: DevSecretsFile = {
    JWT_SECRET: randomBytes(48).toString('base64url'),
    ENCRYPTION_KEYS: `1:${randomBytes(32).toString('base64')}`,
    BLIND_INDEX_KEY: randomBytes(48).toString('base64url'),
  };
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  } catch (error) {
    throw dataDirError(dataDir, error);
  }
  return secrets;
}

function storageOf(env: Env): StorageConfig {
  if (env.STORAGE_URL === undefined) return { kind: 'local' };
  const { hostname: bucket, pathname } = new URL(env.STORAGE_URL);
  const path = pathname.replace(/^\/+|\/+$/g, '');
  const { S3_ACCESS_KEY_ID: accessKeyId, S3_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError(
      'invalid configuration: S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are set together or not at all',
    );
  }
  return {
    kind: 's3',
    bucket,
    prefix: path ? `${path}/` : '',
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    forcePathStyle: env.S3_FORCE_PATH_STYLE ?? env.S3_ENDPOINT !== undefined,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
  };
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env = readEnv(source);
  const dataDir = resolve(env.DATA_DIR);
  const secretNames = ['JWT_SECRET', 'ENCRYPTION_KEYS', 'BLIND_INDEX_KEY'] as const;
  const missing = secretNames.filter((name) => env[name] === undefined);
  if (missing.length > 0 && env.NODE_ENV === 'production') {
    throw new ConfigError(
      `invalid configuration: ${missing.join(', ')} must be set when NODE_ENV=production`,
    );
  }
  const dev = missing.length > 0 ? loadOrCreateDevSecrets(dataDir) : undefined;
  const pick = (name: (typeof secretNames)[number]) => env[name] ?? (dev as DevSecretsFile)[name];
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    workerPort: env.WORKER_PORT,
    host: env.HOST,
    dataDir,
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    redisUrl: env.REDIS_URL,
    logLevel: env.LOG_LEVEL,
    corsOrigins: env.CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    trustProxy: env.TRUST_PROXY,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlDays: env.REFRESH_TOKEN_TTL_DAYS,
    runWorker: env.RUN_WORKER ?? env.DATABASE_URL === undefined,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    authRateLimitPerMinute: env.AUTH_RATE_LIMIT_PER_MINUTE,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    metricsToken: env.METRICS_TOKEN,
    // The API's whole surface is no one's business in production unless the operator says so.
    docsEnabled: env.DOCS_ENABLED ?? env.NODE_ENV !== 'production',
    smtpUrl: env.SMTP_URL,
    mailFrom: env.MAIL_FROM,
    smsGateway: smsGatewayOf(env),
    fcm: env.FCM_SERVICE_ACCOUNT
      ? { account: serviceAccountOf(env.FCM_SERVICE_ACCOUNT), endpoint: env.FCM_ENDPOINT }
      : undefined,
    storage: storageOf(env),
    secrets: {
      jwtSecret: pick('JWT_SECRET'),
      encryptionKeys: parseEncryptionKeys(pick('ENCRYPTION_KEYS')),
      blindIndexKey: pick('BLIND_INDEX_KEY'),
    },
  };
}

/** Changes one generated development secret (a key added by `keys:rotate --new-key`). */
export function saveDevSecret(dataDir: string, name: keyof DevSecretsFile, value: string) {
  const file = join(dataDir, 'secrets.json');
  const secrets = loadOrCreateDevSecrets(dataDir);
  writeFileSync(file, JSON.stringify({ ...secrets, [name]: value }, null, 2), { mode: 0o600 });
}
