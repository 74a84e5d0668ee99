/**
 * Safety: reports and what moderators do about them (audited), contact details masked in direct chats and
 * flagged for moderators, slow mode and the per-minute limit on sends.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatFixtures } from '../../../test/chat-fixtures.ts';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { PNG } from '../../../test/order-fixtures.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { newId } from '../../platform/columns.ts';
import { hasContacts, maskContacts } from './contacts.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const k = chatFixtures(() => t);
const { call, send, sent, history } = k;

/** A direct chat between a new client and provider. */
async function directChat(label: string) {
  const client = await k.client(`Клиент ${label}`);
  const provider = await k.provider(`Мастер ${label}`);
  const opened = await call('POST', `/api/v1/providers/${provider.providerId}/chat`, client.auth);
  expect(opened.status).toBe(201);
  return { client, provider, roomId: opened.body.id as string };
}

describe('reports', () => {
  it('a participant reports, moderators read the context, review and mute the sender; the reporter sees the status', async () => {
    const { client, provider, roomId } = await directChat('жалоба');
    await sent(roomId, client, { content: 'Здравствуйте, нужен мастер' });
    const rude = await sent(roomId, provider, { content: 'Плати напрямую, мой WhatsApp +996 700 123 456' });
    const moderator = await k.user(['moderator'], 'Модератор жалоб');
    expect((await call('GET', `/api/v1/chats/${roomId}/messages`, moderator.auth)).status).toBe(404);

    const url = `/api/v1/chats/${roomId}/messages/${rude.id}/reports`;
    const own = await call('POST', url, provider.auth, { reason: 'spam' });
    expect(own.status).toBe(422);
    const stranger = await k.client('Посторонний жалоба');
    expect((await call('POST', url, stranger.auth, { reason: 'spam' })).status).toBe(404);
    const bad = await call('POST', url, client.auth, { reason: 'rudeness' });
    expect(bad.status).toBe(400);
    const made = await call('POST', url, client.auth, {
      reason: 'harassment',
      description: 'Грубит и зовёт мимо сайта',
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.headers.location).toBe(`/api/v1/chat-reports/${made.body.id}`);
    expect(made.body).toMatchObject({ status: 'pending', reported_user_id: provider.user.id, context: [] });
    // The reporter is a recipient of a direct chat: they see the message masked.
    expect(made.body.message.masked).toBe(true);
    expect((await call('POST', url, client.auth, { reason: 'spam' })).body.code).toBe('report_exists');

    expect((await call('GET', '/api/v1/chat-reports', client.auth)).status).toBe(403);
    const pending = await call('GET', '/api/v1/chat-reports?limit=100', moderator.auth);
    const listed = pending.body.data.find((r: { id: string }) => r.id === made.body.id);
    expect(listed.message).toMatchObject({
      content: 'Плати напрямую, мой WhatsApp +996 700 123 456',
      flagged: true,
      masked: false,
    });
    expect(listed.context.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
    // The report opens the chat to moderators, read only.
    expect((await history(roomId, moderator)).data[0]?.content).toContain('+996 700 123 456');
    expect((await send(roomId, moderator, { content: 'Модератор пишет' })).status).toBe(404);

    const reviewed = await call('POST', `/api/v1/chat-reports/${made.body.id}/review`, moderator.auth);
    expect(reviewed.body.status).toBe('under_review');
    expect((await call('POST', `/api/v1/chat-reports/${made.body.id}/review`, moderator.auth)).status).toBe(
      409,
    );
    const resolved = await call('POST', `/api/v1/chat-reports/${made.body.id}/resolve`, moderator.auth, {
      action: 'mute_sender',
      mute_minutes: 30,
      note: 'Первое предупреждение',
    });
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', action: 'mute_sender' });
    const muted = await send(roomId, provider, { content: 'Ещё раз' });
    expect(muted.status).toBe(403);
    expect(muted.body.code).toBe('chat_muted');
    expect((await send(roomId, client, { content: 'Спасибо' })).status).toBe(201);
    const again = await call('POST', `/api/v1/chat-reports/${made.body.id}/resolve`, moderator.auth, {
      action: 'dismiss',
    });
    expect(again.body.code).toBe('report_decided');

    const seen = await call('GET', `/api/v1/chat-reports/${made.body.id}`, client.auth);
    expect(seen.body).toMatchObject({ status: 'resolved', context: [] });
    expect((await call('GET', `/api/v1/chat-reports/${made.body.id}`, stranger.auth)).status).toBe(404);
    const trail = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entity, 'chat_reports'), eq(auditLog.entityId, made.body.id)));
    expect(trail.map((a) => a.action)).toEqual(['create', 'update', 'update']);
  });

  it('resolved by deleting the message leaves a tombstone; by blocking, the sender is out of every chat', async () => {
    const { client, provider, roomId } = await k.orderChat('блок модератора');
    const bad = await sent(roomId, provider, { content: 'Оскорбление' });
    const moderator = await k.user(['moderator'], 'Модератор блоков');
    const report = (
      await call('POST', `/api/v1/chats/${roomId}/messages/${bad.id}/reports`, client.auth, {
        reason: 'inappropriate_content',
      })
    ).body.id as string;
    const other = (
      await call('POST', `/api/v1/chats/${roomId}/messages/${bad.id}/reports`, client.auth, {
        reason: 'other',
      })
    ).status;
    expect(other).toBe(409);
    await call('POST', `/api/v1/chat-reports/${report}/resolve`, moderator.auth, {
      action: 'delete_message',
    });
    expect((await history(roomId, client)).data[0]).toMatchObject({ seq: 1, content: null });

    const second = await sent(roomId, provider, { content: 'Снова оскорбление' });
    const report2 = (
      await call('POST', `/api/v1/chats/${roomId}/messages/${second.id}/reports`, client.auth, {
        reason: 'harassment',
      })
    ).body.id as string;
    const blocked = await call('POST', `/api/v1/chat-reports/${report2}/resolve`, moderator.auth, {
      action: 'block_sender',
      block_days: 3,
    });
    expect(blocked.status).toBe(200);
    // Kept out of chat as a person, not only in this room: the restriction is theirs.
    const refused = await send(roomId, provider, { content: 'Можно?' });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('chat_blocked');
  });
});

