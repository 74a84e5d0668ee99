/**
 * Files know what refers to them (the file service's `attach`, the one call a module makes): a file is
 * attached while a row of some module refers to it. Its owner deletes an upload nothing refers to, the
 * hourly sweep takes those attached to nothing a day after their upload, and erasure takes every file the
 * person uploaded, with its name, from the rows and the audit trail alike.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq, inArray, isNotNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderPhotos } from '../src/modules/orders/schema.ts';
import { userVerifications } from '../src/modules/users/schema.ts';
import { auditLog } from '../src/platform/audit/schema.ts';
import type { Config } from '../src/platform/config.ts';
import { fileAttachments, files } from '../src/platform/storage/schema.ts';
import { createLocalStorage, newStorageKey } from '../src/platform/storage/storage.ts';
import { createTestApp, type TestApp, testConfig } from './helper.ts';
import { orderFixtures, PDF, PNG, type Provider, type SignedIn } from './order-fixtures.ts';
import { raceInOrder } from './races.ts';

let t: TestApp;
let config: Config;
const k = orderFixtures(() => t);
const DAY_MS = 86_400_000;
const MISSING = '0195f0c2-0000-7000-8000-000000000000';

let client: SignedIn;
let provider: Provider;
let stranger: SignedIn;
let admin: SignedIn;

beforeAll(async () => {
  config = testConfig();
  t = await createTestApp({ config });
  client = await k.client('Айгуль Токтогулова');
  provider = await k.provider('Бакыт Асанов');
  stranger = await k.user(['client']);
  admin = await k.user(['admin']);
});
afterAll(() => t.close());

const fileRow = async (id: string) => (await t.db.select().from(files).where(eq(files.id, id)))[0];
const isAttached = async (id: string) => (await fileRow(id))?.attachedAt != null;
const objectPath = (storageKey: string) => join(config.dataDir, 'files', storageKey.slice(0, 2), storageKey);
const deleteFile = (who: SignedIn | undefined, id: string) =>
  k.call('DELETE', `/api/v1/files/${id}`, who?.auth);
const download = (who: SignedIn, id: string) => k.call('GET', `/api/v1/files/${id}`, who.auth);
/** The object deletions queued so far, run as a worker would. */
const deleteObjects = () => t.app.services.jobs.runQueued(['platform.delete-file-objects']);
/** Makes uploads look `days` old: the sweep counts from the upload. */
const age = (ids: string[], days = 2) =>
  t.db
    .update(files)
    .set({ createdAt: new Date(Date.now() - days * DAY_MS) })
    .where(inArray(files.id, ids));
const setPhoto = (who: SignedIn, photo: string | null) =>
  k.call('PATCH', '/api/v1/me/profile', who.auth, { photo_file_id: photo });

/** Uploads as `who` with a file name; the file's id. */
async function upload(who: SignedIn, purpose: string, name: string, pdf = false) {
  const answer = await t.app.inject({
    method: 'POST',
    url: `/api/v1/files?purpose=${purpose}`,
    headers: {
      ...who.auth,
      'content-type': pdf ? 'application/pdf' : 'image/png',
      'x-file-name': encodeURIComponent(name),
    },
    payload: pdf ? PDF : PNG,
  });
  expect(answer.statusCode, answer.body).toBe(201);
  expect(answer.json()).toMatchObject({ original_name: name, attached: false });
  return answer.json().id as string;
}

