/**
 * The shared search vocabulary (platform/search: the words typed words are widened to, for orders and the
 * provider directory) holds only published text: drafts, paused services and closed orders never feed it,
 * one account cannot grow it without bound, and a text taken down takes its words along.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orders } from '../src/modules/orders/schema.ts';
import { searchWords } from '../src/platform/search/schema.ts';
import { MAX_NEW_WORDS_PER_TEXT, MAX_WORD_LENGTH } from '../src/platform/search/service.ts';
import { createTestApp, type TestApp } from './helper.ts';
import { orderFixtures, type SignedIn } from './order-fixtures.ts';

let t: TestApp;
const k = orderFixtures(() => t);
let admin: SignedIn;
let searcher: SignedIn;

beforeAll(async () => {
  t = await createTestApp();
  admin = await k.user(['admin']);
  searcher = await k.provider('Искатель Слов');
});
afterAll(() => t.close());

const LETTERS = 'абвгдежзиклмнопрстуфхцчшэюя';
let drawn = 0;
/** A word no other test text holds: letters only, as the `simple` configuration keeps them. */
function freshWord(length = 8) {
  drawn++;
  let n = drawn;
  let word = '';
  for (let i = 0; i < length; i++) {
    word += LETTERS[(n + i * 7 + Math.floor(Math.random() * LETTERS.length)) % LETTERS.length];
    n = Math.floor(n / LETTERS.length);
  }
  return `${word}${LETTERS[drawn % LETTERS.length]}${LETTERS[Math.floor(drawn / LETTERS.length) % LETTERS.length]}`;
}
const freshWords = (count: number, length?: number) => Array.from({ length: count }, () => freshWord(length));

async function vocabulary(scope = 'orders') {
  const rows = await t.db
    .select({ word: searchWords.word })
    .from(searchWords)
    .where(eq(searchWords.scope, scope));
  return new Set(rows.map((r) => r.word));
}
const holds = async (words: string[], scope = 'orders') => {
  const known = await vocabulary(scope);
  return words.filter((w) => known.has(w));
};

async function setSetting(key: string, value: number) {
  const list = await k.call('GET', '/api/v1/admin/settings?limit=100', admin.auth);
  const setting = list.body.data.find((s: { key: string }) => s.key === key);
  const changed = await k.call('PATCH', `/api/v1/admin/settings/${setting.id}`, admin.auth, { value });
  expect(changed.status, JSON.stringify(changed.body)).toBe(200);
}

/** The search's own time for `q`, the median of five, in ms. */
async function searchMs(q: string) {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    const answer = await k.call('GET', `/api/v1/orders/search?q=${encodeURIComponent(q)}`, searcher.auth);
    times.push(performance.now() - started);
    expect(answer.status).toBe(200);
  }
  return times.sort((a, b) => a - b)[2]!;
}

describe('drafts', () => {
  it('many large drafts from one account leave the vocabulary and the search time as they were', async () => {
    const spammer = await k.client('Спамер');
    await k.newOrder(await k.client('Обычный Клиент'), {
      title: 'Починить кран на кухне',
      description: 'Кран течёт, нужен сантехник',
      publish: true,
    });
    const before = await vocabulary();
    const msBefore = await searchMs('сантехнк кухня');

    const draftWords: string[] = [];
    for (let i = 0; i < 20; i++) {
      const words = freshWords(480, 9);
      draftWords.push(...words);
      await k.newOrder(spammer, {
        title: words.slice(0, 3).join(' '),
        description: words.join(' ').slice(0, 4990),
      });
    }
    // One more is refused, and nothing of it is kept.
    const over = await k.call(
      'POST',
      '/api/v1/orders',
      spammer.auth,
      await k.orderBody({ title: 'Ещё черновик' }),
    );
    expect(over.status).toBe(409);
    expect(over.body.code).toBe('draft_limit_reached');
    // Editing a draft does not feed it either.
    const [someDraft] = await t.db
      .select()
      .from(orders)
      .where(eq(orders.clientUserId, spammer.user.id))
      .limit(1);
    const edit = freshWords(400, 9);
    const edited = await k.call('PATCH', `/api/v1/orders/${someDraft!.id}`, spammer.auth, {
      description: edit.join(' ').slice(0, 4990),
    });
    expect(edited.status).toBe(200);

    expect(await t.db.$count(orders, eq(orders.clientUserId, spammer.user.id))).toBe(20);
    expect(await vocabulary()).toEqual(before);
    expect(await holds([...draftWords, ...edit])).toEqual([]);
    // A typo of a draft's word finds nothing: the draft is its client's alone.
    const typo = draftWords[5]!.slice(0, -1);
    const found = await k.call('GET', `/api/v1/orders/search?q=${encodeURIComponent(typo)}`, searcher.auth);
    expect(found.body.data).toEqual([]);

    const msAfter = await searchMs('сантехнк кухня');
    console.info(
      `order search with typos: ${msBefore.toFixed(1)} ms before the drafts, ${msAfter.toFixed(1)} ms after`,
    );
    expect(msAfter).toBeLessThan(msBefore * 10 + 100);
  });

  it('publishing a draft adds its words: at most MAX_NEW_WORDS_PER_TEXT new ones, the first in the text, none over MAX_WORD_LENGTH', async () => {
    const someone = await k.client('Публикующий');
    const title = freshWords(3);
    const long = 'д'.repeat(MAX_WORD_LENGTH + 1);
    const description = [long, ...freshWords(120)];
    const draft = await k.newOrder(someone, { title: title.join(' '), description: description.join(' ') });
    expect(await holds([...title, ...description])).toEqual([]);

    await k.act(draft.id, 'publish', someone);
    const added = await holds([...title, ...description]);
    expect(added).toEqual([...title, ...description.slice(1, 1 + MAX_NEW_WORDS_PER_TEXT - title.length)]);
    const typo = description[4]!.slice(0, -1);
    const found = await k.call('GET', `/api/v1/orders/search?q=${encodeURIComponent(typo)}`, searcher.auth);
    expect(found.body.data.map((o: { id: string }) => o.id)).toEqual([draft.id]);
  });
});

