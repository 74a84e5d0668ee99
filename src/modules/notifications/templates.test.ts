import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, deliverQueuedEvents, type TestApp } from '../../../test/helper.ts';
import { caller } from '../../../test/http.ts';
import { createDevelopmentChannel } from './channels.ts';
import { CHANNELS, channelAllowed, NOTIFICATION_TYPES } from './contract.ts';
import { SEEDED_TEMPLATES } from './template-texts.ts';
import { formatAmount, renderText } from './templates.ts';

let t: TestApp;
const email = createDevelopmentChannel('email');
beforeAll(async () => {
  t = await createTestApp({ notificationChannels: { email } });
});
afterAll(() => t.close());

const call = caller(() => t);

interface Template {
  id: string;
  type: string;
  channel: string;
  language: string;
  subject: string;
  content: string;
}

async function allTemplates(auth: Record<string, string>) {
  const all: Template[] = [];
  let cursor: string | null = null;
  do {
    const answer = await call(
      'GET',
      `/api/v1/admin/notification-templates?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      auth,
    );
    expect(answer.status).toBe(200);
    all.push(...answer.body.data);
    cursor = answer.body.next_cursor;
  } while (cursor);
  return all;
}

describe('templates', () => {
  it('are seeded for every type on every channel it may use, in ru, ky and en, and all render', async () => {
    const admin = await signedInUser(t, ['admin']);
    const templates = await allTemplates(admin.auth);
    for (const type of NOTIFICATION_TYPES) {
      for (const channel of CHANNELS) {
        const languages = templates
          .filter((x) => x.type === type && x.channel === channel)
          .map((x) => x.language)
          .sort();
        expect(languages, `${type} on ${channel}`).toEqual(
          channelAllowed(type, channel) ? ['en', 'ky', 'ru'] : [],
        );
      }
    }
    const preview = await call(
      'POST',
      `/api/v1/admin/notification-templates/${templates[0]!.id}/preview`,
      admin.auth,
    );
    expect(preview.status).toBe(200);
    expect(preview.body.subject).not.toContain('{');
  });

  it('say plurals as each language does', () => {
    const offers =
      '{bid_count, plural, one {# предложение} few {# предложения} many {# предложений} other {#}}';
    expect([1, 2, 5, 21].map((n) => renderText(offers, 'ru', { bid_count: n }))).toEqual([
      '1 предложение',
      '2 предложения',
      '5 предложений',
      '21 предложение',
    ]);
    expect(renderText('{bid_count, plural, one {# offer} other {# offers}}', 'en', { bid_count: 1 })).toBe(
      '1 offer',
    );
    const review = SEEDED_TEMPLATES.find(
      (x) => x.notificationType === 'review_received' && x.channel === 'in_app' && x.language === 'ru',
    )!.content;
    const values = { other_name: 'Айгуль', order_title: 'Уборка', rating: 5 };
    expect(renderText(review, 'ru', { ...values, other_gender: 'female' })).toBe(
      'Айгуль оценила вас на 5 звёзд за заказ «Уборка».',
    );
    expect(renderText(review, 'ru', { ...values, other_gender: '', rating: 1 })).toBe(
      'Айгуль оценил(а) вас на 1 звезду за заказ «Уборка».',
    );
    expect(formatAmount(150_050, 'en')).toBe('KGS\u00a01,500.50');
    expect(formatAmount(150_000, 'ky')).toBe('1\u00a0500\u00a0сом');
  });

  it('are edited by admins; a text that does not parse is refused naming where', async () => {
    const admin = await signedInUser(t, ['admin']);
    const [template] = (await allTemplates(admin.auth)).filter(
      (x) => x.type === 'bid_received' && x.channel === 'in_app' && x.language === 'en',
    );
    const url = `/api/v1/admin/notification-templates/${template!.id}`;
    const broken = await call('PUT', url, admin.auth, {
      subject: 'New offer',
      content: 'You have {bid_count, plural, one {# offer} other {# offers}',
    });
    expect(broken.status).toBe(400);
    expect(broken.body.code).toBe('template_invalid');
    expect(broken.body.errors[0].field).toBe('content');
    expect(broken.body.errors[0].message).toMatch(/line 1, column \d+/);

    const saved = await call('PUT', url, admin.auth, {
      subject: 'Offer from {other_name}',
      content: '{other_name} offers {amount}.',
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).toMatchObject({ subject: 'Offer from {other_name}' });
    const preview = await call('POST', `${url}/preview`, admin.auth, {});
    expect(preview.body).toEqual({ subject: 'Offer from Айбек', content: 'Айбек offers 1 500 сом.' });

    const moderator = await signedInUser(t, ['moderator']);
    expect((await call('PUT', url, moderator.auth, { subject: 'x', content: 'y' })).status).toBe(403);
    const client = await signedInUser(t, ['client']);
    expect((await call('GET', '/api/v1/admin/notification-templates', client.auth)).status).toBe(403);
  });

  it('are sent to the admin themselves as a test', async () => {
    const admin = await signedInUser(t, ['admin']);
    const [template] = (await allTemplates(admin.auth)).filter(
      (x) => x.type === 'order_completed' && x.channel === 'email' && x.language === 'ru',
    );
    const sent = await call('POST', `/api/v1/admin/notification-templates/${template!.id}/test`, admin.auth);
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toMatchObject({ channel: 'email', status: 'sent' });
    expect(email.sent.at(-1)).toMatchObject({ to: admin.email, subject: 'Заказ завершён' });
    expect(email.sent.at(-1)!.text).toContain('Заказ «Починить кран на кухне» завершён. Оцените Айбек.');
  });
});

describe('the queue', () => {
  it('shows staff the deliveries waiting for an attempt, and no one else', async () => {
    const who = await signedInUser(t, ['client']);
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'user-agent': 'KG iOS 2.0' },
      payload: { email: who.email, password: who.reauth.password },
    });
    expect(login.statusCode).toBe(200);
    await deliverQueuedEvents(t.app, 'notifications', ['account_signed_in_new_device']);
    const moderator = await signedInUser(t, ['moderator']);
    const answer = await call('GET', '/api/v1/admin/notification-queue?channel=email', moderator.auth);
    expect(answer.status).toBe(200);
    expect(answer.body.data.filter((e: { user_id: string }) => e.user_id === who.user.id)).toMatchObject([
      { channel: 'email', priority: 'urgent', status: 'pending', retry_count: 0 },
    ]);
    const client = await signedInUser(t, ['client']);
    expect((await call('GET', '/api/v1/admin/notification-queue', client.auth)).status).toBe(403);
  });
});
