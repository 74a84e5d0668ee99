import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, sleep, type TestApp, testConfig, until } from '../../../test/helper.ts';
import { jpeg, jpegClaiming, PDF, png, pngClaiming, WEBP, webpClaiming } from '../../../test/images.ts';
import { bucketContents, type S3Server, startS3Server } from '../../../test/s3.ts';
import { auditLog } from '../audit/schema.ts';
import type { Config } from '../config.ts';
import { createS3Storage } from './s3.ts';
import { files } from './schema.ts';
import { createContentInspector, inspectContent, sniffContentType } from './sniff.ts';
import { createLocalStorage, type FileStorage, newStorageKey, StorageObjectMissingError } from './storage.ts';
import { MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE } from './upload-rules.ts';

/** Small but real files of each accepted type. */
const SAMPLES = { png: png(3, 2), jpeg: jpeg(5, 4), webp: WEBP, pdf: PDF };

type SignedIn = Awaited<ReturnType<typeof signedInUser>>;

/** The same behaviour on every backend: local disk (the default) and an S3-compatible bucket (s3rver). */
const BACKENDS = ['local', 's3'] as const;
type Backend = (typeof BACKENDS)[number];

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3?.close());

/** Every file under `dir`, as paths relative to it: stored objects, and temporary files a write might leave. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((p) => join(dir, p))
    .filter((p) => statSync(p).isFile())
    .map((p) => relative(dir, p));
}

/**
 * A backend of `kind` with a way to list everything it holds: each stored object, and on local disk the
 * temporary files a write might leave.
 */
async function backendOf(kind: Backend, overrides: Record<string, string> = {}) {
  if (kind === 'local') {
    const config = testConfig(overrides);
    const dir = join(config.dataDir, 'files');
    return {
      config,
      storage: createLocalStorage(dir),
      objects: async () => filesUnder(dir),
      /** How a stored object is named there. */
      naming: /^[0-9a-f]{2}\/[0-9a-f]{64}$/,
    };
  }
  const bucket = await s3.bucket('uploads');
  const config = testConfig({ ...bucket.env, ...overrides });
  return {
    config,
    storage: createS3Storage(config.storage as Extract<Config['storage'], { kind: 's3' }>),
    objects: () => bucketContents(bucket.client, bucket.name),
    naming: /^uploads\/[0-9a-f]{64}$/,
  };
}

/** A stream of `bytes` in chunks of `size`, failing with `error` after `failAfter` chunks when given. */
function chunked(bytes: Buffer, size: number, fail?: { after: number; error: Error }) {
  let sent = 0;
  return new Readable({
    read() {
      if (fail && sent / size >= fail.after) return this.destroy(fail.error);
      if (sent >= bytes.length) return this.push(null);
      this.push(bytes.subarray(sent, sent + size));
      sent += size;
    },
  });
}

