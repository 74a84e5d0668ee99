/**
 * An order's events in its chat: `order_update` messages in each reader's language, the chat of a closed
 * order readable and, after `chat_closed_order_write_days`, closed to new messages; moderators on a dispute
 * read it.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatFixtures } from '../../../test/chat-fixtures.ts';
import { createTestApp, deliverQueuedEvents, type TestApp } from '../../../test/helper.ts';
import { chatRooms } from './schema.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const k = chatFixtures(() => t);
const { call, orderChat, send, history } = k;

const deliver = () =>
  deliverQueuedEvents(t.app, 'chat', [
    'order_assigned',
    'order_status_changed',
    'order_work_done',
    'order_completed',
    'dispute_opened',
    'dispute_resolved',
  ]);

describe('order updates', () => {
  it('appear as the order moves, in each reader’s language, once however often the event is heard', async () => {
    const { client, provider, orderId, roomId } = await orderChat('события');
    await deliver();
    await k.act(orderId, 'start', provider);
    await k.act(orderId, 'complete', provider);
    await k.act(orderId, 'confirm', client);
    await deliver();
    await deliver();

    const ru = await history(roomId, client, '', { 'accept-language': 'ru' });
    expect(ru.data.map((m) => [m.seq, m.type])).toEqual([
      [4, 'order_update'],
      [3, 'order_update'],
      [2, 'order_update'],
      [1, 'order_update'],
    ]);
    expect(ru.data.map((m) => m.content)).toEqual([
      'Заказ «Заказ события» завершён.',
      'Исполнитель отметил работу выполненной. Подтвердите завершение заказа «Заказ события».',
      'Работа по заказу «Заказ события» началась.',
      'Исполнитель назначен по заказу «Заказ события». Здесь вы можете обсудить детали.',
    ]);
    const en = await history(roomId, provider, '?limit=1', { 'accept-language': 'en' });
    expect(en.data[0]).toMatchObject({
      content: '“Заказ события” is complete.',
      template_key: 'order_update.completed',
      sender_user_id: null,
    });
    const ky = await history(roomId, provider, '?limit=1', { 'accept-language': 'ky' });
    expect(ky.data[0]?.content).toBe('«Заказ события» буйрутмасы аяктады.');
    const room = await call('GET', `/api/v1/chats/${roomId}`, client.auth);
    expect(room.body).toMatchObject({ title: 'Заказ события', unread_count: 4 });
    expect(room.body.closed_at).not.toBeNull();
  });

  it('a closed order’s chat takes messages for 30 days, then is readable only', async () => {
    const { client, provider, orderId, roomId } = await orderChat('закрытие');
    await k.act(orderId, 'start', provider);
    await k.act(orderId, 'complete', provider);
    await k.act(orderId, 'confirm', client);
    await deliver();
    expect((await send(roomId, client, { content: 'Спасибо!' })).status).toBe(201);
    await t.db
      .update(chatRooms)
      .set({ closedAt: new Date(Date.now() - 31 * 86_400_000) })
      .where(eq(chatRooms.id, roomId));
    const late = await send(roomId, provider, { content: 'Пожалуйста' });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('chat_closed');
    const page = await history(roomId, provider);
    expect(page.data[0]?.content).toBe('Спасибо!');
  });

  it('a cancelled order’s chat tells so', async () => {
    const { client, orderId, roomId } = await orderChat('отмена');
    const cancelled = await call('POST', `/api/v1/orders/${orderId}/cancel`, client.auth, {
      reason: 'Передумал, сделаю сам',
    });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    await deliver();
    const page = await history(roomId, client);
    expect(page.data[0]?.content).toBe('Заказ «Заказ отмена» отменён.');
  });
});

describe('a dispute on the order', () => {
  it('lets moderators read the chat, not write in it; before it they cannot read', async () => {
    const { client, provider, orderId, roomId } = await orderChat('спор');
    await k.act(orderId, 'start', provider);
    await send(roomId, provider, { content: 'Звоните мне: +996 555 123 456' });
    const moderator = await k.user(['moderator'], 'Модератор споров');
    expect((await call('GET', `/api/v1/chats/${roomId}/messages`, moderator.auth)).status).toBe(404);
    const opened = await call('POST', `/api/v1/orders/${orderId}/disputes`, client.auth, {
      dispute_type: 'quality_issue',
      description: 'Кран снова течёт на следующий день',
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    await deliver();
    const read = await history(roomId, moderator);
    expect(read.data.map((m) => m.content)).toContain('Звоните мне: +996 555 123 456');
    expect(read.data[0]?.content).toMatch(/открыт спор/);
    const write = await send(roomId, moderator, { content: 'Я модератор' });
    expect(write.status).toBe(404);
    const analyst = await k.user(['analyst'], 'Аналитик');
    expect((await call('GET', `/api/v1/chats/${roomId}/messages`, analyst.auth)).status).toBe(404);
  });
});