describe('what a file is attached to', () => {
  it('a profile photo while the profile names it; replaced or cleared, it is free again', async () => {
    const [first, second] = [
      await k.uploadPhoto(client, 'profile_photo'),
      await k.uploadPhoto(client, 'profile_photo'),
    ];
    expect((await setPhoto(client, first)).status).toBe(200);
    expect([await isAttached(first), await isAttached(second)]).toEqual([true, false]);
    expect((await setPhoto(client, second)).status).toBe(200);
    expect([await isAttached(first), await isAttached(second)]).toEqual([false, true]);
    expect((await setPhoto(client, null)).status).toBe(200);
    expect([await isAttached(first), await isAttached(second)]).toEqual([false, false]);
  });

  it('order photos while the order lists them, a deleted order’s too (staff may restore it)', async () => {
    const [kept, removed] = [await k.uploadPhoto(client), await k.uploadPhoto(client)];
    const { id } = await k.newOrder(client, { photo_file_ids: [kept, removed], publish: true });
    expect([await isAttached(kept), await isAttached(removed)]).toEqual([true, true]);
    const edited = await k.call('PATCH', `/api/v1/orders/${id}`, client.auth, { photo_file_ids: [kept] });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect([await isAttached(kept), await isAttached(removed)]).toEqual([true, false]);
    expect((await k.call('DELETE', `/api/v1/orders/${id}`, client.auth)).status).toBe(200);
    expect(await isAttached(kept)).toBe(true);
  });

  it('verification evidence, completion photos and dispute evidence once their rows refer to them', async () => {
    const evidence = await k.uploadPdf(client, 'verification_evidence');
    const submitted = await k.call('POST', '/api/v1/me/verifications', client.auth, {
      verification_type: 'identity',
      evidence_file_ids: [evidence],
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    expect(await isAttached(evidence)).toBe(true);

    const working = await k.orderIn(client, 'in_progress', provider);
    const photo = await k.uploadPhoto(provider);
    const done = await k.call('POST', `/api/v1/orders/${working}/complete`, provider.auth, {
      completion_photo_file_ids: [photo],
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(await isAttached(photo)).toBe(true);

    const disputed = await k.orderIn(client, 'in_progress', provider);
    const proof = await k.uploadPdf(client);
    const opened = await k.call('POST', `/api/v1/orders/${disputed}/disputes`, client.auth, {
      dispute_type: 'quality_issue',
      description: 'Кран течёт',
      evidence_file_ids: [proof],
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    expect(await isAttached(proof)).toBe(true);
  });

  it('a refused request attaches nothing: 422 invalid_file naming the entry', async () => {
    const mine = await k.uploadPdf(stranger, 'verification_evidence');
    const theirs = await k.uploadPdf(client, 'verification_evidence');
    const refused = await k.call('POST', '/api/v1/me/verifications', stranger.auth, {
      verification_type: 'identity',
      evidence_file_ids: [mine, theirs],
    });
    expect([refused.status, refused.body.code]).toEqual([422, 'invalid_file']);
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ in: 'body', field: 'evidence_file_ids.1' }),
    ]);
    expect([await isAttached(mine), await isAttached(theirs)]).toEqual([false, false]);
    expect(
      await t.db
        .select()
        .from(fileAttachments)
        .where(inArray(fileAttachments.fileId, [mine, theirs])),
    ).toEqual([]);
  });
});

describe('DELETE /api/v1/files/{id}', () => {
  it('the owner deletes an upload nothing uses: gone at once, its bytes once the job ran, no name in the trail', async () => {
    const id = await upload(client, 'order_photo', 'Мой черновик.png');
    const { storageKey } = (await fileRow(id))!;
    expect(existsSync(objectPath(storageKey))).toBe(true);

    const deleted = await deleteFile(client, id);
    expect(deleted.status).toBe(204);
    expect((await download(client, id)).status).toBe(404);
    expect(await fileRow(id)).toBeUndefined();
    expect((await deleteFile(client, id)).status).toBe(404);
    await deleteObjects();
    expect(existsSync(objectPath(storageKey))).toBe(false);

    const trail = await t.db.select().from(auditLog).where(eq(auditLog.entityId, id));
    expect(trail.map((a) => [a.action, a.actorId])).toEqual([
      ['create', client.user.id],
      ['delete', client.user.id],
    ]);
    expect(JSON.stringify(trail)).not.toContain('черновик');
    expect(JSON.stringify(trail)).not.toContain(storageKey);
  });

  it('anyone else’s file is 404, staff too, as an unknown one; without a sign-in 401; the file stays', async () => {
    const id = await k.uploadPhoto(client);
    for (const who of [stranger, provider, admin]) {
      const answer = await deleteFile(who, id);
      expect([answer.status, answer.body.code]).toEqual([404, 'file_not_found']);
    }
    expect((await deleteFile(client, MISSING)).status).toBe(404);
    expect((await deleteFile(undefined, id)).status).toBe(401);
    expect((await k.call('DELETE', '/api/v1/files/not-a-uuid', client.auth)).status).toBe(400);
    expect((await download(client, id)).status).toBe(200);
  });

  it('an attached file is 409 file_attached and stays; taken off, it can go', async () => {
    const photo = await k.uploadPhoto(client, 'profile_photo');
    expect((await setPhoto(client, photo)).status).toBe(200);
    const refused = await deleteFile(client, photo);
    expect([refused.status, refused.body.code]).toEqual([409, 'file_attached']);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect((await download(client, photo)).status).toBe(200);
    expect((await setPhoto(client, null)).status).toBe(200);
    expect((await deleteFile(client, photo)).status).toBe(204);
  });

  it.each([
    ['attach', 'the photo is set, and the delete is 409 file_attached'],
    ['delete', 'the file is gone, and the attach is 422 invalid_file'],
  ] as const)('a delete racing the attachment, the %s first: %s', async (first, _outcome) => {
    const race = await raceInOrder({
      setup: () => k.uploadPhoto(client, 'profile_photo'),
      a: (photo) => setPhoto(client, photo),
      b: (photo) => deleteFile(client, photo),
      first: first === 'attach' ? 'a' : 'b',
      landed: (attach) => (attach.status === 200) === (first === 'attach'),
    });
    const { a: attach, b: remove, state: photo } = race;
    const row = await fileRow(photo);
    if (first === 'attach') {
      expect([remove.status, remove.body.code]).toEqual([409, 'file_attached']);
      expect(row?.attachedAt).toBeInstanceOf(Date);
      expect((await download(client, photo)).status).toBe(200);
    } else {
      expect([attach.status, attach.body.code, remove.status]).toEqual([422, 'invalid_file', 204]);
      expect(row).toBeUndefined();
    }
    expect((await setPhoto(client, null)).status).toBe(200);
  });

  it('is documented with its answers', () => {
    const doc = t.app.swagger() as unknown as {
      paths: Record<string, Record<string, { summary: string; description: string; responses: object }>>;
    };
    const route = doc.paths['/api/v1/files/{id}']!.delete!;
    expect(route.summary).toBeTruthy();
    expect(route.description).toContain('`file_attached`');
    expect(Object.keys(route.responses)).toEqual(expect.arrayContaining(['204', '401', '404', '409']));
  });
});

describe('the sweep of unattached uploads', () => {
  it('takes people’s uploads attached to nothing a day after their upload, with their bytes; keeps the rest and the platform’s own', async () => {
    const unused = await upload(client, 'order_photo', 'забытое фото.png');
    const freed = await k.uploadPhoto(client, 'profile_photo');
    const inUse = await k.uploadPhoto(client);
    const fresh = await k.uploadPhoto(client);
    expect((await setPhoto(client, freed)).status).toBe(200);
    expect((await setPhoto(client, null)).status).toBe(200);
    await k.newOrder(client, { photo_file_ids: [inUse] });
    // The platform's own file, as an archive step stores one: no person owns it.
    const archiveKey = newStorageKey();
    await createLocalStorage(join(config.dataDir, 'files')).put(archiveKey, Buffer.from('archived rows'));
    const [archive] = await t.db
      .insert(files)
      .values({
        ownerId: null,
        purpose: 'archive',
        storageKey: archiveKey,
        contentType: 'application/gzip',
        sizeBytes: 13,
        sha256: 'f'.repeat(64),
      })
      .returning();
    await age([unused, freed, inUse, archive!.id]);
    const keys = new Map(
      await Promise.all([unused, freed].map(async (id) => [id, (await fileRow(id))!.storageKey] as const)),
    );

    // Through the jobs mechanism, as the hourly schedule runs it.
    const sweep = t.app.services.files.sweepJob;
    expect([sweep.name, sweep.cron]).toEqual(['platform.sweep-unattached-files', '25 * * * *']);
    await t.app.services.jobs.enqueue(t.db, sweep, {});
    expect(await t.app.services.jobs.runQueued([sweep.name])).toBe(1);

    for (const id of [unused, freed]) {
      expect(await fileRow(id)).toBeUndefined();
      expect((await download(client, id)).status).toBe(404);
    }
    for (const id of [inUse, fresh, archive!.id]) expect(await fileRow(id)).toBeDefined();
    expect((await download(client, inUse)).status).toBe(200);
    await deleteObjects();
    for (const key of keys.values()) expect(existsSync(objectPath(key))).toBe(false);
    expect(existsSync(objectPath(archiveKey))).toBe(true);

    // Oldest first: without an order PostgreSQL may answer the two rows either way.
    const trail = await t.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.entityId, unused))
      .orderBy(auditLog.id);
    expect(trail.map((a) => [a.action, a.actorId])).toEqual([
      ['create', client.user.id],
      ['delete', null],
    ]);
    expect(JSON.stringify(trail)).not.toContain('забытое');
    // Nothing more is due: a second run takes nothing.
    expect(await t.app.services.files.sweepUnattached()).toBe(0);
  });
});

