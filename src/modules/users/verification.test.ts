import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { providerProfiles, userProfiles, userVerifications } from './schema.ts';

/** Just enough of a PDF and a PNG for the upload's content check. */
const SAMPLES = {
  pdf: Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'),
  png: Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
    'base64',
  ),
};

type SignedIn = Awaited<ReturnType<typeof signedInUser>>;

let t: TestApp;
let moderator: SignedIn;
let admin: SignedIn;

beforeAll(async () => {
  t = await createTestApp();
  moderator = await signedInUser(t, ['moderator']);
  admin = await signedInUser(t, ['admin']);
});
afterAll(() => t.close());

async function evidence(who: SignedIn, purpose = 'verification_evidence') {
  const [type, bytes] =
    purpose === 'profile_photo' ? ['image/png', SAMPLES.png] : ['application/pdf', SAMPLES.pdf];
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/v1/files?purpose=${purpose}`,
    headers: { ...who.auth, 'content-type': type },
    payload: bytes,
  });
  expect(res.statusCode).toBe(201);
  return res.json().id as string;
}

function submit(who: SignedIn, payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: '/api/v1/me/verifications', headers: who.auth, payload });
}

function decide(who: SignedIn, id: string, action: 'approve' | 'reject', payload?: Record<string, unknown>) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/admin/verifications/${id}/${action}`,
    headers: who.auth,
    ...(payload ? { payload } : {}),
  });
}

async function profileOf(who: SignedIn) {
  const [profile] = await t.db
    .select()
    .from(userProfiles)
    .where(and(eq(userProfiles.userId, who.user.id), eq(userProfiles.isDeleted, false)));
  return profile;
}

async function auditOf(entity: string, id: string) {
  return t.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.entity, entity), eq(auditLog.entityId, id)))
    .orderBy(auditLog.id);
}