describe('published orders', () => {
  it('an edit replaces the order’s words; cancelling and deleting drop those no other open order holds; a restore brings them back', async () => {
    const [one, two] = [await k.client('Первый'), await k.client('Второй')];
    const [shared, mine, edit] = [freshWords(2), freshWords(3), freshWords(3)];
    await k.newOrder(two, { title: `Ремонт ${shared.join(' ')}`, publish: true });
    const order = await k.newOrder(one, { title: `Ремонт ${[...shared, ...mine].join(' ')}`, publish: true });
    expect(await holds([...shared, ...mine])).toEqual([...shared, ...mine]);

    const edited = await k.call('PATCH', `/api/v1/orders/${order.id}`, one.auth, {
      title: `Ремонт ${[...shared, ...edit].join(' ')}`,
    });
    expect(edited.status).toBe(200);
    expect(await holds([...shared, ...mine, ...edit])).toEqual([...shared, ...edit]);

    await k.act(order.id, 'cancel', one, { reason: 'Передумал' });
    expect(await holds([...shared, ...edit])).toEqual(shared);

    const other = freshWords(3);
    const deleted = await k.newOrder(one, {
      title: `Уборка ${[...shared, ...other].join(' ')}`,
      publish: true,
    });
    expect(await holds(other)).toEqual(other);
    expect((await k.call('DELETE', `/api/v1/orders/${deleted.id}`, one.auth)).status).toBe(200);
    expect(await holds([...shared, ...other])).toEqual(shared);
    const restored = await k.call('POST', `/api/v1/admin/orders/${deleted.id}/restore`, admin.auth);
    expect(restored.status).toBe(200);
    expect(await holds(other)).toEqual(other);
  });

  it('an accepted order’s words go with the hourly prune, but those another open order holds', async () => {
    const [one, two] = [await k.client('Третий'), await k.client('Четвёртый')];
    const p = await k.provider('Мастер Приёма');
    const [shared, mine] = [freshWords(2), freshWords(3)];
    await k.newOrder(two, { title: `Покраска ${shared.join(' ')}`, publish: true });
    await k.orderIn(one, 'assigned', p, { title: `Покраска ${[...shared, ...mine].join(' ')}` });
    expect(await holds(mine)).toEqual(mine);
    expect(await t.app.services.orders.pruneVocabulary()).toBeGreaterThanOrEqual(mine.length);
    expect(await holds([...shared, ...mine])).toEqual(shared);
    expect(await t.app.services.orders.pruneVocabulary()).toBe(0);
  });
});

