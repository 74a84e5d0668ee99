import { sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import type { TranslationsValue } from '../../platform/i18n.ts';
import {
  languages,
  serviceAreas,
  serviceCategories,
  serviceSubcategories,
  systemSettings,
} from './schema.ts';

type Named = { slug: string; name: TranslationsValue };

const CATEGORIES: (Named & { icon: string; color: string; subcategories: Named[] })[] = [
  {
    slug: 'cleaning',
    name: { ru: 'Уборка', ky: 'Тазалоо', en: 'Cleaning' },
    icon: 'broom',
    color: '#4CAF50',
    subcategories: [
      {
        slug: 'general-cleaning',
        name: { ru: 'Генеральная уборка', ky: 'Жалпы тазалоо', en: 'Deep cleaning' },
      },
      {
        slug: 'daily-cleaning',
        name: { ru: 'Ежедневная уборка', ky: 'Күнүмдүк тазалоо', en: 'Daily cleaning' },
      },
      {
        slug: 'post-renovation-cleaning',
        name: { ru: 'Уборка после ремонта', ky: 'Оңдоодон кийинки тазалоо', en: 'Post-renovation cleaning' },
      },
    ],
  },
  {
    slug: 'repair',
    name: { ru: 'Ремонт', ky: 'Оңдоо', en: 'Repair' },
    icon: 'wrench',
    color: '#FF9800',
    subcategories: [
      { slug: 'plumbing', name: { ru: 'Сантехника', ky: 'Сантехника', en: 'Plumbing' } },
      { slug: 'electrical', name: { ru: 'Электрика', ky: 'Электр иштери', en: 'Electrical' } },
      { slug: 'furniture', name: { ru: 'Мебель', ky: 'Эмерек', en: 'Furniture' } },
    ],
  },
  {
    slug: 'delivery',
    name: { ru: 'Доставка', ky: 'Жеткирүү', en: 'Delivery' },
    icon: 'truck',
    color: '#2196F3',
    subcategories: [
      { slug: 'food-delivery', name: { ru: 'Доставка еды', ky: 'Тамак жеткирүү', en: 'Food delivery' } },
      {
        slug: 'document-delivery',
        name: { ru: 'Доставка документов', ky: 'Документ жеткирүү', en: 'Document delivery' },
      },
    ],
  },
  {
    slug: 'beauty',
    name: { ru: 'Красота', ky: 'Сулуулук', en: 'Beauty' },
    icon: 'sparkles',
    color: '#E91E63',
    subcategories: [
      { slug: 'manicure', name: { ru: 'Маникюр', ky: 'Маникюр', en: 'Manicure' } },
      {
        slug: 'hairdressing',
        name: { ru: 'Парикмахерские услуги', ky: 'Чачтарач кызматтары', en: 'Hairdressing' },
      },
    ],
  },
  {
    slug: 'education',
    name: { ru: 'Образование', ky: 'Билим берүү', en: 'Education' },
    icon: 'book',
    color: '#9C27B0',
    subcategories: [
      { slug: 'english', name: { ru: 'Английский язык', ky: 'Англис тили', en: 'English' } },
      { slug: 'math', name: { ru: 'Математика', ky: 'Математика', en: 'Mathematics' } },
    ],
  },
  {
    slug: 'it-services',
    name: { ru: 'IT услуги', ky: 'IT кызматтары', en: 'IT services' },
    icon: 'laptop',
    color: '#607D8B',
    subcategories: [
      { slug: 'websites', name: { ru: 'Сайты', ky: 'Веб-сайттар', en: 'Websites' } },
      {
        slug: 'mobile-apps',
        name: { ru: 'Мобильные приложения', ky: 'Мобилдик тиркемелер', en: 'Mobile apps' },
      },
    ],
  },
  {
    slug: 'sport',
    name: { ru: 'Спорт', ky: 'Спорт', en: 'Sport' },
    icon: 'dumbbell',
    color: '#F44336',
    subcategories: [
      {
        slug: 'personal-trainer',
        name: { ru: 'Персональный тренер', ky: 'Жеке машыктыруучу', en: 'Personal trainer' },
      },
      { slug: 'yoga', name: { ru: 'Йога', ky: 'Йога', en: 'Yoga' } },
    ],
  },
  {
    slug: 'translation',
    name: { ru: 'Переводы', ky: 'Котормолор', en: 'Translation' },
    icon: 'languages',
    color: '#795548',
    subcategories: [
      {
        slug: 'written-translation',
        name: { ru: 'Письменный перевод', ky: 'Жазуу котормо', en: 'Written translation' },
      },
      { slug: 'interpreting', name: { ru: 'Устный перевод', ky: 'Оозеки котормо', en: 'Interpreting' } },
    ],
  },
];

const AREAS: (Named & { districts?: Named[] })[] = [
  {
    slug: 'bishkek',
    name: { ru: 'Бишкек', ky: 'Бишкек', en: 'Bishkek' },
    districts: [
      { slug: 'bishkek-center', name: { ru: 'Бишкек, Центр', ky: 'Бишкек, Борбор', en: 'Bishkek, Center' } },
      { slug: 'bishkek-east', name: { ru: 'Бишкек, Восток', ky: 'Бишкек, Чыгыш', en: 'Bishkek, East' } },
      { slug: 'bishkek-west', name: { ru: 'Бишкек, Запад', ky: 'Бишкек, Батыш', en: 'Bishkek, West' } },
    ],
  },
  { slug: 'osh', name: { ru: 'Ош', ky: 'Ош', en: 'Osh' } },
  { slug: 'jalal-abad', name: { ru: 'Джалал-Абад', ky: 'Жалал-Абад', en: 'Jalal-Abad' } },
  { slug: 'karakol', name: { ru: 'Каракол', ky: 'Каракол', en: 'Karakol' } },
  { slug: 'naryn', name: { ru: 'Нарын', ky: 'Нарын', en: 'Naryn' } },
  { slug: 'talas', name: { ru: 'Талас', ky: 'Талас', en: 'Talas' } },
  { slug: 'batken', name: { ru: 'Баткен', ky: 'Баткен', en: 'Batken' } },
  { slug: 'tokmok', name: { ru: 'Токмок', ky: 'Токмок', en: 'Tokmok' } },
];

/** Defaults every installation starts with; staff may change them later. */
export const DEFAULT_SETTINGS: { key: string; value: unknown; description: string; isPublic: boolean }[] = [
  {
    key: 'default_language',
    value: 'ru',
    description: 'Language used when a client asks for none',
    isPublic: true,
  },
  { key: 'currency', value: 'KGS', description: 'Currency of every price', isPublic: true },
  {
    key: 'commission_rate_bps',
    value: 1500,
    description: 'Platform commission, basis points',
    isPublic: true,
  },
  {
    key: 'order_min_price',
    value: 20_000,
    description: 'Lowest order budget, tyiyn (200 KGS)',
    isPublic: true,
  },
  {
    key: 'order_max_price',
    value: 10_000_000,
    description: 'Highest order budget, tyiyn (100,000 KGS)',
    isPublic: true,
  },
  {
    key: 'order_auto_confirm_days',
    value: 3,
    description: 'Days before completed work is confirmed for the client',
    isPublic: true,
  },
  {
    key: 'dispute_window_days',
    value: 7,
    description: 'Days after completion in which a dispute may be opened',
    isPublic: true,
  },
  {
    key: 'support_phone',
    value: '+996312000000',
    description: 'Support line shown in the apps',
    isPublic: true,
  },
  {
    key: 'max_drafts_per_client',
    value: 20,
    description: 'Drafts one client may keep at once',
    isPublic: true,
  },
  {
    key: 'max_open_orders_per_client',
    value: 20,
    description: 'Orders one client may have open for bids at once',
    isPublic: true,
  },
  {
    key: 'storage_quota_bytes',
    value: 200 * 1024 * 1024,
    description: 'What one account’s uploaded files may take in all, bytes',
    isPublic: true,
  },
  {
    key: 'session_retention_days',
    value: 30,
    description:
      'Days an ended session (expired, signed out or revoked: device, address, times) is kept, with its tokens',
    isPublic: false,
  },
  {
    key: 'refresh_token_retention_days',
    value: 1,
    description: 'Days an expired refresh token is kept, for support questions',
    isPublic: false,
  },
  {
    key: 'otp_code_retention_days',
    value: 1,
    description: 'Days a one-time sign-in code is kept after it was sent',
    isPublic: false,
  },
  {
    key: 'idempotency_key_retention_days',
    value: 0,
    description:
      'Days the answer stored for an Idempotency-Key is kept after it expires (24 hours after the request)',
    isPublic: false,
  },
  {
    key: 'search_log_retention_days',
    value: 90,
    description: 'Days an order search (who searched for what) is kept',
    isPublic: false,
  },
  {
    key: 'notification_retention_days',
    value: 180,
    description: 'Days a notification (the inbox item, read or not) is kept',
    isPublic: false,
  },
  {
    key: 'notification_delivery_retention_days',
    value: 90,
    description: 'Days a notification’s deliveries and their log of attempts are kept',
    isPublic: false,
  },
  {
    key: 'chat_message_retention_days',
    value: 365,
    description: 'Days a chat message’s text and attachment names are kept; the message stays as metadata',
    isPublic: false,
  },
  {
    key: 'chat_closed_order_write_days',
    value: 30,
    description: 'Days after an order closed during which its chat still takes new messages',
    isPublic: false,
  },
  {
    key: 'chat_messages_per_minute',
    value: 30,
    description: 'Messages one user may send a minute, over all chats',
    isPublic: false,
  },
  {
    key: 'chat_max_attachments',
    value: 10,
    description: 'Attachments one chat message may carry',
    isPublic: false,
  },
  {
    key: 'max_upload_bytes',
    value: 10 * 1024 * 1024,
    description: 'Largest photo or document upload',
    isPublic: false,
  },
];

/**
 * Whether every group has been seeded, in one query: each has rows (the seed is one transaction, and a
 * group is only seeded when its table is empty). A start that finds so skips `seedCatalog`'s lock and
 * transaction.
 */
export async function isCatalogSeeded(db: Db): Promise<boolean> {
  const tables = [languages, serviceCategories, serviceAreas, systemSettings];
  const query = sql`select ${sql.join(
    tables.map((table) => sql`exists (select from ${table})`),
    sql` and `,
  )} as seeded`;
  const { rows } = (await db.execute(query)) as unknown as { rows: { seeded: boolean }[] };
  return rows[0]?.seeded === true;
}

/**
 * Seeds the catalog on first start. Each group is seeded only when its table has no rows at all,
 * so staff edits and deletions are never undone by a restart.
 */
export async function seedCatalog(db: Db) {
  await db.transaction(async (tx) => {
    // One seeder at a time, even when several processes start together.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('kg-job-portal:seed-catalog'))`);
    const isEmpty = async (
      table: typeof languages | typeof serviceCategories | typeof serviceAreas | typeof systemSettings,
    ) => (await tx.select({ id: table.id }).from(table).limit(1)).length === 0;

    if (await isEmpty(languages)) {
      await tx.insert(languages).values([
        { code: 'ru', name: 'Russian', nativeName: 'Русский', isDefault: true, sortOrder: 1 },
        { code: 'ky', name: 'Kyrgyz', nativeName: 'Кыргызча', sortOrder: 2 },
        { code: 'en', name: 'English', nativeName: 'English', sortOrder: 3 },
      ]);
    }
    if (await isEmpty(serviceCategories)) {
      for (const [i, c] of CATEGORIES.entries()) {
        const [category] = await tx
          .insert(serviceCategories)
          .values({ slug: c.slug, name: c.name, icon: c.icon, color: c.color, sortOrder: i + 1 })
          .returning({ id: serviceCategories.id });
        await tx.insert(serviceSubcategories).values(
          c.subcategories.map((s, j) => ({
            categoryId: category!.id,
            slug: s.slug,
            name: s.name,
            sortOrder: j + 1,
          })),
        );
      }
    }
    if (await isEmpty(serviceAreas)) {
      for (const [i, a] of AREAS.entries()) {
        const [area] = await tx
          .insert(serviceAreas)
          .values({ slug: a.slug, name: a.name, sortOrder: i + 1 })
          .returning({ id: serviceAreas.id });
        if (a.districts) {
          await tx.insert(serviceAreas).values(
            a.districts.map((d, j) => ({
              slug: d.slug,
              name: d.name,
              parentId: area!.id,
              sortOrder: j + 1,
            })),
          );
        }
      }
    }
    if (await isEmpty(systemSettings)) await tx.insert(systemSettings).values(DEFAULT_SETTINGS);
  });
}
