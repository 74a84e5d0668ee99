/**
 * Chat templates (staff write them in ICU MessageFormat; users send them filled on the server) and the
 * person's data in chat: export, erasure's tombstones, the text's retention and key rotation.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatFixtures } from '../../../test/chat-fixtures.ts';
import { createTestApp, type TestApp, testConfig } from '../../../test/helper.ts';
import { encryptedColumns } from '../../app.ts';
import { createFieldCipher } from '../../platform/crypto.ts';
import { rotateEncryptionKeys } from '../../platform/key-rotation.ts';
import { chatMessages } from './schema.ts';

const OLD_KEY = `1:${Buffer.alloc(32, 7).toString('base64')}`;
const NEW_KEY = `2:${Buffer.alloc(32, 9).toString('base64')}`;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ config: testConfig({ ENCRYPTION_KEYS: OLD_KEY }) });
});
afterAll(() => t.close());

const k = chatFixtures(() => t);
const { call, send, sent, history } = k;

const ARRIVAL = {
  name: 'Приеду через',
  category: 'general',
  variables: ['hours'],
  roles: ['provider'],
  content: {
    ru: 'Приеду через {hours, plural, one {# час} few {# часа} many {# часов} other {# часа}}.',
    ky: '{hours, plural, other {# саатта}} келем.',
    en: 'I’ll be there in {hours, plural, one {# hour} other {# hours}}.',
  },
};

async function directChat(label: string) {
  const client = await k.client(`Клиент ${label}`);
  const provider = await k.provider(`Мастер ${label}`);
  const roomId = (await call('POST', `/api/v1/providers/${provider.providerId}/chat`, client.auth)).body
    .id as string;
  return { client, provider, roomId };
}

describe('chat templates', () => {
  it('staff write them; a provider sends one, filled in their language with Russian plurals', async () => {
    const staff = await k.user(['moderator'], 'Редактор шаблонов');
    const { client, provider, roomId } = await directChat('шаблон');
    expect((await call('POST', '/api/v1/chat-templates', client.auth, ARRIVAL)).status).toBe(403);
    const broken = await call('POST', '/api/v1/chat-templates', staff.auth, {
      ...ARRIVAL,
      content: { ...ARRIVAL.content, ky: '{hours, plural, other {# саат}' },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.code).toBe('template_invalid');
    const undeclared = await call('POST', '/api/v1/chat-templates', staff.auth, {
      ...ARRIVAL,
      content: { ...ARRIVAL.content, en: 'In {minutes} minutes' },
    });
    expect(undeclared.body.errors[0].field).toBe('content/en');
    const made = await call('POST', '/api/v1/chat-templates', staff.auth, ARRIVAL);
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const templateId = made.body.id as string;

    const mine = await call('GET', '/api/v1/me/chat-templates?limit=100', provider.auth);
    expect(mine.body.data.map((x: { id: string }) => x.id)).toContain(templateId);
    const theirs = await call('GET', '/api/v1/me/chat-templates?limit=100', client.auth);
    const onlyClient = await k.user(['client'], 'Только клиент');
    expect(
      (await call('GET', '/api/v1/me/chat-templates?limit=100', onlyClient.auth)).body.data.map(
        (x: { id: string }) => x.id,
      ),
    ).not.toContain(templateId);
    expect(theirs.status).toBe(200);

    for (const [hours, text] of [
      [1, 'Приеду через 1 час.'],
      [3, 'Приеду через 3 часа.'],
      [5, 'Приеду через 5 часов.'],
    ] as const) {
      const message = await send(roomId, provider, {
        content: undefined,
        template_id: templateId,
        variables: { hours },
      });
      expect(message.status, JSON.stringify(message.body)).toBe(201);
      expect(message.body.content).toBe(text);
    }
    const inEnglish = await call(
      'POST',
      `/api/v1/chats/${roomId}/messages`,
      { ...provider.auth, 'accept-language': 'en' },
      { client_message_id: 'tpl-en-0001', template_id: templateId, variables: { hours: 2 } },
    );
    expect(inEnglish.body.content).toBe('I’ll be there in 2 hours.');
    const missing = await send(roomId, provider, {
      content: undefined,
      template_id: templateId,
      variables: {},
    });
    expect(missing.status).toBe(422);
    expect(missing.body.code).toBe('template_variables_missing');
    const both = await send(roomId, provider, { template_id: templateId, variables: { hours: 1 } });
    expect(both.body.code).toBe('template_and_content');

    expect((await call('DELETE', `/api/v1/chat-templates/${templateId}`, staff.auth)).status).toBe(204);
    const gone = await send(roomId, provider, {
      content: undefined,
      template_id: templateId,
      variables: { hours: 1 },
    });
    expect(gone.body.code).toBe('template_unavailable');
    expect((await history(roomId, client)).last_seq).toBe(4);
  });
});

describe('a person’s data in chat', () => {
  it('export holds their messages; erasure makes them tombstones and leaves the other party’s', async () => {
    const { client, provider, roomId } = await directChat('данные');
    await sent(roomId, client, { content: 'Мой адрес: Киевская 77' });
    await sent(roomId, provider, { content: 'Понял, приеду' });
    const exported = await call('POST', '/api/v1/me/export', client.auth, client.reauth);
    expect(exported.status).toBe(200);
    expect(exported.body.chat.messages.map((m: { content: string }) => m.content)).toEqual([
      'Мой адрес: Киевская 77',
    ]);
    expect(exported.body.chat.rooms).toEqual([expect.objectContaining({ id: roomId, type: 'general_chat' })]);

    const erased = await call('POST', '/api/v1/me/erase', client.auth, {
      confirm: 'ERASE',
      ...client.reauth,
    });
    expect(erased.status, JSON.stringify(erased.body)).toBe(204);
    const left = await history(roomId, provider);
    expect(left.data.map((m) => [m.seq, m.content])).toEqual([
      [2, 'Понял, приеду'],
      [1, null],
    ]);
    const changes = await history(roomId, provider, '?after_change=0');
    expect(changes.data.map((m) => m.seq)).toEqual([1]);
    const rows = await t.db.select().from(chatMessages).where(eq(chatMessages.roomId, roomId));
    expect(rows.find((m) => m.seq === 1)).toMatchObject({ contentEncrypted: null, deletedBy: 'erasure' });
  });

  it('the text goes after its retention, the message stays as metadata', async () => {
    const { client, provider, roomId } = await directChat('срок');
    const old = await sent(roomId, client, { content: 'Старое сообщение' });
    const fresh = await sent(roomId, provider, { content: 'Свежее' });
    await t.db
      .update(chatMessages)
      .set({ createdAt: new Date(Date.now() - 366 * 86_400_000) })
      .where(eq(chatMessages.id, old.id));
    await t.app.services.dataRights.applyRetention();
    const page = await history(roomId, provider);
    expect(page.data.map((m) => [m.id, m.content])).toEqual([
      [fresh.id, 'Свежее'],
      [old.id, null],
    ]);
    const [row] = await t.db.select().from(chatMessages).where(eq(chatMessages.id, old.id));
    expect(row?.textExpiredAt).not.toBeNull();
    expect(row?.seq).toBe(1);
  });

  it('key rotation re-encrypts the text and the attachment names', async () => {
    const { client, roomId } = await directChat('ключи');
    await sent(roomId, client, { content: 'Под старым ключом' });
    const { secrets } = testConfig({ ENCRYPTION_KEYS: `${OLD_KEY},${NEW_KEY}` });
    const cipher = createFieldCipher(secrets.encryptionKeys, secrets.blindIndexKey);
    const result = await rotateEncryptionKeys(t.db, cipher, encryptedColumns);
    expect(result.reencrypted['chat_messages.content_encrypted']).toBeGreaterThanOrEqual(1);
    expect('chat_messages.attachment_names_encrypted' in result.reencrypted).toBe(true);
    const rows = await t.db.select().from(chatMessages).where(eq(chatMessages.roomId, roomId));
    expect(rows[0]?.contentEncrypted?.startsWith('v2.')).toBe(true);
    expect(cipher.decrypt(rows[0]?.contentEncrypted as string)).toBe('Под старым ключом');
  });
});

describe('chat_messages', () => {
  it('is partitioned by month, made ahead, with no default partition', async () => {
    const { rows } = await t.database.sql.query(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
       join pg_class p on p.oid = i.inhparent where p.relname = 'chat_messages' order by 1`,
    );
    const names = (rows as { name: string }[]).map((r) => r.name);
    expect(names.length).toBeGreaterThanOrEqual(3);
    expect(names.every((n) => /^chat_messages_p\d{6}01$/.test(n))).toBe(true);
  });
});
