/**
 * Support chats (opened by a person, queued for staff, taken, answered, closed) and direct chats (a client
 * writes to a provider from their profile; one room per pair; blocks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatFixtures } from '../../../test/chat-fixtures.ts';
import { createTestApp, deliverQueuedEvents, type TestApp } from '../../../test/helper.ts';
import { MISSING } from '../../../test/order-fixtures.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const k = chatFixtures(() => t);
const { call, send, sent, history } = k;

describe('support chats', () => {
  it('are opened once, queued, taken, answered and closed', async () => {
    const person = await k.client('Просит помощи');
    const opened = await call('POST', '/api/v1/me/support-chats', person.auth, { title: 'Не приходит код' });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    expect(opened.headers.location).toBe(`/api/v1/chats/${opened.body.id}`);
    const roomId = opened.body.id as string;
    const again = await call('POST', '/api/v1/me/support-chats', person.auth, {});
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(roomId);
    await sent(roomId, person, { content: 'Код по SMS не приходит' });

    const moderator = await k.user(['moderator'], 'Айбек Поддержка');
    const other = await k.user(['moderator'], 'Другой модератор');
    // In the queue, but not readable before it is taken.
    const queue = await call('GET', '/api/v1/support-chats?limit=100', moderator.auth);
    expect(queue.status).toBe(200);
    expect(queue.body.data.map((r: { id: string }) => r.id)).toContain(roomId);
    expect((await call('GET', `/api/v1/chats/${roomId}/messages`, moderator.auth)).status).toBe(404);
    expect((await call('GET', '/api/v1/support-chats', person.auth)).status).toBe(403);

    const taken = await call('POST', `/api/v1/support-chats/${roomId}/take`, moderator.auth);
    expect(taken.status, JSON.stringify(taken.body)).toBe(200);
    const second = await call('POST', `/api/v1/support-chats/${roomId}/take`, other.auth);
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('support_chat_taken');
    const stillQueued = await call('GET', '/api/v1/support-chats?limit=100', other.auth);
    expect(stillQueued.body.data.map((r: { id: string }) => r.id)).not.toContain(roomId);

    await sent(roomId, moderator, { content: 'Проверьте номер в профиле' });
    const seen = await history(roomId, person);
    expect(seen.data.map((m) => [m.type, m.content])).toEqual([
      ['text', 'Проверьте номер в профиле'],
      ['system', 'Вам отвечает Айбек Поддержка, служба поддержки.'],
      ['text', 'Код по SMS не приходит'],
    ]);
    expect((await call('POST', `/api/v1/support-chats/${roomId}/close`, other.auth)).status).toBe(404);
    const closed = await call('POST', `/api/v1/support-chats/${roomId}/close`, moderator.auth);
    expect(closed.status).toBe(200);
    expect(closed.body.closed_at).not.toBeNull();
    const late = await send(roomId, person, { content: 'Ещё вопрос' });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('chat_closed');
    expect((await history(roomId, person)).data[0]?.type).toBe('system');
    // Closed, a new one can be opened.
    expect((await call('POST', '/api/v1/me/support-chats', person.auth, {})).status).toBe(201);
  });
});

describe('direct chats', () => {
  it('a client opens one from the provider’s profile, once per pair; contacts are masked for the recipient', async () => {
    const client = await k.client('Клиент напрямую');
    const provider = await k.provider('Мастер напрямую');
    const opened = await call('POST', `/api/v1/providers/${provider.providerId}/chat`, client.auth);
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const roomId = opened.body.id as string;
    expect(opened.body).toMatchObject({ type: 'general_chat', other_party: { user_id: provider.user.id } });
    const again = await call('POST', `/api/v1/providers/${provider.providerId}/chat`, client.auth);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(roomId);

    const message = await sent(roomId, client, { content: 'Позвоните: +996 555 123 456 или 0700 12-34-56' });
    expect(message.content).toBe('Позвоните: +996 555 123 456 или 0700 12-34-56');
    const theirs = await history(roomId, provider);
    expect(theirs.data[0]).toMatchObject({ content: 'Позвоните: ••• или •••', masked: true });
    const mine = await history(roomId, client);
    expect(mine.data[0]).toMatchObject({ masked: false });
  });

  it('a provider cannot start one, nor a client with their own profile; an unknown provider is 404', async () => {
    const provider = await k.provider('Мастер без клиентов');
    const onlyProvider = await k.user(['provider'], 'Только мастер');
    const refused = await call('POST', `/api/v1/providers/${provider.providerId}/chat`, onlyProvider.auth);
    expect(refused.status).toBe(403);
    const own = await call('POST', `/api/v1/providers/${provider.providerId}/chat`, provider.auth);
    expect(own.status).toBe(422);
    expect(own.body.code).toBe('own_profile');
    const client = await k.client('Клиент потерянный');
    const missing = await call('POST', `/api/v1/providers/${MISSING}/chat`, client.auth);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('provider_not_found');
  });

  it('either side blocks the other: no one sends until the block is lifted', async () => {
    const client = await k.client('Клиент блок');
    const provider = await k.provider('Мастер блок');
    const roomId = (await call('POST', `/api/v1/providers/${provider.providerId}/chat`, client.auth)).body
      .id as string;
    await sent(roomId, client, { content: 'Добрый день' });
    const blocked = await call('POST', `/api/v1/chats/${roomId}/block`, provider.auth);
    expect(blocked.status).toBe(200);
    expect(blocked.body.blocked).toBe(true);
    for (const who of [client, provider]) {
      const refused = await send(roomId, who, { content: 'Ответьте' });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('chat_blocked');
    }
    expect((await history(roomId, client)).data).toHaveLength(1);
    const stranger = await k.client('Чужой блок');
    expect((await call('POST', `/api/v1/chats/${roomId}/block`, stranger.auth)).status).toBe(404);
    expect((await call('POST', `/api/v1/chats/${roomId}/unblock`, provider.auth)).body.blocked).toBe(false);
    expect((await send(roomId, client, { content: 'Снова на связи' })).status).toBe(201);

    const { roomId: orderRoom, client: c } = await k.orderChat('не прямой');
    const notDirect = await call('POST', `/api/v1/chats/${orderRoom}/block`, c.auth);
    expect(notDirect.status).toBe(409);
    expect(notDirect.body.code).toBe('not_a_direct_chat');
    const kept = await call('POST', `/api/v1/chats/${orderRoom}/leave`, c.auth);
    expect(kept.status).toBe(409);
    expect(kept.body.code).toBe('order_chat_kept');
  });

  it('a participant who leaves reads, writes and lists it no more; the other party still reads it', async () => {
    const client = await k.client('Клиент уходит');
    const provider = await k.provider('Мастер остаётся');
    const roomId = (await call('POST', `/api/v1/providers/${provider.providerId}/chat`, client.auth)).body
      .id as string;
    await sent(roomId, client, { content: 'До свидания' });
    expect((await call('POST', `/api/v1/chats/${roomId}/leave`, client.auth)).status).toBe(204);
    expect((await call('GET', `/api/v1/chats/${roomId}/messages`, client.auth)).status).toBe(404);
    expect((await send(roomId, client, { content: 'Я вернулся' })).status).toBe(404);
    expect((await call('POST', `/api/v1/chats/${roomId}/leave`, client.auth)).status).toBe(404);
    expect((await call('GET', '/api/v1/me/chats', client.auth)).body.data).toEqual([]);
    expect((await history(roomId, provider)).data[0]?.content).toBe('До свидания');
  });
});

describe('a message sent', () => {
  it('tells the other participants through the notifications module, once, without its text', async () => {
    const client = await k.client('Айгуль Уведомление');
    const provider = await k.provider('Мастер уведомлений');
    const roomId = (await call('POST', `/api/v1/providers/${provider.providerId}/chat`, client.auth)).body
      .id as string;
    await sent(roomId, client, { content: 'Секрет: код от двери 1234' });
    await deliverQueuedEvents(t.app, 'notifications', ['chat_message_sent']);
    await deliverQueuedEvents(t.app, 'notifications', ['chat_message_sent']);
    const inbox = await call('GET', '/api/v1/me/notifications', provider.auth);
    const told = inbox.body.data.filter((n: { type: string }) => n.type === 'chat_message');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({
      subject: 'Сообщение от Айгуль Уведомление',
      message: 'Новое сообщение.',
      context: { room_id: roomId },
    });
    expect(JSON.stringify(told[0])).not.toContain('1234');
    const mine = await call('GET', '/api/v1/me/notifications', client.auth);
    expect(mine.body.data.filter((n: { type: string }) => n.type === 'chat_message')).toEqual([]);
  });

  it('stays off the channels a participant silenced the chat on, and only in that chat', async () => {
    const client = await k.client('Айгуль Тишина');
    const provider = await k.provider('Мастер тишины');
    const roomId = (await call('POST', `/api/v1/providers/${provider.providerId}/chat`, client.auth)).body
      .id as string;
    const url = `/api/v1/chats/${roomId}/notification-preferences`;
    expect((await call('GET', url, provider.auth)).body).toEqual({ in_app: true, push: true, email: true });
    const stranger = await k.client('Посторонний тишина');
    expect((await call('PATCH', url, stranger.auth, { in_app: false })).status).toBe(404);
    expect((await call('PATCH', url, provider.auth, {})).status).toBe(400);
    expect((await call('PATCH', url, provider.auth, { sms: false })).status).toBe(400);
    const silenced = await call('PATCH', url, provider.auth, { in_app: false });
    expect(silenced.status, JSON.stringify(silenced.body)).toBe(200);
    expect(silenced.body).toEqual({ in_app: false, push: true, email: true });
    // Two changes at once each keep the other's channel.
    const [a, b] = await Promise.all([
      call('PATCH', url, provider.auth, { push: false }),
      call('PATCH', url, provider.auth, { email: false }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await call('GET', url, provider.auth)).body).toEqual({
      in_app: false,
      push: false,
      email: false,
    });

    const otherClient = await k.client('Другой клиент тишины');
    const otherRoom = (await call('POST', `/api/v1/providers/${provider.providerId}/chat`, otherClient.auth))
      .body.id as string;
    await sent(roomId, client, { content: 'Вы тут?' });
    await sent(otherRoom, otherClient, { content: 'Здравствуйте' });
    await deliverQueuedEvents(t.app, 'notifications', ['chat_message_sent']);
    const told = (await call('GET', '/api/v1/me/notifications', provider.auth)).body.data.filter(
      (n: { type: string }) => n.type === 'chat_message',
    );
    expect(told.map((n: { context: { room_id: string } }) => n.context.room_id)).toEqual([otherRoom]);

    expect((await call('PATCH', url, provider.auth, { in_app: true })).body.in_app).toBe(true);
    await sent(roomId, client, { content: 'Теперь слышите?' });
    await deliverQueuedEvents(t.app, 'notifications', ['chat_message_sent']);
    const after = (await call('GET', '/api/v1/me/notifications', provider.auth)).body.data.filter(
      (n: { type: string; context: { room_id: string } }) =>
        n.type === 'chat_message' && n.context.room_id === roomId,
    );
    expect(after).toHaveLength(1);
  });
});
