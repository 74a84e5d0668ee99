/**
 * Who may download a file (GET /files/{id}): its owner, and whoever may see what it is attached to, as the
 * module owning that row says. Every kind of attachment against every kind of caller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helper.ts';
import { orderFixtures, type Provider, type SignedIn } from './order-fixtures.ts';

let t: TestApp;
const k = orderFixtures(() => t);

const CALLERS = [
  'owner',
  'party',
  'other_client',
  'other_provider',
  'admin',
  'moderator',
  'finance',
  'analyst',
] as const;
type Caller = (typeof CALLERS)[number];

let client: SignedIn;
let provider: Provider;
let others: Record<Exclude<Caller, 'owner' | 'party'>, SignedIn>;

beforeAll(async () => {
  t = await createTestApp();
  client = await k.user(['client'], 'Айгуль Токтогулова');
  provider = await k.provider('Бакыт Асанов');
  others = {
    other_client: await k.user(['client'], 'Другой Клиент'),
    other_provider: await k.provider('Другой Мастер'),
    admin: await k.user(['admin']),
    moderator: await k.user(['moderator']),
    finance: await k.user(['finance']),
    analyst: await k.user(['analyst']),
  };
});
afterAll(() => t.close());

/** The status each caller gets for the file; `party` is the other side of the order, when there is one. */
async function statuses(fileId: string, owner: SignedIn, party?: SignedIn) {
  const who: Partial<Record<Caller, SignedIn>> = { owner, ...others, ...(party ? { party } : {}) };
  const result: Partial<Record<Caller, number>> = {};
  for (const caller of CALLERS) {
    const signedIn = who[caller];
    if (!signedIn) continue;
    const answer = await k.call('GET', `/api/v1/files/${fileId}`, signedIn.auth);
    if (answer.status === 404) expect(answer.body.code).toBe('file_not_found');
    result[caller] = answer.status;
  }
  return result;
}

/** 200 for the callers named, 404 for the rest (of those asked). */
function only(allowed: Caller[], asked: Caller[] = [...CALLERS]) {
  return Object.fromEntries(asked.map((c) => [c, allowed.includes(c) ? 200 : 404]));
}
const withoutParty = CALLERS.filter((c) => c !== 'party');
const STAFF: Caller[] = ['admin', 'moderator', 'finance', 'analyst'];

describe('order photos follow the order', () => {
  it('a draft’s: only its client, not staff', async () => {
    const photo = await k.uploadPhoto(client);
    await k.newOrder(client, { photo_file_ids: [photo] });
    expect(await statuses(photo, client)).toEqual(only(['owner'], withoutParty));
  });

  it('an open order’s: anyone signed in', async () => {
    const photo = await k.uploadPhoto(client);
    await k.newOrder(client, { photo_file_ids: [photo], publish: true });
    expect(await statuses(photo, client)).toEqual(only(withoutParty, withoutParty));
  });

  it('agreed work’s: its client, its provider and staff', async () => {
    const photo = await k.uploadPhoto(client);
    await k.orderIn(client, 'assigned', provider, { photo_file_ids: [photo] });
    expect(await statuses(photo, client, provider)).toEqual(only(['owner', 'party', ...STAFF]));
  });

  it('a deleted order’s: staff, as their list of deleted orders shows it; a deleted draft’s: nobody else', async () => {
    const photo = await k.uploadPhoto(client);
    const { id } = await k.newOrder(client, { photo_file_ids: [photo], publish: true });
    expect((await k.call('DELETE', `/api/v1/orders/${id}`, client.auth)).status).toBe(200);
    expect(await statuses(photo, client)).toEqual(only(['owner', ...STAFF], withoutParty));
    const listed = await k.call(
      'GET',
      `/api/v1/admin/orders?deleted=true&client_id=${client.user.id}`,
      others.analyst.auth,
    );
    expect(listed.body.data).toContainEqual(expect.objectContaining({ id, primary_photo_file_id: photo }));

    const draftPhoto = await k.uploadPhoto(client);
    const draft = await k.newOrder(client, { photo_file_ids: [draftPhoto] });
    expect((await k.call('DELETE', `/api/v1/orders/${draft.id}`, client.auth)).status).toBe(200);
    expect(await statuses(draftPhoto, client)).toEqual(only(['owner'], withoutParty));
  });

  it('a photo taken off an order: its owner alone', async () => {
    const [kept, removed] = [await k.uploadPhoto(client), await k.uploadPhoto(client)];
    const { id } = await k.newOrder(client, { photo_file_ids: [kept, removed], publish: true });
    const edited = await k.call('PATCH', `/api/v1/orders/${id}`, client.auth, { photo_file_ids: [kept] });
    expect(edited.status).toBe(200);
    expect(await statuses(removed, client)).toEqual(only(['owner'], withoutParty));
    expect((await statuses(kept, client)).other_provider).toBe(200);
  });
});