describe('report evidence', () => {
  it('is seen by the reporter and the moderators who review reports, not by the reported or anyone else', async () => {
    const { client, provider, roomId } = await directChat('улика');
    const rude = await sent(roomId, provider, { content: 'Грубость' });
    const uploaded = await t.app.inject({
      method: 'POST',
      url: '/api/v1/files?purpose=chat_attachment',
      headers: { ...client.auth, 'content-type': 'image/png', 'x-file-name': 'screen.png' },
      payload: PNG,
    });
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const evidence = uploaded.json().id as string;
    const url = `/api/v1/chats/${roomId}/messages/${rude.id}/reports`;
    const theirs = await call('POST', url, client.auth, {
      reason: 'harassment',
      evidence_file_ids: [newId()],
    });
    expect(theirs.status).toBe(422);
    const made = await call('POST', url, client.auth, {
      reason: 'harassment',
      evidence_file_ids: [evidence],
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.evidence_file_ids).toEqual([evidence]);

    const moderator = await k.user(['moderator'], 'Модератор улик');
    const stranger = await k.client('Посторонний улика');
    const download = (who: { auth: Record<string, string> }) =>
      call('GET', `/api/v1/files/${evidence}`, who.auth).then((r) => r.status);
    expect(await download(client)).toBe(200);
    expect(await download(moderator)).toBe(200);
    expect(await download(provider)).toBe(404);
    expect(await download(stranger)).toBe(404);
  });
});

describe('contact details', () => {
  it.each([
    '+996 555 123 456',
    '+996555123456',
    '0555 12 34 56',
    '0 700 123-456',
    '555 123 456',
    'aigul.t@mail.kg',
    'пишите в телеграм @aigul_master',
    'оплата напрямую',
    'давайте мимо сайта',
    'түз төлөңүз',
    'сайтсыз иштейли',
  ])('are found and masked: %s', (text) => {
    expect(hasContacts(text)).toBe(true);
    expect(maskContacts(text)).toContain('•••');
  });

  it.each(['Буду в 10:30, кран 1/2 дюйма', 'Цена 1 500 сом за 2 часа', 'Заказ №12345'])(
    'leave ordinary text alone: %s',
    (text) => {
      expect(hasContacts(text)).toBe(false);
    },
  );

  it('are shown to the sender as written and masked for the recipient of a direct chat only', async () => {
    const direct = await directChat('контакты');
    await sent(direct.roomId, direct.provider, { content: 'Мой email usta@gmail.com' });
    expect((await history(direct.roomId, direct.client)).data[0]).toMatchObject({
      content: 'Мой email •••',
      masked: true,
      flagged: false,
    });
    expect((await history(direct.roomId, direct.provider)).data[0]?.content).toBe('Мой email usta@gmail.com');
    // After an accept, the order's chat shows contacts as they are.
    const agreed = await k.orderChat('контакты заказ');
    await sent(agreed.roomId, agreed.provider, { content: 'Мой номер 0555 123 456' });
    expect((await history(agreed.roomId, agreed.client)).data[0]).toMatchObject({ masked: false });
  });
});

describe('limits', () => {
  it('slow mode set by moderators spaces a participant’s messages', async () => {
    const { client, roomId } = await k.orderChat('медленно');
    const moderator = await k.user(['moderator'], 'Модератор медленный');
    expect(
      (await call('PUT', `/api/v1/chats/${roomId}/slow-mode`, client.auth, { seconds: 60 })).status,
    ).toBe(403);
    const set = await call('PUT', `/api/v1/chats/${roomId}/slow-mode`, moderator.auth, { seconds: 60 });
    expect(set.body).toEqual({ slow_mode_seconds: 60 });
    await sent(roomId, client, { content: 'Первое' });
    const second = await send(roomId, client, { content: 'Второе' });
    expect(second.status).toBe(429);
    expect(second.body.code).toBe('chat_slow_mode');
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(50);
    expect((await history(roomId, client)).last_seq).toBe(1);
  });

  it('a user sends at most chat_messages_per_minute messages a minute', async () => {
    const { client, roomId } = await k.orderChat('лимит');
    for (let i = 0; i < 30; i++) expect((await send(roomId, client, { content: `№${i}` })).status).toBe(201);
    const over = await send(roomId, client, { content: 'лишнее' });
    expect(over.status).toBe(429);
    expect(over.body.code).toBe('rate_limited');
    expect((await history(roomId, client)).last_seq).toBe(30);
  });
});
