/**
 * Rooms, messages and read state over HTTP: the order chat opened on accept, sends in seq order and safe to
 * retry, history and the resumes that never skip a message, and who may do what.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatFixtures } from '../../../test/chat-fixtures.ts';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { MISSING } from '../../../test/order-fixtures.ts';
import { raceInOrder } from '../../../test/races.ts';
import { newId } from '../../platform/columns.ts';
import { chatMessages, chatParticipants, chatRooms } from './schema.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const k = chatFixtures(() => t);
const { call, orderChat, send, sent, history } = k;

describe('the order chat', () => {
  it('opens when the bid is accepted, in the accept’s transaction, with the client and the provider', async () => {
    const { client, provider, orderId, roomId } = await orderChat('открытие');
    const [room] = await t.db.select().from(chatRooms).where(eq(chatRooms.id, roomId));
    expect(room).toMatchObject({ chatType: 'order_chat', orderId, lastSeq: 0 });
    const people = await t.db.select().from(chatParticipants).where(eq(chatParticipants.roomId, roomId));
    expect(people.map((p) => [p.userId, p.role]).sort()).toEqual(
      [
        [client.user.id, 'client'],
        [provider.user.id, 'provider'],
      ].sort(),
    );
    const mine = await call('GET', `/api/v1/chats/${roomId}`, provider.auth);
    expect(mine.body).toMatchObject({
      id: roomId,
      type: 'order_chat',
      order_id: orderId,
      unread_count: 0,
      other_party: { user_id: client.user.id, role: 'client', full_name: 'Клиент открытие' },
    });
  });

  it('is not there before an accept', async () => {
    const client = await k.client();
    const orderId = (await k.newOrder(client, { publish: true })).id;
    const answer = await call('GET', `/api/v1/orders/${orderId}/chat`, client.auth);
    expect(answer.status).toBe(404);
    expect(answer.body.code).toBe('chat_not_found');
  });
});

describe('messages', () => {
  it('take the room’s seq 1, 2, 3 and read back newest first, page by page', async () => {
    const { client, provider, roomId } = await orderChat('порядок');
    for (let i = 1; i <= 5; i++) await sent(roomId, i % 2 ? client : provider, { content: `Сообщение ${i}` });
    const first = await history(roomId, client, '?limit=2');
    expect(first.data.map((m) => m.seq)).toEqual([5, 4]);
    expect(first.last_seq).toBe(5);
    const second = await history(roomId, client, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.data.map((m) => [m.seq, m.content])).toEqual([
      [3, 'Сообщение 3'],
      [2, 'Сообщение 2'],
    ]);
    const last = await history(roomId, client, `?limit=2&cursor=${second.next_cursor}`);
    expect(last.data.map((m) => m.seq)).toEqual([1]);
    expect(last.next_cursor).toBeNull();
  });

  it('are stored encrypted', async () => {
    const { client, roomId } = await orderChat('шифр');
    const message = await sent(roomId, client, { content: 'Секретный текст' });
    const [row] = await t.db.select().from(chatMessages).where(eq(chatMessages.id, message.id));
    expect(row?.contentEncrypted).toMatch(/^v\d+\./);
    expect(row?.contentEncrypted).not.toContain('Секретный');
  });

  it('sent again with the same client_message_id answer the first message, never a second', async () => {
    const { client, provider, roomId } = await orderChat('повтор');
    const body = { client_message_id: 'retry-0001', content: 'Буду в 10' };
    const first = await send(roomId, client, body);
    const again = await send(roomId, client, { ...body, content: 'другой текст' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect((await history(roomId, client)).data).toHaveLength(1);
    // Another participant's message cannot take the id.
    const theirs = await send(roomId, provider, body);
    expect(theirs.status).toBe(409);
    expect(theirs.body.code).toBe('client_message_id_taken');
  });

  it('replies only to a message of the same room', async () => {
    const a = await orderChat('ответ А');
    const b = await orderChat('ответ Б');
    const there = await sent(b.roomId, b.client);
    const refused = await send(a.roomId, a.client, { reply_to_id: there.id });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('reply_not_in_room');
    const here = await sent(a.roomId, a.provider);
    const reply = await send(a.roomId, a.client, { reply_to_id: here.id });
    expect(reply.status).toBe(201);
    expect(reply.body.reply_to_id).toBe(here.id);
    expect((await history(a.roomId, a.client)).last_seq).toBe(2);
  });

  it.each([
    ['text over 4,000 characters', { content: 'x'.repeat(4001) }, 'validation_failed'],
    ['blank text', { content: '   ' }, 'validation_failed'],
    ['neither text nor attachments', { content: undefined }, 'message_empty'],
    ['a client_message_id too short', { client_message_id: 'short' }, 'validation_failed'],
  ])('refuse %s with %s and change nothing', async (_what, body, code) => {
    const { client, roomId } = await orderChat(`плохой ${code}`);
    const answer = await send(roomId, client, body);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.body.code).toBe(code);
    expect((await history(roomId, client)).last_seq).toBe(0);
  });

  it('jump around a message: a page centred on it', async () => {
    const { client, roomId } = await orderChat('вокруг');
    const ids: string[] = [];
    for (let i = 1; i <= 9; i++) ids.push((await sent(roomId, client, { content: `№${i}` })).id);
    const page = await history(roomId, client, `?around=${ids[4]}&limit=3`);
    expect(page.data.map((m) => m.seq)).toEqual([6, 5, 4]);
    const older = await history(roomId, client, `?limit=3&cursor=${page.next_cursor}`);
    expect(older.data.map((m) => m.seq)).toEqual([3, 2, 1]);
    const missing = await call('GET', `/api/v1/chats/${roomId}/messages?around=${MISSING}`, client.auth);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('message_not_found');
  });

  it('resume after a seq: everything after, oldest first; past 1,000 a gap and the newest page', async () => {
    const { client, provider, roomId } = await orderChat('догон');
    for (let i = 1; i <= 4; i++) await sent(roomId, provider, { content: `№${i}` });
    const resumed = await history(roomId, client, '?after_seq=1&limit=2');
    expect(resumed.data.map((m) => m.seq)).toEqual([2, 3, 4]);
    expect(resumed.gap).toBe(false);
    expect((await history(roomId, client, '?after_seq=4')).data).toEqual([]);

    // 1,001 more, written straight to the table (the routes would take minutes).
    const rows = Array.from({ length: 1001 }, (_, i) => ({
      id: newId(),
      roomId,
      seq: 5 + i,
      messageType: 'text' as const,
      contentEncrypted: t.app.services.cipher.encrypt(`bulk ${5 + i}`),
    }));
    await t.db.insert(chatMessages).values(rows);
    await t.db.update(chatRooms).set({ lastSeq: 1005 }).where(eq(chatRooms.id, roomId));
    const exactly = await history(roomId, client, '?after_seq=5');
    expect(exactly.gap).toBe(false);
    expect(exactly.data).toHaveLength(1000);
    expect(exactly.data[0]?.seq).toBe(6);
    expect(exactly.data[999]?.seq).toBe(1005);
    const past = await history(roomId, client, '?after_seq=4&limit=20');
    expect(past.gap).toBe(true);
    expect(past.data.map((m) => m.seq).slice(0, 2)).toEqual([1005, 1004]);
    expect(past.data).toHaveLength(20);
    expect(past.next_cursor).not.toBeNull();
  });

  it('refuse more than one of cursor, around, after_seq and after_change', async () => {
    const { client, roomId } = await orderChat('параметры');
    const answer = await call(
      'GET',
      `/api/v1/chats/${roomId}/messages?after_seq=1&after_change=1`,
      client.auth,
    );
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe('conflicting_parameters');
  });
});

describe('read state', () => {
  it('moves forward only, counts messages, and shows the other party a receipt', async () => {
    const { client, provider, roomId } = await orderChat('прочтение');
    for (let i = 1; i <= 3; i++) await sent(roomId, provider, { content: `№${i}` });
    expect((await call('GET', '/api/v1/me/chats/unread', client.auth)).body).toEqual({ total: 3 });
    // The sender has read what they sent.
    expect((await call('GET', '/api/v1/me/chats/unread', provider.auth)).body).toEqual({ total: 0 });

    const read = await call('POST', `/api/v1/chats/${roomId}/read`, client.auth, { seq: 2 });
    expect(read.body).toEqual({ last_read_seq: 2, unread: 1 });
    const back = await call('POST', `/api/v1/chats/${roomId}/read`, client.auth, { seq: 1 });
    expect(back.body).toEqual({ last_read_seq: 2, unread: 1 });
    const beyond = await call('POST', `/api/v1/chats/${roomId}/read`, client.auth, { seq: 99 });
    expect(beyond.body).toEqual({ last_read_seq: 3, unread: 0 });

    const room = await call('GET', `/api/v1/chats/${roomId}`, provider.auth);
    expect(room.body.other_party.last_seen_at).not.toBeNull();
    const seen = await history(roomId, provider);
    expect(seen.receipts).toEqual([expect.objectContaining({ user_id: client.user.id, last_read_seq: 3 })]);
    expect(seen.last_change_seq).toBe(2);
    const bad = await call('POST', `/api/v1/chats/${roomId}/read`, client.auth, { seq: -1 });
    expect(bad.status).toBe(400);
  });

  it('lists my chats by last activity, with the last message and unread count', async () => {
    const client = await k.client('Клиент списка');
    const first = await orderChat('список 1');
    const second = await orderChat('список 2');
    // The same client in two chats: both orders of theirs.
    const p = await k.provider('Мастер списка');
    const orderId = (await k.newOrder(client, { publish: true })).id;
    await k.agree(orderId, client, p);
    const own = (await call('GET', `/api/v1/orders/${orderId}/chat`, client.auth)).body.id as string;
    const orderId2 = (await k.newOrder(client, { publish: true })).id;
    await k.agree(orderId2, client, p);
    const own2 = (await call('GET', `/api/v1/orders/${orderId2}/chat`, client.auth)).body.id as string;
    await sent(own, p, { content: 'Первый' });
    await sent(own2, p, { content: 'Второй' });
    await sent(own, p, { content: 'Снова первый' });
    const list = await call('GET', '/api/v1/me/chats?limit=1', client.auth);
    expect(list.status).toBe(200);
    expect(list.body.data[0]).toMatchObject({
      id: own,
      unread_count: 2,
      last_message: { content: 'Снова первый', seq: 2 },
      other_party: { user_id: p.user.id, role: 'provider' },
    });
    const next = await call('GET', `/api/v1/me/chats?limit=1&cursor=${list.body.next_cursor}`, client.auth);
    expect(next.body.data.map((r: { id: string }) => r.id)).toEqual([own2]);
    expect(next.body.next_cursor).toBeNull();
    expect((await call('GET', '/api/v1/me/chats/unread', client.auth)).body).toEqual({ total: 3 });
    expect([first.roomId, second.roomId]).not.toContain(own);
  });
});

describe('who may do what', () => {
  it('a stranger, a staff member without a reason, and a participant who left get 404 on every route', async () => {
    const { client, roomId } = await orderChat('доступ');
    const message = await sent(roomId, client);
    const stranger = await k.client('Посторонний');
    const staff = await k.user(['moderator'], 'Модератор без повода');
    const routes = [
      ['GET', `/api/v1/chats/${roomId}`],
      ['GET', `/api/v1/chats/${roomId}/messages`],
      ['GET', `/api/v1/chats/${roomId}/messages/${message.id}`],
      ['POST', `/api/v1/chats/${roomId}/messages`, { client_message_id: 'stranger-1', content: 'Привет' }],
      ['POST', `/api/v1/chats/${roomId}/read`, { seq: 1 }],
      ['PATCH', `/api/v1/chats/${roomId}/messages/${message.id}`, { content: 'Чужая правка' }],
      ['DELETE', `/api/v1/chats/${roomId}/messages/${message.id}`],
      ['POST', `/api/v1/chats/${roomId}/messages/${message.id}/reports`, { reason: 'spam' }],
      ['POST', `/api/v1/chats/${roomId}/block`],
    ] as const;
    for (const who of [stranger, staff]) {
      for (const [method, url, body] of routes) {
        const answer = await call(method, url, who.auth, body as object | undefined);
        expect(answer.status, `${method} ${url}`).toBe(404);
        expect(answer.body.code).toBe('chat_not_found');
      }
    }
    await t.db
      .update(chatParticipants)
      .set({ leftAt: new Date() })
      .where(sql`${chatParticipants.roomId} = ${roomId} and ${chatParticipants.userId} = ${client.user.id}`);
    for (const [method, url, body] of routes) {
      expect(
        (await call(method, url, client.auth, body as object | undefined)).status,
        `${method} ${url}`,
      ).toBe(404);
    }
    expect((await call('GET', '/api/v1/me/chats', client.auth)).body.data).toEqual([]);
    // Nothing any of them tried changed the room.
    expect(
      (await t.db.select().from(chatMessages).where(eq(chatMessages.roomId, roomId))).map(
        (m) => m.contentEncrypted === null,
      ),
    ).toEqual([false]);
  });

  it('an unknown room is 404 and a signed-out caller 401', async () => {
    const who = await k.client('Кто-то');
    expect((await call('GET', `/api/v1/chats/${MISSING}`, who.auth)).status).toBe(404);
    expect((await call('GET', `/api/v1/chats/${MISSING}/messages`)).status).toBe(401);
  });
});

describe('two sends at once', () => {
  it.each(['a', 'b'] as const)('in one room get seq n and n+1, %s first', async (first) => {
    const race = await raceInOrder({
      async setup(attempt) {
        const chat = await orderChat(`гонка ${first} ${attempt}`);
        await sent(chat.roomId, chat.client, { content: 'до гонки' });
        return chat;
      },
      a: (s) => send(s.roomId, s.client, { content: 'от клиента' }),
      b: (s) => send(s.roomId, s.provider, { content: 'от мастера' }),
      first,
      landed: (a, b) => a.status === 201 && b.status === 201 && a.body.seq < b.body.seq === (first === 'a'),
    });
    const seqs = [race.a.body.seq, race.b.body.seq];
    expect(first === 'a' ? seqs : [...seqs].reverse()).toEqual([2, 3]);
    const page = await history(race.state.roomId, race.state.client);
    expect(page.data.map((m) => m.seq)).toEqual([3, 2, 1]);
    expect(page.last_seq).toBe(3);
  });

  it.each(['a', 'b'] as const)('with one client_message_id make one message, %s first', async (first) => {
    const race = await raceInOrder({
      setup: async (attempt) => ({ ...(await orderChat(`дубль ${first} ${attempt}`)), id: `dup-${newId()}` }),
      a: (s) => send(s.roomId, s.client, { client_message_id: s.id, content: 'первый' }),
      b: (s) => send(s.roomId, s.client, { client_message_id: s.id, content: 'второй' }),
      first,
      landed: (a, b) => (first === 'a' ? a : b).body.content === (first === 'a' ? 'первый' : 'второй'),
    });
    expect(race.a.status).toBe(201);
    expect(race.b.status).toBe(201);
    expect(race.a.body).toEqual(race.b.body);
    const page = await history(race.state.roomId, race.state.client);
    expect(page.data).toHaveLength(1);
    expect(page.last_seq).toBe(1);
  });
});