describe('submitting a verification', () => {
  it('files an identity request with evidence, creating the profile and moving it to pending', async () => {
    const user = await signedInUser(t, ['client']);
    expect(await profileOf(user)).toBeUndefined();
    const file = await evidence(user);
    const res = await submit(user, {
      verification_type: 'identity',
      evidence_file_ids: [file, file],
      note: 'passport',
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toEqual({
      id: expect.any(String),
      verification_type: 'identity',
      status: 'pending',
      evidence_file_ids: [file],
      user_note: 'passport',
      public_note: null,
      created_at: expect.any(String),
      reviewed_at: null,
    });
    const profile = await profileOf(user);
    expect(profile!.verificationStatus).toBe('pending');
    expect(await auditOf('user_verifications', body.id)).toEqual([
      expect.objectContaining({ action: 'create', actorId: user.user.id }),
    ]);
    const profileAudit = await auditOf('user_profiles', profile!.id);
    expect(profileAudit.map((a) => a.action)).toEqual(['create', 'update']);
    expect(profileAudit[1]!.changes).toMatchObject({
      verification_status: { before: 'unverified', after: 'pending' },
    });
  });

  it('refuses a second pending request of the same type with 409, but takes another type', async () => {
    const user = await signedInUser(t, ['client']);
    const first = await submit(user, {
      verification_type: 'business',
      evidence_file_ids: [await evidence(user)],
    });
    expect(first.statusCode).toBe(201);
    const again = await submit(user, {
      verification_type: 'business',
      evidence_file_ids: [await evidence(user)],
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('verification_already_pending');
    const phone = await submit(user, { verification_type: 'phone' });
    expect(phone.statusCode).toBe(201);
    const rows = await t.db
      .select()
      .from(userVerifications)
      .where(eq(userVerifications.userProfileId, (await profileOf(user))!.id));
    expect(rows).toHaveLength(2);
  });

  it('needs evidence for identity, business and background checks, and only the caller’s evidence files', async () => {
    const user = await signedInUser(t, ['client']);
    const other = await signedInUser(t, ['client']);
    for (const type of ['identity', 'business', 'background_check']) {
      const res = await submit(user, { verification_type: type });
      expect(res.statusCode).toBe(422);
      expect(res.json().code).toBe('evidence_required');
    }
    const theirs = await submit(user, {
      verification_type: 'identity',
      evidence_file_ids: [await evidence(other)],
    });
    expect(theirs.statusCode).toBe(422);
    expect(theirs.json()).toMatchObject({
      code: 'invalid_file',
      errors: [{ in: 'body', field: 'evidence_file_ids.0' }],
    });
    const photo = await submit(user, {
      verification_type: 'identity',
      evidence_file_ids: [await evidence(user), await evidence(user, 'profile_photo')],
    });
    expect(photo.statusCode).toBe(422);
    expect(photo.json().errors).toEqual([expect.objectContaining({ field: 'evidence_file_ids.1' })]);
    const unknown = await submit(user, {
      verification_type: 'identity',
      evidence_file_ids: ['0195f0c2-0000-7000-8000-000000000000'],
    });
    expect(unknown.statusCode).toBe(422);
    const bad = await submit(user, { verification_type: 'passport', admin_notes: 'x' });
    expect(bad.statusCode).toBe(400);
    // Nothing was filed and the profile was left as it was.
    expect((await profileOf(user))?.verificationStatus ?? 'unverified').toBe('unverified');
  });

  it('creates one profile when a new user’s first two requests arrive at once', async () => {
    const user = await signedInUser(t, ['client']);
    const [a, b] = await Promise.all([
      submit(user, { verification_type: 'phone' }),
      submit(user, { verification_type: 'email' }),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    const profiles = await t.db.select().from(userProfiles).where(eq(userProfiles.userId, user.user.id));
    expect(profiles).toHaveLength(1);
  });
});

describe('what the user sees', () => {
  it('lists and shows only the caller’s requests, never the internal notes', async () => {
    const user = await signedInUser(t, ['client']);
    const other = await signedInUser(t, ['client']);
    const identity = (
      await submit(user, { verification_type: 'identity', evidence_file_ids: [await evidence(user)] })
    ).json();
    const email = (await submit(user, { verification_type: 'email' })).json();
    const decided = await decide(moderator, identity.id, 'reject', {
      public_note: 'The photo is blurred; please upload a sharper scan.',
      admin_notes: 'Looks like a photocopy of a photocopy.',
    });
    expect(decided.statusCode).toBe(200);

    const page1 = await t.app.inject({ url: '/api/v1/me/verifications?limit=1', headers: user.auth });
    expect(page1.statusCode).toBe(200);
    expect(page1.json().data.map((v: { id: string }) => v.id)).toEqual([email.id]);
    const page2 = await t.app.inject({
      url: `/api/v1/me/verifications?limit=1&cursor=${page1.json().next_cursor}`,
      headers: user.auth,
    });
    expect(page2.json()).toEqual({
      data: [
        expect.objectContaining({
          id: identity.id,
          status: 'rejected',
          public_note: 'The photo is blurred; please upload a sharper scan.',
          reviewed_at: expect.any(String),
        }),
      ],
      next_cursor: null,
    });
    const one = await t.app.inject({ url: `/api/v1/me/verifications/${identity.id}`, headers: user.auth });
    expect(one.statusCode).toBe(200);
    for (const body of [page1.body, page2.body, one.body]) {
      expect(body).not.toContain('admin_notes');
      expect(body).not.toContain('photocopy');
      expect(body).not.toContain('reviewed_by');
    }

    const theirs = await t.app.inject({ url: '/api/v1/me/verifications', headers: other.auth });
    expect(theirs.json()).toEqual({ data: [], next_cursor: null });
    const peek = await t.app.inject({ url: `/api/v1/me/verifications/${identity.id}`, headers: other.auth });
    expect(peek.statusCode).toBe(404);
    expect(peek.json().code).toBe('verification_not_found');
  });
});

describe('review by staff', () => {
  it('keeps admin routes for moderators and admins', async () => {
    const user = await signedInUser(t, ['client', 'provider']);
    const finance = await signedInUser(t, ['finance']);
    const v = (await submit(user, { verification_type: 'phone' })).json();
    for (const who of [user, finance]) {
      for (const [method, url] of [
        ['GET', '/api/v1/admin/verifications'],
        ['GET', `/api/v1/admin/verifications/${v.id}`],
        ['POST', `/api/v1/admin/verifications/${v.id}/approve`],
        ['POST', `/api/v1/admin/verifications/${v.id}/reject`],
      ] as const) {
        const res = await t.app.inject({
          method,
          url,
          headers: who.auth,
          ...(method === 'POST' ? { payload: {} } : {}),
        });
        expect(res.statusCode, `${method} ${url}`).toBe(403);
      }
    }
    expect((await t.app.inject({ url: '/api/v1/admin/verifications' })).statusCode).toBe(401);
    const still = await t.db.select().from(userVerifications).where(eq(userVerifications.id, v.id));
    expect(still[0]!.status).toBe('pending');
  });

  it('lists the pending queue by type and user, oldest first, with internal notes and evidence', async () => {
    const user = await signedInUser(t, ['client']);
    const file = await evidence(user);
    const first = (
      await submit(user, { verification_type: 'background_check', evidence_file_ids: [file] })
    ).json();
    const second = (await submit(user, { verification_type: 'phone' })).json();

    const queue = await t.app.inject({
      url: `/api/v1/admin/verifications?status=pending&user_id=${user.user.id}`,
      headers: moderator.auth,
    });
    expect(queue.statusCode).toBe(200);
    expect(queue.json().data.map((v: { id: string }) => v.id)).toEqual([first.id, second.id]);
    expect(queue.json().data[0]).toEqual({
      ...first,
      user_id: user.user.id,
      user_profile_id: (await profileOf(user))!.id,
      admin_notes: null,
      reviewed_by: null,
      updated_at: expect.any(String),
      evidence_file_ids: [file],
    });
    const byType = await t.app.inject({
      url: `/api/v1/admin/verifications?type=phone&user_id=${user.user.id}&sort=newest`,
      headers: admin.auth,
    });
    expect(byType.json().data.map((v: { id: string }) => v.id)).toEqual([second.id]);
    const paged = await t.app.inject({
      url: `/api/v1/admin/verifications?status=pending&user_id=${user.user.id}&limit=1`,
      headers: moderator.auth,
    });
    const next = await t.app.inject({
      url: `/api/v1/admin/verifications?status=pending&user_id=${user.user.id}&limit=1&cursor=${paged.json().next_cursor}`,
      headers: moderator.auth,
    });
    expect(next.json().data.map((v: { id: string }) => v.id)).toEqual([second.id]);
    // The cursor is for the oldest-first list only.
    const newestFirst = await t.app.inject({
      url: `/api/v1/admin/verifications?status=pending&user_id=${user.user.id}&sort=newest&cursor=${paged.json().next_cursor}`,
      headers: moderator.auth,
    });
    expect([newestFirst.statusCode, newestFirst.json().code]).toEqual([400, 'invalid_cursor']);
    const either = await t.app.inject({
      url: `/api/v1/admin/verifications?status=approved&status=pending&user_id=${user.user.id}`,
      headers: moderator.auth,
    });
    expect(either.json().data.map((v: { id: string }) => v.id)).toEqual([first.id, second.id]);
    const retired = await t.app.inject({
      url: `/api/v1/admin/verifications?order=desc`,
      headers: moderator.auth,
    });
    expect([retired.statusCode, retired.json().errors[0].field]).toEqual([400, 'order']);

    const one = await t.app.inject({
      url: `/api/v1/admin/verifications/${first.id}`,
      headers: moderator.auth,
    });
    expect(one.json()).toMatchObject({ id: first.id, evidence_file_ids: [file] });
    // The moderator can open the evidence.
    const pdf = await t.app.inject({ url: `/api/v1/files/${file}`, headers: moderator.auth });
    expect(pdf.statusCode).toBe(200);
    expect(
      (
        await t.app.inject({
          url: '/api/v1/admin/verifications/0195f0c2-0000-7000-8000-000000000000',
          headers: admin.auth,
        })
      ).statusCode,
    ).toBe(404);
  });

  it('approving identity verifies the profile and badges the provider profile, all audited', async () => {
    const user = await signedInUser(t, ['client', 'provider']);
    const v = (
      await submit(user, { verification_type: 'identity', evidence_file_ids: [await evidence(user)] })
    ).json();
    const profile = (await profileOf(user))!;
    const [provider] = await t.db
      .insert(providerProfiles)
      .values({ userProfileId: profile.id, businessName: 'Usta Service' })
      .returning();

    const res = await decide(moderator, v.id, 'approve', {
      public_note: 'Welcome!',
      admin_notes: 'ID checked',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'approved',
      public_note: 'Welcome!',
      admin_notes: 'ID checked',
      reviewed_by: moderator.user.id,
      reviewed_at: expect.any(String),
    });
    expect((await profileOf(user))!.verificationStatus).toBe('verified');
    const [badged] = await t.db.select().from(providerProfiles).where(eq(providerProfiles.id, provider!.id));
    expect(badged!.isVerified).toBe(true);

    const decision = await auditOf('user_verifications', v.id);
    expect(decision.map((a) => [a.action, a.actorId])).toEqual([
      ['create', user.user.id],
      ['update', moderator.user.id],
    ]);
    expect(decision[1]!.changes).toMatchObject({
      status: { before: 'pending', after: 'approved' },
      admin_notes: { before: null, after: 'ID checked' },
    });
    expect((await auditOf('user_profiles', profile.id)).at(-1)!.changes).toMatchObject({
      verification_status: { before: 'pending', after: 'verified' },
    });
    expect((await auditOf('provider_profiles', provider!.id))[0]!.changes).toMatchObject({
      is_verified: { before: false, after: true },
    });

    // Decided once; a second decision is a conflict. A verified identity needs no new request.
    const again = await decide(admin, v.id, 'reject');
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('verification_not_pending');
    const resubmit = await submit(user, {
      verification_type: 'identity',
      evidence_file_ids: [await evidence(user)],
    });
    expect(resubmit.statusCode).toBe(409);
    expect(resubmit.json().code).toBe('already_verified');
  });

  it('rejecting identity sends the profile back to unverified, and the user may try again', async () => {
    const user = await signedInUser(t, ['client']);
    const v = (
      await submit(user, { verification_type: 'identity', evidence_file_ids: [await evidence(user)] })
    ).json();
    expect((await profileOf(user))!.verificationStatus).toBe('pending');
    const res = await decide(moderator, v.id, 'reject');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'rejected', public_note: null });
    expect((await profileOf(user))!.verificationStatus).toBe('unverified');
    const retry = await submit(user, {
      verification_type: 'identity',
      evidence_file_ids: [await evidence(user)],
    });
    expect(retry.statusCode).toBe(201);
    expect((await profileOf(user))!.verificationStatus).toBe('pending');
  });

  it('takes exactly one of two decisions made at once', async () => {
    const other = await signedInUser(t, ['moderator']);
    for (let round = 0; round < 3; round++) {
      const user = await signedInUser(t, ['client']);
      const v = (
        await submit(user, { verification_type: 'identity', evidence_file_ids: [await evidence(user)] })
      ).json();
      const [approve, reject] = await Promise.all([
        decide(moderator, v.id, 'approve', { admin_notes: 'approve' }),
        decide(other, v.id, 'reject', { admin_notes: 'reject' }),
      ]);
      expect([approve.statusCode, reject.statusCode].sort()).toEqual([200, 409]);
      const loser = approve.statusCode === 409 ? approve : reject;
      expect(loser.json().code).toBe('verification_not_pending');
      const winner = approve.statusCode === 200 ? 'approved' : 'rejected';
      const [row] = await t.db.select().from(userVerifications).where(eq(userVerifications.id, v.id));
      expect(row!.status).toBe(winner);
      expect((await profileOf(user))!.verificationStatus).toBe(
        winner === 'approved' ? 'verified' : 'unverified',
      );
      const updates = (await auditOf('user_verifications', v.id)).filter((a) => a.action === 'update');
      expect(updates).toHaveLength(1);
    }
  });

  it('does not let staff decide their own request', async () => {
    const v = (await submit(moderator, { verification_type: 'email' })).json();
    const own = await decide(moderator, v.id, 'approve');
    expect(own.statusCode).toBe(403);
    expect(own.json().code).toBe('own_case');
    expect((await decide(admin, v.id, 'approve')).statusCode).toBe(200);
  });
});