describe('sniffing', () => {
  it('recognises jpeg, png, webp and pdf by their bytes and nothing else', () => {
    expect(sniffContentType(SAMPLES.png)).toBe('image/png');
    expect(sniffContentType(SAMPLES.jpeg)).toBe('image/jpeg');
    expect(sniffContentType(SAMPLES.webp)).toBe('image/webp');
    expect(sniffContentType(SAMPLES.pdf)).toBe('application/pdf');
    expect(sniffContentType(Buffer.from('hello, I am a PNG, trust me'))).toBeUndefined();
    expect(sniffContentType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
    // The PNG signature alone, without its IHDR chunk, is not a PNG.
    expect(sniffContentType(SAMPLES.png.subarray(0, 8))).toBeUndefined();
    expect(sniffContentType(Buffer.from('RIFF\0\0\0\0WAVEfmt '))).toBeUndefined();
    expect(sniffContentType(new Uint8Array())).toBeUndefined();
  });
  it('inspects a file the same whether it arrives whole or a byte at a time', () => {
    const photo = jpeg(40, 30);
    const picture = png(40, 30);
    for (const bytes of [
      ...Object.values(SAMPLES),
      photo,
      photo.subarray(0, photo.length - 40),
      Buffer.concat([photo, Buffer.from([0xff, 0xd9, 1, 2, 3])]),
      picture.subarray(0, picture.length - 12),
      PDF.subarray(0, PDF.indexOf('%%EOF')),
      Buffer.from('%PDF-1.'),
    ]) {
      const whole = inspectContent(bytes);
      const inspector = createContentInspector();
      for (let at = 0; at < bytes.length; at++) inspector.push(bytes.subarray(at, at + 1));
      expect(inspector.finish()).toEqual(whole);
    }
    expect(inspectContent(photo)).toEqual({
      sniffed: 'image/jpeg',
      decoded: 'image/jpeg',
      image: { type: 'image/jpeg', width: 40, height: 30 },
    });
    expect(inspectContent(photo.subarray(0, photo.length - 40)).decoded).toBeUndefined();
  });
});

describe.each(BACKENDS)('on %s storage', (backend) => {
  let t: TestApp;
  let storage: FileStorage;
  let storedObjects: () => Promise<string[]>;
  let naming: RegExp;
  let owner: SignedIn;
  let stranger: SignedIn;
  let moderator: SignedIn;
  let finance: SignedIn;

  beforeAll(async () => {
    const made = await backendOf(backend);
    ({ storage, naming } = made);
    storedObjects = made.objects;
    t = await createTestApp({ config: made.config });
    owner = await signedInUser(t, ['client', 'provider']);
    stranger = await signedInUser(t, ['client']);
    moderator = await signedInUser(t, ['moderator']);
    finance = await signedInUser(t, ['finance']);
  });
  afterAll(() => t?.close());

  function upload(
    who: SignedIn,
    bytes: Buffer,
    contentType: string,
    purpose = 'profile_photo',
    headers: Record<string, string> = {},
  ) {
    return t.app.inject({
      method: 'POST',
      url: `/api/v1/files?purpose=${purpose}`,
      headers: { ...who.auth, 'content-type': contentType, ...headers },
      payload: bytes,
    });
  }

  async function rowsOf(who: SignedIn) {
    return t.db.select().from(files).where(eq(files.ownerId, who.user.id));
  }

  describe('the storage backend', () => {
    it('stores whole, reads back, deletes idempotently, and refuses odd keys', async () => {
      const { storage, objects, naming } = await backendOf(backend);
      const key = newStorageKey();
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      await storage.put(key, Buffer.from('bytes'));
      const stored = await objects();
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatch(naming);
      expect(stored[0]).toContain(key);
      expect(await text(await storage.get(key))).toBe('bytes');
      await storage.delete(key);
      await storage.delete(key);
      await expect(storage.get(key)).rejects.toBeInstanceOf(StorageObjectMissingError);
      for (const bad of ['../../etc/passwd', 'photo.png', 'ABCDEF0123456789ABCDEF0123456789', '']) {
        await expect(storage.put(bad, Buffer.from('x'))).rejects.toThrow('invalid storage key');
      }
      expect(await objects()).toEqual([]);
      await expect(storage.check()).resolves.toBeUndefined();
      expect(await objects()).toEqual([]);
    });

    it('stores a stream larger than a part as it is read, and a stream that fails half-way not at all', async () => {
      const { storage, objects } = await backendOf(backend);
      // Over 5 MiB: on S3 a multipart upload of two parts.
      const big = randomBytes(6 * 1024 * 1024 + 123);
      const key = newStorageKey();
      await storage.put(key, chunked(big, 64 * 1024));
      expect((await buffer(await storage.get(key))).equals(big)).toBe(true);

      const failing = newStorageKey();
      const error = new Error('the client went away');
      await expect(storage.put(failing, chunked(big, 64 * 1024, { after: 90, error }))).rejects.toThrow(
        'the client went away',
      );
      await expect(storage.get(failing)).rejects.toBeInstanceOf(StorageObjectMissingError);
      const small = newStorageKey();
      await expect(storage.put(small, chunked(big, 1024, { after: 3, error }))).rejects.toThrow(
        'the client went away',
      );
      expect((await objects()).filter((o) => !o.includes(key))).toEqual([]);
    });
  });

  describe('POST /api/v1/files', () => {
    it('stores png, jpeg, webp and pdf under random names with the sniffed type, hash and audit', async () => {
      const cases = [
        ['png', 'image/png', 'profile_photo'],
        ['jpeg', 'image/jpeg', 'profile_photo'],
        ['webp', 'image/webp', 'verification_evidence'],
        ['pdf', 'application/pdf', 'verification_evidence'],
      ] as const;
      for (const [kind, type, purpose] of cases) {
        const res = await upload(owner, SAMPLES[kind], type, purpose, {
          'x-file-name': `my ${kind}.${kind}`,
        });
        expect(res.statusCode, res.body).toBe(201);
        const body = res.json();
        expect(body).toEqual({
          id: expect.any(String),
          purpose,
          content_type: type,
          size_bytes: SAMPLES[kind].length,
          original_name: `my ${kind}.${kind}`,
          attached: false,
          created_at: expect.any(String),
        });
        const [row] = await t.db.select().from(files).where(eq(files.id, body.id));
        expect(row).toMatchObject({
          ownerId: owner.user.id,
          contentType: type,
          sha256: createHash('sha256').update(SAMPLES[kind]).digest('hex'),
        });
        expect(row!.storageKey).toMatch(/^[0-9a-f]{64}$/);
        expect((await buffer(await storage.get(row!.storageKey))).equals(SAMPLES[kind])).toBe(true);
        const [audit] = await t.db
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.entity, 'files'), eq(auditLog.entityId, body.id)));
        expect(audit).toMatchObject({ action: 'create', actorId: owner.user.id });
        // The trail keeps what was stored, never its name nor the key to its bytes.
        expect(Object.keys(audit!.changes).sort()).toEqual([
          'content_type',
          'owner_id',
          'purpose',
          'size_bytes',
        ]);
      }
      // Nothing stored is named after what the client called it.
      expect((await storedObjects()).every((p) => naming.test(p))).toBe(true);
    });

    it('keeps only the last path segment of the given name, decoded from percent-encoding, as metadata', async () => {
      const res = await upload(owner, SAMPLES.png, 'image/png', 'profile_photo', {
        'x-file-name': encodeURIComponent('../../etc/Паспорт.png'),
      });
      expect(res.statusCode).toBe(201);
      expect(res.json().original_name).toBe('Паспорт.png');
      const [row] = await t.db.select().from(files).where(eq(files.id, res.json().id));
      expect(row!.storageKey).not.toContain('Паспорт');
    });

    it('refuses content that is not what it claims, storing no row and no bytes', async () => {
      const before = { rows: (await rowsOf(stranger)).length, objects: (await storedObjects()).length };

      const text = await upload(stranger, Buffer.from('just some text, not an image at all'), 'image/png');
      expect(text.statusCode).toBe(415);
      expect(text.headers['content-type']).toContain('application/problem+json');
      expect(text.json().code).toBe('unsupported_media_type');

      const mislabelled = await upload(stranger, SAMPLES.jpeg, 'image/png');
      expect(mislabelled.statusCode).toBe(415);
      expect(mislabelled.json().code).toBe('file_type_mismatch');

      const pdfAsPhoto = await upload(stranger, SAMPLES.pdf, 'application/pdf', 'profile_photo');
      expect(pdfAsPhoto.statusCode).toBe(415);

      const plain = await upload(stranger, Buffer.from('hello'), 'text/plain');
      expect(plain.statusCode).toBe(415);
      expect(plain.json().code).toBe('unsupported_media_type');

      const json = await t.app.inject({
        method: 'POST',
        url: '/api/v1/files?purpose=profile_photo',
        headers: stranger.auth,
        payload: { not: 'a file' },
      });
      expect(json.statusCode).toBe(415);

      const empty = await upload(stranger, Buffer.alloc(0), 'image/png');
      expect([415, 422]).toContain(empty.statusCode);

      const badPurpose = await upload(stranger, SAMPLES.png, 'image/png', 'archive');
      expect(badPurpose.statusCode).toBe(400);

      expect((await rowsOf(stranger)).length).toBe(before.rows);
      expect((await storedObjects()).length).toBe(before.objects);
    });

    it('answers 413 above the purpose limit, while the body streams in or at once by its Content-Length', async () => {
      const before = (await storedObjects()).length;
      const rowsBefore = (await rowsOf(stranger)).length;
      const sixMb = Buffer.concat([SAMPLES.png, Buffer.alloc(6 * 1024 * 1024)]);
      const photo = await upload(stranger, sixMb, 'image/png', 'profile_photo');
      expect(photo.statusCode).toBe(413);
      expect(photo.json().code).toBe('file_too_large');
      // The same six megabytes are fine as verification evidence (10 MB).
      const evidence = await upload(stranger, sixMb, 'image/png', 'verification_evidence');
      expect(evidence.statusCode).toBe(201);

      const elevenMb = Buffer.concat([SAMPLES.pdf, Buffer.alloc(11 * 1024 * 1024)]);
      const tooBig = await upload(stranger, elevenMb, 'application/pdf', 'verification_evidence');
      expect(tooBig.statusCode).toBe(413);
      expect(tooBig.json()).toMatchObject({
        code: 'file_too_large',
        detail: 'a verification evidence may be at most 10 MB',
      });
      expect(tooBig.headers.connection).toBe('close');

      // Without a Content-Length (chunked), refused once the bytes pass the limit, and nothing is kept: a body
      // that never ends is refused all the same.
      const endless = new Readable({
        read() {
          this.push(sixMb.subarray(0, 64 * 1024));
        },
      });
      const streamed = await t.app.inject({
        method: 'POST',
        url: '/api/v1/files?purpose=profile_photo',
        headers: { ...stranger.auth, 'content-type': 'image/png' },
        payload: endless,
      });
      endless.destroy();
      expect(streamed.headers['content-length']).toBeDefined();
      expect(streamed.statusCode, streamed.body).toBe(413);
      expect(streamed.json().code).toBe('file_too_large');
      expect(await storedObjects()).toHaveLength(before + 1);

      // A body cut short (the client went away) stores nothing either: over a real connection.
      const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
      const request = httpRequest(`${address}/api/v1/files?purpose=verification_evidence`, {
        method: 'POST',
        headers: { ...stranger.auth, 'content-type': 'image/png', 'content-length': String(sixMb.length) },
      });
      request.on('error', () => {});
      request.write(sixMb.subarray(0, 1024 * 1024));
      // On disk the bytes so far are in a temporary file; in a bucket nothing shows before the upload completes.
      if (backend === 'local') await until(async () => (await storedObjects()).length === before + 2);
      else await sleep(300);
      request.destroy();
      await until(async () => (await storedObjects()).length === before + 1);
      expect((await rowsOf(stranger)).length).toBe(rowsBefore + 1);
    });

    it('stores a file that arrives in many small chunks as the same bytes', async () => {
      const photo = jpeg(64, 48);
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/files?purpose=order_photo',
        headers: { ...owner.auth, 'content-type': 'image/jpeg' },
        payload: chunked(photo, 7),
      });
      expect(res.statusCode, res.body).toBe(201);
      const [row] = await t.db.select().from(files).where(eq(files.id, res.json().id));
      expect(row).toMatchObject({
        sizeBytes: photo.length,
        sha256: createHash('sha256').update(photo).digest('hex'),
      });
      expect((await buffer(await storage.get(row!.storageKey))).equals(photo)).toBe(true);
    });

    it('needs a signed-in user', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/files?purpose=profile_photo',
        headers: { 'content-type': 'image/png' },
        payload: SAMPLES.png,
      });
      expect(res.statusCode).toBe(401);
    });

    it('replays an upload retried with the same Idempotency-Key instead of storing it twice', async () => {
      const someone = await signedInUser(t, ['client']);
      const key = { 'idempotency-key': `upload-${Date.now()}` };
      const first = await upload(someone, SAMPLES.webp, 'image/webp', 'profile_photo', key);
      const again = await upload(someone, SAMPLES.webp, 'image/webp', 'profile_photo', key);
      expect(first.statusCode).toBe(201);
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json().id).toBe(first.json().id);
      expect((await rowsOf(someone)).length).toBe(1);
      const other = await upload(someone, SAMPLES.png, 'image/png', 'profile_photo', key);
      expect(other.statusCode).toBe(422);
      expect(other.json().code).toBe('idempotency_key_reused');
    });
  });

  /** A RIFF container of `form` holding one chunk. */
  function riff(form: string, chunkType: string, data: Buffer) {
    const header = Buffer.alloc(8);
    header.write(chunkType, 0, 'latin1');
    header.writeUInt32LE(data.length, 4);
    const body = Buffer.concat([Buffer.from(form, 'latin1'), header, data]);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(body.length);
    return Buffer.concat([Buffer.from('RIFF', 'latin1'), size, body]);
  }

  describe('decoding what is uploaded', () => {
    const refused = async (bytes: Buffer, type: string, purpose = 'order_photo') => {
      const res = await upload(stranger, bytes, type, purpose);
      expect(res.headers['content-type']).toContain('application/problem+json');
      return { status: res.statusCode, code: res.json().code as string };
    };

    it('accepts real images of any size within the limits, up to the largest side allowed', async () => {
      for (const [bytes, type] of [
        [png(64, 48), 'image/png'],
        [jpeg(64, 48), 'image/jpeg'],
        [png(1, 1), 'image/png'],
        [pngClaiming(MAX_IMAGE_SIDE, 5000), 'image/png'],
      ] as const) {
        const res = await upload(stranger, bytes, type, 'order_photo');
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json().content_type).toBe(type);
      }
    });

    it('refuses images cut short or with a header that does not decode: 415 file_not_decodable, nothing stored', async () => {
      const before = { rows: (await rowsOf(stranger)).length, objects: (await storedObjects()).length };
      const photo = png(40, 30);
      const photoJpeg = jpeg(40, 30);
      const cases: [string, Buffer, string][] = [
        ['png cut inside IHDR', photo.subarray(0, 20), 'image/png'],
        ['png cut inside IDAT', photo.subarray(0, photo.length - 20), 'image/png'],
        ['png without IEND', photo.subarray(0, photo.length - 12), 'image/png'],
        ['png of 0 x 0', pngClaiming(0, 0), 'image/png'],
        ['jpeg cut before its frame header', photoJpeg.subarray(0, 30), 'image/jpeg'],
        ['jpeg cut inside the scan', photoJpeg.subarray(0, photoJpeg.length - 40), 'image/jpeg'],
        [
          'jpeg magic before text',
          Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('<?php system($_GET[1]); ?>')]),
          'image/jpeg',
        ],
        ['webp cut short', WEBP.subarray(0, WEBP.length - 4), 'image/webp'],
        ['webp whose frame has no size', riff('WEBP', 'VP8 ', Buffer.alloc(10)), 'image/webp'],
      ];
      for (const [name, bytes, type] of cases) {
        expect(await refused(bytes, type), name).toEqual({ status: 415, code: 'file_not_decodable' });
      }
      const cutPdf = PDF.subarray(0, PDF.indexOf('%%EOF'));
      expect(await refused(cutPdf, 'application/pdf', 'dispute_evidence')).toEqual({
        status: 415,
        code: 'file_not_decodable',
      });
      expect((await rowsOf(stranger)).length).toBe(before.rows);
      expect((await storedObjects()).length).toBe(before.objects);
    });

    it('refuses an image declared as another type: 415 file_type_mismatch', async () => {
      expect(await refused(jpeg(8, 8), 'image/webp')).toEqual({ status: 415, code: 'file_type_mismatch' });
      expect(await refused(png(8, 8), 'image/jpeg')).toEqual({ status: 415, code: 'file_type_mismatch' });
      expect(await refused(WEBP, 'image/png')).toEqual({ status: 415, code: 'file_type_mismatch' });
    });

    it('refuses headers claiming more pixels than allowed (decompression bombs): 422 image_too_large', async () => {
      const before = (await storedObjects()).length;
      for (const [bytes, type] of [
        [pngClaiming(50_000, 50_000), 'image/png'],
        [pngClaiming(MAX_IMAGE_SIDE + 1, 10), 'image/png'],
        [jpegClaiming(20_000, 100), 'image/jpeg'],
        [webpClaiming(8_000, 8_000), 'image/webp'],
      ] as const) {
        expect(await refused(bytes, type)).toEqual({ status: 422, code: 'image_too_large' });
      }
      expect(MAX_IMAGE_PIXELS).toBeLessThan(8_000 * 8_000);
      expect((await storedObjects()).length).toBe(before);
    });
  });

  describe('the storage quota', () => {
    let admin: SignedIn;
    let settingId: string;
    const setQuota = async (value: number) => {
      const res = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/admin/settings/${settingId}`,
        headers: admin.auth,
        payload: { value },
      });
      expect(res.statusCode, res.body).toBe(200);
    };
    const photo = png(24, 24);

    beforeAll(async () => {
      admin = await signedInUser(t, ['admin']);
      const list = await t.app.inject({ url: '/api/v1/admin/settings?limit=100', headers: admin.auth });
      const setting = list.json().data.find((s: { key: string }) => s.key === 'storage_quota_bytes');
      expect(setting).toMatchObject({ value: 200 * 1024 * 1024 });
      settingId = setting.id;
      // Room for two of the photos per account.
      await setQuota(photo.length * 2 + photo.length / 2);
    });
    afterAll(() => setQuota(200 * 1024 * 1024));

    it('counts every file of the account and answers 413 storage_quota_exceeded beyond it, storing nothing', async () => {
      const someone = await signedInUser(t, ['client']);
      expect((await upload(someone, photo, 'image/png', 'order_photo')).statusCode).toBe(201);
      expect((await upload(someone, photo, 'image/png', 'profile_photo')).statusCode).toBe(201);
      const objects = (await storedObjects()).length;
      const over = await upload(someone, photo, 'image/png', 'order_photo');
      expect(over.statusCode).toBe(413);
      expect(over.headers['content-type']).toContain('application/problem+json');
      expect(over.json().code).toBe('storage_quota_exceeded');
      expect((await rowsOf(someone)).length).toBe(2);
      expect((await storedObjects()).length).toBe(objects);
      // Another account has its own quota.
      expect((await upload(await signedInUser(t, ['client']), photo, 'image/png')).statusCode).toBe(201);
    });

    it('holds when uploads race: of six at once, the two that fit are stored', async () => {
      const someone = await signedInUser(t, ['client']);
      const objects = (await storedObjects()).length;
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => upload(someone, photo, 'image/png', 'order_photo')),
      );
      expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 201, 413, 413, 413, 413]);
      const rows = await rowsOf(someone);
      expect(rows.reduce((sum, r) => sum + r.sizeBytes, 0)).toBe(photo.length * 2);
      expect((await storedObjects()).length).toBe(objects + 2);
    });
  });

  describe('GET /api/v1/files/{id}', () => {
    // Who else sees a file attached to something: test/file-visibility.test.ts, kind by kind.
    it('streams the bytes to the owner; a file attached to nothing is 404 to everyone else, staff too', async () => {
      const photo = (
        await upload(owner, SAMPLES.png, 'image/png', 'profile_photo', { 'x-file-name': 'me.png' })
      ).json();
      const evidence = (await upload(owner, SAMPLES.pdf, 'application/pdf', 'verification_evidence')).json();

      const mine = await t.app.inject({ url: `/api/v1/files/${photo.id}`, headers: owner.auth });
      expect(mine.statusCode).toBe(200);
      expect(mine.headers['content-type']).toBe('image/png');
      expect(mine.headers['content-disposition']).toBe("inline; filename*=UTF-8''me.png");
      expect(mine.headers['x-content-type-options']).toBe('nosniff');
      expect(mine.rawPayload).toEqual(SAMPLES.png);

      const pdf = await t.app.inject({ url: `/api/v1/files/${evidence.id}`, headers: owner.auth });
      expect(pdf.statusCode).toBe(200);
      expect(pdf.headers['content-type']).toBe('application/pdf');
      expect(pdf.headers['content-disposition']).toBe('attachment');
      expect(pdf.rawPayload).toEqual(SAMPLES.pdf);

      for (const id of [photo.id, evidence.id]) {
        for (const who of [stranger, moderator, finance]) {
          const other = await t.app.inject({ url: `/api/v1/files/${id}`, headers: who.auth });
          expect(other.statusCode).toBe(404);
          expect(other.json().code).toBe('file_not_found');
        }
      }

      const unknown = await t.app.inject({
        url: '/api/v1/files/0195f0c2-0000-7000-8000-000000000000',
        headers: owner.auth,
      });
      expect(unknown.statusCode).toBe(404);
      expect((await t.app.inject({ url: `/api/v1/files/${photo.id}` })).statusCode).toBe(401);
    });
  });

  describe('file service for other modules', () => {
    it('attaches only the caller’s files of the purpose, and replaces what a field refers to', async () => {
      const { files: service } = t.app.services;
      const actor = { userId: owner.user.id, sessionId: null, roles: ['client'] as const, requestId: null };
      const evidence = (await upload(owner, SAMPLES.png, 'image/png', 'verification_evidence')).json();
      const more = (await upload(owner, SAMPLES.png, 'image/png', 'verification_evidence')).json();
      const photo = (await upload(owner, SAMPLES.png, 'image/png', 'profile_photo')).json();
      const theirs = (await upload(stranger, SAMPLES.png, 'image/png', 'verification_evidence')).json();
      const to = { entity: 'test_rows', id: '0195f0c2-0000-7000-8000-00000000000a', field: 'evidence' };
      const attached = async () =>
        Object.fromEntries(
          (
            await t.db
              .select({ id: files.id, attachedAt: files.attachedAt })
              .from(files)
              .where(inArray(files.id, [evidence.id, more.id, photo.id, theirs.id]))
          ).map((f) => [f.id, f.attachedAt !== null]),
        );

      await expect(
        service.attach(actor, [evidence.id], 'verification_evidence', to),
      ).resolves.toBeUndefined();
      await expect(
        service.attach(actor, [more.id, photo.id, theirs.id], 'verification_evidence', to),
      ).rejects.toMatchObject({
        status: 422,
        code: 'invalid_file',
        errors: [
          { in: 'body', field: 'evidence.1', message: expect.any(String) },
          { in: 'body', field: 'evidence.2', message: expect.any(String) },
        ],
      });
      expect(await attached()).toEqual({
        [evidence.id]: true,
        [more.id]: false,
        [photo.id]: false,
        [theirs.id]: false,
      });
      await service.attach(actor, [more.id], 'verification_evidence', to);
      expect(await attached()).toMatchObject({ [evidence.id]: false, [more.id]: true });
      // The same file referred to by another row stays attached while either does.
      await service.attach(actor, [more.id], 'verification_evidence', { ...to, field: 'other' });
      await service.attach(actor, [], 'verification_evidence', to);
      expect(await attached()).toMatchObject({ [more.id]: true });
      await service.attach(actor, [], 'verification_evidence', { ...to, field: 'other' });
      expect(await attached()).toMatchObject({ [more.id]: false });

      await expect(service.getOwned(actor, photo.id)).resolves.toMatchObject({ id: photo.id });
      await expect(service.getOwned(actor, theirs.id)).rejects.toMatchObject({ status: 404 });
    });
  });

  describe('OpenAPI', () => {
    it('documents the upload as a binary body of the accepted types and the download as binary', async () => {
      const doc = t.app.swagger() as unknown as {
        paths: Record<
          string,
          Record<
            string,
            {
              requestBody?: { content: Record<string, unknown> };
              responses: Record<string, { content?: Record<string, unknown> }>;
            }
          >
        >;
        tags: { name: string }[];
      };
      const post = doc.paths['/api/v1/files']!.post!;
      expect(Object.keys(post.requestBody!.content).sort()).toEqual([
        'application/pdf',
        'image/jpeg',
        'image/png',
        'image/webp',
      ]);
      expect(post.requestBody!.content['image/png']).toEqual({
        schema: { type: 'string', format: 'binary' },
      });
      const get = doc.paths['/api/v1/files/{id}']!.get!;
      expect(get.responses['200']!.content!['image/png']).toEqual({
        schema: { type: 'string', format: 'binary' },
      });
      expect(doc.tags.map((t) => t.name)).toEqual(expect.arrayContaining(['files', 'verification']));
      expect(doc.paths['/api/v1/admin/verifications/{id}/approve']).toBeDefined();
    });
  });
});
