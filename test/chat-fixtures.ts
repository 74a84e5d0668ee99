import { expect } from 'vitest';
import { newId } from '../src/platform/columns.ts';
import type { TestApp } from './helper.ts';
import { orderFixtures, type SignedIn } from './order-fixtures.ts';

/** The fixtures of the chat tests: an order chat between a client and a provider, sends and reads. */
export function chatFixtures(app: () => TestApp) {
  const k = orderFixtures(app);
  const { call } = k;

  /** An accepted order between a new client and provider, and its chat's id. */
  async function orderChat(label = 'чат') {
    const client = await k.client(`Клиент ${label}`);
    const provider = await k.provider(`Мастер ${label}`);
    const orderId = (await k.newOrder(client, { title: `Заказ ${label}`, publish: true })).id as string;
    await k.agree(orderId, client, provider);
    const room = await call('GET', `/api/v1/orders/${orderId}/chat`, client.auth);
    expect(room.status, JSON.stringify(room.body)).toBe(200);
    return { client, provider, orderId, roomId: room.body.id as string };
  }

  const send = (roomId: string, who: SignedIn, body: Record<string, unknown> = {}) =>
    call('POST', `/api/v1/chats/${roomId}/messages`, who.auth, {
      client_message_id: `m-${newId()}`,
      content: 'Здравствуйте!',
      ...body,
    });

  async function sent(roomId: string, who: SignedIn, body: Record<string, unknown> = {}) {
    const answer = await send(roomId, who, body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as { id: string; seq: number; content: string | null };
  }

  async function history(roomId: string, who: SignedIn, query = '', headers: Record<string, string> = {}) {
    const answer = await call('GET', `/api/v1/chats/${roomId}/messages${query}`, { ...who.auth, ...headers });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as {
      data: {
        id: string;
        seq: number;
        content: string | null;
        type: string;
        masked: boolean;
        deleted_at: string | null;
      }[];
      next_cursor: string | null;
      gap: boolean;
      last_seq: number;
      last_change_seq: number;
      receipts: { user_id: string; last_read_seq: number }[];
    };
  }

  return { ...k, orderChat, send, sent, history };
}
