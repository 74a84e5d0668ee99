/**
 * What changes after a message is sent: edits within 15 minutes, deletes that leave a tombstone, each a
 * change with its own `change_seq` that `after_change` replays; and attachments, visible to the room only.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatFixtures } from '../../../test/chat-fixtures.ts';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { PDF, PNG, type SignedIn } from '../../../test/order-fixtures.ts';
import { chatMessages } from './schema.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const k = chatFixtures(() => t);
const { call, orderChat, send, sent, history } = k;

const edit = (roomId: string, id: string, who: SignedIn, content: string) =>
  call('PATCH', `/api/v1/chats/${roomId}/messages/${id}`, who.auth, { content });

async function upload(who: SignedIn, type: string, payload: Buffer, name: string) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/files?purpose=chat_attachment',
    headers: { ...who.auth, 'content-type': type, 'x-file-name': encodeURIComponent(name) },
    payload,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id as string;
}

describe('edits and deletes', () => {
  it('edit within 15 minutes, marked edited, each a change that after_change replays', async () => {
    const { client, provider, roomId } = await orderChat('правка');
    const first = await sent(roomId, client, { content: 'Буду в 10' });
    await sent(roomId, provider, { content: 'Хорошо' });
    const edited = await edit(roomId, first.id, client, 'Буду в 11');
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body).toMatchObject({ seq: 1, content: 'Буду в 11', change_seq: 1 });
    expect(edited.body.edited_at).not.toBeNull();
    const changes = await history(roomId, provider, '?after_change=0');
    expect(changes.data.map((m) => [m.seq, m.content])).toEqual([[1, 'Буду в 11']]);
    expect(changes.last_change_seq).toBe(1);
    // An edit does not count as unread: unread counts messages.
    expect((await call('GET', `/api/v1/chats/${roomId}`, client.auth)).body.unread_count).toBe(1);

    const theirs = await edit(roomId, first.id, provider, 'Чужая правка');
    expect(theirs.status).toBe(403);
    expect(theirs.body.code).toBe('not_message_author');
    await t.db
      .update(chatMessages)
      .set({ createdAt: new Date(Date.now() - 16 * 60_000) })
      .where(eq(chatMessages.id, first.id));
    const late = await edit(roomId, first.id, client, 'Буду в 12');
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('edit_window_passed');
    expect((await history(roomId, provider)).data[1]?.content).toBe('Буду в 11');
  });

  it('delete leaves a tombstone in its place', async () => {
    const { client, provider, roomId } = await orderChat('удаление');
    const gone = await sent(roomId, client, { content: 'Мой номер 0555 123 456' });
    await sent(roomId, provider, { content: 'Записал' });
    expect((await call('DELETE', `/api/v1/chats/${roomId}/messages/${gone.id}`, provider.auth)).status).toBe(
      403,
    );
    const deleted = await call('DELETE', `/api/v1/chats/${roomId}/messages/${gone.id}`, client.auth);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ seq: 1, content: null, change_seq: 1 });
    const page = await history(roomId, provider);
    expect(page.data.map((m) => [m.seq, m.content])).toEqual([
      [2, 'Записал'],
      [1, null],
    ]);
    expect((await history(roomId, provider, '?after_change=0')).data[0]?.deleted_at).not.toBeNull();
    const [row] = await t.db.select().from(chatMessages).where(eq(chatMessages.id, gone.id));
    expect(row).toMatchObject({ contentEncrypted: null, deletedBy: 'author', seq: 1 });
    expect((await edit(roomId, gone.id, client, 'Воскрешение')).status).toBe(404);
  });
});

describe('attachments', () => {
  it('an image and a PDF, named, downloadable by the room and no one else', async () => {
    const { client, provider, roomId } = await orderChat('вложения');
    const photo = await upload(client, 'image/png', PNG, 'кран.png');
    const receipt = await upload(client, 'application/pdf', PDF, 'чек.pdf');
    const image = await send(roomId, client, { content: undefined, attachment_file_ids: [photo] });
    expect(image.status, JSON.stringify(image.body)).toBe(201);
    expect(image.body).toMatchObject({
      type: 'image',
      content: null,
      attachments: [{ file_id: photo, name: 'кран.png', content_type: 'image/png' }],
    });
    const file = await sent(roomId, client, { content: 'Чек', attachment_file_ids: [receipt] });
    expect((await history(roomId, provider)).data[0]).toMatchObject({
      id: file.id,
      type: 'file',
      attachments: [{ name: 'чек.pdf' }],
    });
    const [row] = await t.db.select().from(chatMessages).where(eq(chatMessages.id, image.body.id));
    expect(row?.attachmentNamesEncrypted).not.toContain('кран');

    expect((await call('GET', `/api/v1/files/${photo}`, provider.auth)).status).toBe(200);
    const stranger = await k.client('Чужой вложения');
    expect((await call('GET', `/api/v1/files/${photo}`, stranger.auth)).status).toBe(404);

    // Someone else's upload is not the sender's to attach.
    const theirs = await upload(provider, 'image/png', PNG, 'чужое.png');
    const refused = await send(roomId, client, { attachment_file_ids: [theirs] });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('invalid_file');
    expect((await history(roomId, client)).last_seq).toBe(2);

    // Deleted with its message, the file is no longer the room's.
    await call('DELETE', `/api/v1/chats/${roomId}/messages/${image.body.id}`, client.auth);
    expect((await call('GET', `/api/v1/files/${photo}`, provider.auth)).status).toBe(404);
  });
  it('refuses more attachments than chat_max_attachments with 422 too_many_attachments, sending nothing', async () => {
    const { client, roomId } = await orderChat('много вложений');
    const admin = await k.user(['admin'], 'Админ вложений');
    const list = await call('GET', '/api/v1/admin/settings?limit=100', admin.auth);
    const setting = list.body.data.find((s: { key: string }) => s.key === 'chat_max_attachments');
    expect(setting).toMatchObject({ value: 10 });
    const lowered = await call('PATCH', `/api/v1/admin/settings/${setting.id}`, admin.auth, { value: 1 });
    expect(lowered.status, JSON.stringify(lowered.body)).toBe(200);
    try {
      const first = await upload(client, 'image/png', PNG, 'один.png');
      const second = await upload(client, 'image/png', PNG, 'два.png');
      const before = (await history(roomId, client)).last_seq;
      const refused = await send(roomId, client, { attachment_file_ids: [first, second] });
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({
        code: 'too_many_attachments',
        errors: [{ field: 'attachment_file_ids' }],
      });
      expect((await history(roomId, client)).last_seq).toBe(before);
      expect((await send(roomId, client, { attachment_file_ids: [first] })).status).toBe(201);
    } finally {
      await call('PATCH', `/api/v1/admin/settings/${setting.id}`, admin.auth, { value: 10 });
    }
  });
});