describe('completion photos', () => {
  it('the order’s two parties and staff', async () => {
    const id = await k.orderIn(client, 'in_progress', provider);
    const photo = await k.uploadPhoto(provider);
    const done = await k.call('POST', `/api/v1/orders/${id}/complete`, provider.auth, {
      completion_photo_file_ids: [photo],
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(await statuses(photo, provider, client)).toEqual(only(['owner', 'party', ...STAFF]));
  });
});

describe('dispute evidence', () => {
  it('the order’s two parties and the staff who read disputes, not analysts; analysts cannot list the disputes either', async () => {
    const id = await k.orderIn(client, 'in_progress', provider);
    const evidence = await k.uploadPdf(client);
    const opened = await k.call('POST', `/api/v1/orders/${id}/disputes`, client.auth, {
      dispute_type: 'quality_issue',
      description: 'Кран течёт как и раньше',
      evidence_file_ids: [evidence],
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    expect(await statuses(evidence, client, provider)).toEqual(
      only(['owner', 'party', 'admin', 'moderator', 'finance']),
    );

    const list = (who: SignedIn) => k.call('GET', `/api/v1/orders/${id}/disputes`, who.auth);
    expect((await list(others.finance)).body.data).toHaveLength(1);
    expect((await list(provider)).body.data).toHaveLength(1);
    const analyst = await list(others.analyst);
    expect(analyst.status).toBe(403);
    expect(analyst.body.code).toBe('not_dispute_staff');
    expect((await list(others.other_provider)).status).toBe(404);
  });
});

describe('verification evidence', () => {
  it('its owner and the staff who review verifications, not finance or analysts', async () => {
    const evidence = await k.uploadPdf(client, 'verification_evidence');
    const submitted = await k.call('POST', '/api/v1/me/verifications', client.auth, {
      verification_type: 'identity',
      evidence_file_ids: [evidence],
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    expect(await statuses(evidence, client)).toEqual(only(['owner', 'admin', 'moderator'], withoutParty));
  });
});

describe('profile photos', () => {
  it('a provider’s, shown in the directory: anyone signed in', async () => {
    const photo = await k.uploadPhoto(provider, 'profile_photo');
    expect(
      (await k.call('PATCH', '/api/v1/me/profile', provider.auth, { photo_file_id: photo })).status,
    ).toBe(200);
    expect(await statuses(photo, provider)).toEqual(only(withoutParty, withoutParty));
  });

  it('a client’s: its owner and the staff who manage accounts', async () => {
    const someone = await k.client('Клиент С Фото');
    const photo = await k.uploadPhoto(someone, 'profile_photo');
    expect((await k.call('PATCH', '/api/v1/me/profile', someone.auth, { photo_file_id: photo })).status).toBe(
      200,
    );
    expect(await statuses(photo, someone)).toEqual(only(['owner', 'admin', 'moderator'], withoutParty));
  });
});

describe('a file attached to nothing', () => {
  it('its owner alone, whatever its purpose', async () => {
    for (const [purpose, upload] of [
      ['order_photo', () => k.uploadPhoto(client)],
      ['profile_photo', () => k.uploadPhoto(client, 'profile_photo')],
      ['dispute_evidence', () => k.uploadPdf(client)],
      ['verification_evidence', () => k.uploadPdf(client, 'verification_evidence')],
    ] as const) {
      expect(await statuses(await upload(), client), purpose).toEqual(only(['owner'], withoutParty));
    }
  });
});

describe('the download route’s documentation', () => {
  it('says who sees each kind of attachment, as the modules registered them', () => {
    const doc = t.app.swagger() as unknown as {
      paths: Record<string, Record<string, { description: string }>>;
    };
    const description = doc.paths['/api/v1/files/{id}']!.get!.description;
    for (const kind of [
      'order photos',
      'completion photos',
      'dispute evidence',
      'profile photos',
      'verification evidence',
    ]) {
      expect(description).toContain(`${kind}: `);
    }
  });
});