describe.runIf(process.env.DATABASE_URL)('the sweep beside an attachment, on PostgreSQL', () => {
  it('leaves an upload that is being attached at that moment, and it stays attached', async () => {
    const photo = await k.uploadPhoto(client);
    await age([photo]);
    const actor = { userId: client.user.id, sessionId: null, roles: ['client'] as const, requestId: null };
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = () => {};
    const attachedNow = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // Another request's transaction that has attached the file and not yet committed.
    const attaching = t.db.transaction(async () => {
      await t.app.services.files.attach(actor, [photo], 'order_photo', {
        entity: 'test_rows',
        id: MISSING,
        field: 'photo_file_ids',
      });
      locked();
      await held;
    });
    await attachedNow;
    await t.app.services.files.sweepUnattached();
    release();
    await attaching;
    expect(await isAttached(photo)).toBe(true);
    expect((await download(client, photo)).status).toBe(200);
    await t.app.services.files.attach(actor, [], 'order_photo', {
      entity: 'test_rows',
      id: MISSING,
      field: 'photo_file_ids',
    });
  });
});

describe('erasure takes every file the person uploaded', () => {
  it('profile photo, verification evidence, order and completion photos, dispute evidence: no staff can download any, no name or note stays in the trail', async () => {
    const person = await k.provider('Эрмек Эркинов');
    const other = await k.provider('Другой Мастер');
    const otherClient = await k.client('Другой Клиент');
    const moderator = await k.user(['moderator']);
    const names = [
      'Эрмек селфи.png',
      'Паспорт Эркинова AN7654321.pdf',
      'кухня Эркинова.png',
      'работа Эркинова.png',
      'чек Эркинова.pdf',
      'черновик Эркинова.png',
    ];
    const note = 'паспорт выдан МКК 211041';
    const staffNote = 'фото в паспорте совпадает с Эркиновым';

    const photo = await upload(person, 'profile_photo', names[0]!);
    expect((await setPhoto(person, photo)).status).toBe(200);

    const evidence = await upload(person, 'verification_evidence', names[1]!, true);
    const verification = await k.call('POST', '/api/v1/me/verifications', person.auth, {
      verification_type: 'identity',
      evidence_file_ids: [evidence],
      note,
    });
    expect(verification.status, JSON.stringify(verification.body)).toBe(201);
    const approved = await k.call(
      'POST',
      `/api/v1/admin/verifications/${verification.body.id}/approve`,
      moderator.auth,
      { public_note: staffNote, admin_notes: staffNote },
    );
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);

    // As a client: a finished order with a photo, and one whose dispute staff ruled on.
    const orderPhoto = await upload(person, 'order_photo', names[2]!);
    const finished = await k.orderIn(person, 'completed', other, { photo_file_ids: [orderPhoto] });
    const disputed = await k.orderIn(person, 'in_progress', other);
    const proof = await upload(person, 'dispute_evidence', names[4]!, true);
    const opened = await k.call('POST', `/api/v1/orders/${disputed}/disputes`, person.auth, {
      dispute_type: 'quality_issue',
      description: 'Кран течёт',
      evidence_file_ids: [proof],
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    expect(
      (await k.call('POST', `/api/v1/admin/disputes/${opened.body.id}/review`, moderator.auth)).status,
    ).toBe(200);
    const ruled = await k.call('POST', `/api/v1/admin/disputes/${opened.body.id}/resolve`, moderator.auth, {
      resolution: 'Работа выполнена',
      outcome: 'completed',
      refund: false,
    });
    expect(ruled.status, JSON.stringify(ruled.body)).toBe(200);

    // As a provider: completion photos on someone else's finished order.
    const work = await k.orderIn(otherClient, 'in_progress', person);
    const completionPhoto = await upload(person, 'order_photo', names[3]!);
    await k.act(work, 'complete', person, { completion_photo_file_ids: [completionPhoto] });
    await k.act(work, 'confirm', otherClient);

    const unused = await upload(person, 'order_photo', names[5]!);
    const uploads = [photo, evidence, orderPhoto, completionPhoto, proof, unused];
    const stored = await t.db.select().from(files).where(eq(files.ownerId, person.user.id));
    expect(stored.map((f) => f.id).sort()).toEqual([...uploads].sort());
    const [shownPhoto] = await t.db.select().from(orderPhotos).where(eq(orderPhotos.fileId, orderPhoto));

    // Before: staff see what the person's records show them (so the checks below can fail).
    expect((await download(moderator, evidence)).status).toBe(200);
    expect((await download(admin, photo)).status).toBe(200);
    expect((await download(admin, completionPhoto)).status).toBe(200);
    expect((await download(moderator, proof)).status).toBe(200);
    expect((await download(admin, orderPhoto)).status).toBe(200);
    const trailText = async () =>
      JSON.stringify(await t.db.select({ changes: auditLog.changes }).from(auditLog));
    // The uploads' own trail never held their names; the verification's held the person's note.
    for (const name of names) expect(await trailText()).not.toContain(name);
    expect(await trailText()).toContain(note);

    const erased = await k.call('POST', '/api/v1/me/erase', person.auth, {
      confirm: 'ERASE',
      ...person.reauth,
    });
    expect(erased.status, JSON.stringify(erased.body)).toBe(204);

    const staff = [admin, moderator, await k.user(['finance']), await k.user(['analyst'])];
    for (const id of uploads) {
      for (const who of [...staff, other, otherClient]) {
        const answer = await download(who, id);
        expect([answer.status, answer.body.code], id).toEqual([404, 'file_not_found']);
      }
    }
    expect(
      (await k.call('GET', `/api/v1/orders/${finished}/photos/${shownPhoto!.id}`, admin.auth)).status,
    ).toBe(404);
    expect(
      (await k.call('GET', `/api/v1/orders/${work}/assignment/photos/${completionPhoto}`, otherClient.auth))
        .status,
    ).toBe(404);
    expect(await t.db.select().from(files).where(eq(files.ownerId, person.user.id))).toEqual([]);
    expect(await t.db.select().from(fileAttachments).where(inArray(fileAttachments.fileId, uploads))).toEqual(
      [],
    );

    // The rows that referred to them no longer do.
    const assignment = await k.call('GET', `/api/v1/orders/${work}/assignment`, otherClient.auth);
    expect(assignment.body.completion_photo_file_ids).toEqual([]);
    const disputes = await k.call('GET', `/api/v1/admin/disputes?order_id=${disputed}`, moderator.auth);
    expect(disputes.body.data[0]).toMatchObject({
      id: opened.body.id,
      evidence_file_ids: [],
      status: 'resolved',
    });
    expect(await t.db.select().from(orderPhotos).where(eq(orderPhotos.orderId, finished))).toEqual([]);
    // The verification keeps what the business must: its type, status and dates.
    const [record] = await t.db
      .select()
      .from(userVerifications)
      .where(eq(userVerifications.id, verification.body.id));
    expect(record).toMatchObject({
      verificationType: 'identity',
      status: 'approved',
      evidenceFileIds: [],
      userNote: null,
      publicNote: null,
      adminNotes: null,
      reviewedAt: expect.any(Date),
      createdAt: expect.any(Date),
    });

    // The bytes go once the queued deletions ran.
    for (const f of stored) expect(existsSync(objectPath(f.storageKey)), f.id).toBe(true);
    await deleteObjects();
    for (const f of stored) expect(existsSync(objectPath(f.storageKey)), f.id).toBe(false);

    const after = await trailText();
    for (const text of [...names, note, staffNote]) expect(after).not.toContain(text);
  });
});

describe('the migration that brought attachments in', () => {
  it('finds in the modules’ rows the very references their attach calls made, and takes file names out of the trail', async () => {
    const dir = join(import.meta.dirname, '..', 'migrations');
    const migration = readdirSync(dir).find((name) => name.endsWith('_file_attachments.sql'))!;
    const text = readFileSync(join(dir, migration), 'utf8');
    const backfill = text
      .slice(text.indexOf('-- Hand-written'))
      .split('--> statement-breakpoint')
      .map((statement) => statement.trim())
      .filter(Boolean);
    const snapshot = async () => ({
      references: (
        await t.db
          .select({
            fileId: fileAttachments.fileId,
            entity: fileAttachments.entity,
            entityId: fileAttachments.entityId,
            field: fileAttachments.field,
          })
          .from(fileAttachments)
      )
        .map((r) => `${r.entity}/${r.entityId}/${r.field}/${r.fileId}`)
        .sort(),
      attached: (await t.db.select({ id: files.id }).from(files).where(isNotNull(files.attachedAt)))
        .map((f) => f.id)
        .sort(),
    });
    // Every kind of reference, as the modules' routes make them.
    const someone = await k.client('Жылдыз Осмонова');
    const photo = await k.uploadPhoto(someone, 'profile_photo');
    expect((await setPhoto(someone, photo)).status).toBe(200);
    const evidence = await k.uploadPdf(someone, 'verification_evidence');
    const verification = await k.call('POST', '/api/v1/me/verifications', someone.auth, {
      verification_type: 'identity',
      evidence_file_ids: [evidence],
    });
    expect(verification.status).toBe(201);
    const [kept, removed, ofDeleted] = [
      await k.uploadPhoto(someone),
      await k.uploadPhoto(someone),
      await k.uploadPhoto(someone),
    ];
    const { id: edited } = await k.newOrder(someone, { photo_file_ids: [kept, removed], publish: true });
    expect(
      (await k.call('PATCH', `/api/v1/orders/${edited}`, someone.auth, { photo_file_ids: [kept] })).status,
    ).toBe(200);
    const { id: deleted } = await k.newOrder(someone, { photo_file_ids: [ofDeleted], publish: true });
    expect((await k.call('DELETE', `/api/v1/orders/${deleted}`, someone.auth)).status).toBe(200);
    const working = await k.orderIn(someone, 'in_progress', provider);
    await k.act(working, 'complete', provider, {
      completion_photo_file_ids: [await k.uploadPhoto(provider)],
    });
    const disputed = await k.orderIn(someone, 'in_progress', provider);
    const opened = await k.call('POST', `/api/v1/orders/${disputed}/disputes`, someone.auth, {
      dispute_type: 'quality_issue',
      description: 'Кран течёт',
      evidence_file_ids: [await k.uploadPdf(someone)],
    });
    expect(opened.status).toBe(201);

    const made = await snapshot();
    expect(new Set(made.references.map((r) => r.split('/')[0]))).toEqual(
      new Set(['user_profiles', 'user_verifications', 'orders', 'order_assignments', 'order_disputes']),
    );
    expect(made.attached).toEqual(expect.arrayContaining([kept, ofDeleted]));
    expect(made.attached).not.toContain(removed);

    // An upload recorded as the trail did before: with its name and storage key.
    const [oldTrail] = await t.db
      .insert(auditLog)
      .values({
        actorId: client.user.id,
        action: 'create',
        entity: 'files',
        entityId: MISSING,
        changes: {
          purpose: { before: null, after: 'order_photo' },
          original_name: { before: null, after: 'Паспорт Токтогуловой.pdf' },
          storage_key: { before: null, after: 'ab'.repeat(32) },
        },
      })
      .returning();

    await t.db.delete(fileAttachments);
    await t.db.update(files).set({ attachedAt: null });
    for (const statement of backfill) await t.database.sql.query(statement);
    expect(await snapshot()).toEqual(made);
    const [scrubbed] = await t.db.select().from(auditLog).where(eq(auditLog.id, oldTrail!.id));
    expect(scrubbed!.changes).toEqual({ purpose: { before: null, after: 'order_photo' } });
  });
});