describe('one account', () => {
  it('cannot grow the vocabulary without bound: an order edited over and over holds at most its own last words', async () => {
    const someone = await k.client('Редактор');
    const order = await k.newOrder(someone, { title: 'Сборка мебели', publish: true });
    const base = (await vocabulary()).size;
    let last: string[] = [];
    for (let round = 0; round < 8; round++) {
      last = freshWords(150);
      const answer = await k.call('PATCH', `/api/v1/orders/${order.id}`, someone.auth, {
        description: last.join(' '),
      });
      expect(answer.status).toBe(200);
      expect((await vocabulary()).size - base).toBeLessThanOrEqual(MAX_NEW_WORDS_PER_TEXT);
    }
    expect(await holds(last)).toEqual(last.slice(0, MAX_NEW_WORDS_PER_TEXT));
  });

  it('has at most max_open_orders_per_client orders open, counted one request after another', async () => {
    await setSetting('max_open_orders_per_client', 3);
    try {
      const someone = await k.client('Много Заказов');
      const answers = await Promise.all(
        Array.from({ length: 6 }, async () =>
          k.call('POST', '/api/v1/orders', someone.auth, await k.orderBody({ publish: true })),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 409, 409, 409]);
      expect(answers.find((a) => a.status === 409)!.body.code).toBe('open_order_limit_reached');
      const draft = await k.newOrder(someone);
      const publish = await k.call('POST', `/api/v1/orders/${draft.id}/publish`, someone.auth);
      expect(publish.status).toBe(409);
      expect(publish.body.code).toBe('open_order_limit_reached');
      expect((await k.orderRow(draft.id)).status).toBe('draft');
      expect(
        await t.db.$count(
          orders,
          and(eq(orders.clientUserId, someone.user.id), inArray(orders.status, ['published', 'bidding'])),
        ),
      ).toBe(3);
      // Cancelling one makes room again.
      const [open] = await t.db
        .select()
        .from(orders)
        .where(and(eq(orders.clientUserId, someone.user.id), eq(orders.status, 'published')))
        .limit(1);
      await k.act(open!.id, 'cancel', someone, { reason: 'Уже не нужно' });
      await k.act(draft.id, 'publish', someone);
    } finally {
      await setSetting('max_open_orders_per_client', 20);
    }
  });
});

describe('providers', () => {
  it('a paused service’s description feeds neither the directory’s vocabulary nor its search', async () => {
    const p = await k.provider('Мастер Пауз');
    const words = freshWords(3);
    const made = await k.call('POST', '/api/v1/me/services', p.auth, {
      subcategory_id: (await k.sub('general-cleaning')).id,
      base_price: 100_000,
      description: `Уборка ${words.join(' ')}`,
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(await holds(words, 'providers')).toEqual(words);
    const paused = await k.call('PATCH', `/api/v1/me/services/${made.body.id}`, p.auth, { is_active: false });
    expect(paused.status).toBe(200);
    expect(await holds(words, 'providers')).toEqual([]);
    const found = await k.call('GET', `/api/v1/providers?q=${words[0]}`);
    expect(found.body.data).toEqual([]);
  });
});

describe('migration 0015', () => {
  it('keeps only the words of open orders, as 0012 had filled the vocabulary from every order', async () => {
    const someone = await k.client('До Миграции');
    const [draftOnly, open, closed] = [freshWords(3), freshWords(2), freshWords(2)];
    await k.newOrder(someone, { title: `Черновик ${draftOnly.join(' ')}` });
    await k.newOrder(someone, { title: `Открытый ${open.join(' ')}`, publish: true });
    const cancelled = await k.newOrder(someone, { title: `Закрытый ${closed.join(' ')}`, publish: true });
    await k.act(cancelled.id, 'cancel', someone, { reason: 'Передумал' });
    const long = 'ж'.repeat(MAX_WORD_LENGTH + 5);
    // The vocabulary as migration 0012 filled it: every order's words.
    await t.db
      .insert(searchWords)
      .values([...draftOnly, ...closed, long].map((word) => ({ scope: 'orders', word })))
      .onConflictDoNothing();
    await t.db.insert(searchWords).values({ scope: 'providers', word: long }).onConflictDoNothing();
    expect(await holds([...draftOnly, ...open, ...closed, long])).toHaveLength(8);

    const migration = readFileSync(
      join(import.meta.dirname, '../migrations/0016_published_search_words.sql'),
      'utf8',
    );
    for (const statement of migration.split('--> statement-breakpoint')) {
      await t.db.execute(sql.raw(statement));
    }
    expect(await holds([...draftOnly, ...open, ...closed, long])).toEqual(open);
    expect(await holds([long], 'providers')).toEqual([]);
    // Words of open orders from before, like the seeded directory, stay.
    expect(await holds(['открытый'])).toEqual(['открытый']);
  });
});
