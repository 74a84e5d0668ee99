import { and, eq, inArray } from 'drizzle-orm';
import { IntlMessageFormat } from 'intl-messageformat';
import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { AppError, NotFoundError } from '../../platform/errors.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import type { Channel, NotificationType, TemplateView, UpdateTemplateInput } from './contract.ts';
import { notificationTemplates } from './schema.ts';
import { SEEDED_TEMPLATES } from './template-texts.ts';

export type TemplateRow = typeof notificationTemplates.$inferSelect;

/** What a template may say, with the sample a preview and the check at save fill it with. */
export const TEMPLATE_VARIABLES = {
  order_title: 'Починить кран на кухне',
  amount: '1 500 сом',
  other_name: 'Айбек',
  /** The other party's gender as their profile gives it (`male`, `female`, ...), for the grammar. */
  other_gender: 'male',
  bid_count: 5,
  status: 'in_progress',
  event: 'order_status_changed',
  rating: 5,
  decision: 'approved',
  device: 'Pixel 8',
  link: 'https://master.kg/app/orders/0193a0c0-0000-7000-8000-000000000000',
  title: 'Скидка 10%',
  message: 'Текст сообщения',
} satisfies Record<string, string | number>;
export type TemplateValues = Partial<Record<keyof typeof TEMPLATE_VARIABLES, string | number>>;

/** Every variable present: one an event does not give renders empty rather than failing the message. */
const BLANK_VALUES = Object.fromEntries(Object.keys(TEMPLATE_VARIABLES).map((k) => [k, ''])) as Record<
  string,
  string
>;

/** Plural rules and number formats per language; Kyrgyz has its own in ICU. */
export const LOCALES: Record<LanguageCode, string> = { ru: 'ru-KG', ky: 'ky-KG', en: 'en' };

export function renderText(source: string, language: LanguageCode, values: TemplateValues): string {
  return String(new IntlMessageFormat(source, LOCALES[language]).format({ ...BLANK_VALUES, ...values }));
}

/** An amount in tyiyn as the language writes som: "1 500 сом", "KGS 1,500". */
export function formatAmount(tyiyn: number, language: LanguageCode): string {
  return new Intl.NumberFormat(LOCALES[language], {
    style: 'currency',
    currency: 'KGS',
    minimumFractionDigits: tyiyn % 100 === 0 ? 0 : 2,
  }).format(tyiyn / 100);
}

interface ParseFailure {
  message: string;
  location?: { start: { line: number; column: number; offset: number } };
  originalMessage?: string;
}

/**
 * A 400 naming where a template does not parse, or the variable it names that no event gives: checked at
 * save, so what staff store always renders.
 */
function checkTemplate(field: 'subject' | 'content', source: string, language: LanguageCode) {
  try {
    renderText(source, language, TEMPLATE_VARIABLES);
  } catch (error) {
    const failure = error as ParseFailure;
    const at = failure.location?.start;
    const where = at ? ` at line ${at.line}, column ${at.column} (offset ${at.offset})` : '';
    throw new AppError(
      400,
      'template_invalid',
      `the ${field} is not a message this platform can render${where}`,
      [{ in: 'body', field, message: `${failure.message}${where}` }],
    );
  }
}

export const templateView = (t: TemplateRow): TemplateView => ({
  id: t.id,
  name: t.name,
  type: t.notificationType,
  channel: t.channel,
  language: t.language,
  subject: t.subject,
  content: t.content,
  updated_at: t.updatedAt.toISOString(),
});

const templatePages = idPages('notifications.templates', notificationTemplates.id);

export type Templates = ReturnType<typeof createTemplates>;

export function createTemplates({ db }: { db: Db }) {
  return {
    /** Adds every seeded template that is missing; staff edits stay. One statement, run at start. */
    async seed() {
      await db
        .insert(notificationTemplates)
        .values(SEEDED_TEMPLATES)
        .onConflictDoNothing({
          target: [
            notificationTemplates.notificationType,
            notificationTemplates.channel,
            notificationTemplates.language,
          ],
        });
    },

    /**
     * The templates of a type on these channels in `language`, each falling back to `fallback` where the
     * language has none.
     */
    async forType(
      type: NotificationType,
      channels: readonly Channel[],
      language: LanguageCode,
      fallback: LanguageCode,
    ): Promise<Map<Channel, TemplateRow>> {
      if (channels.length === 0) return new Map();
      const rows = await db
        .select()
        .from(notificationTemplates)
        .where(
          and(
            eq(notificationTemplates.notificationType, type),
            inArray(notificationTemplates.channel, [...channels]),
            inArray(notificationTemplates.language, [language, fallback]),
          ),
        );
      const chosen = new Map<Channel, TemplateRow>();
      for (const channel of channels) {
        const own = rows.find((r) => r.channel === channel && r.language === language);
        const other = rows.find((r) => r.channel === channel && r.language === fallback);
        if (own ?? other) chosen.set(channel, (own ?? other) as TemplateRow);
      }
      return chosen;
    },

    async list(
      filter: { type?: NotificationType[] },
      request: PageRequest,
    ): Promise<PageResult<TemplateView>> {
      const page = templatePages(request, 'oldest');
      const rows = await db
        .select()
        .from(notificationTemplates)
        .where(
          and(
            page.where,
            filter.type ? inArray(notificationTemplates.notificationType, filter.type) : undefined,
          ),
        )
        .orderBy(page.orderBy)
        .limit(page.limit);
      return page.page(rows, (r) => r.id, templateView);
    },

    async get(id: string): Promise<TemplateRow> {
      const [row] = await db.select().from(notificationTemplates).where(eq(notificationTemplates.id, id));
      if (!row) throw new NotFoundError('notification_template');
      return row;
    },

    /** Staff change a template's text; one that does not parse or render is refused, naming where. */
    async update(actor: Actor, id: string, input: UpdateTemplateInput): Promise<TemplateView> {
      return db.transaction(async (tx) => {
        const [before] = await tx
          .select()
          .from(notificationTemplates)
          .where(eq(notificationTemplates.id, id))
          .for('update');
        if (!before) throw new NotFoundError('notification_template');
        checkTemplate('subject', input.subject, before.language);
        checkTemplate('content', input.content, before.language);
        const [after] = await tx
          .update(notificationTemplates)
          .set({ subject: input.subject, content: input.content, updatedBy: actor.userId })
          .where(eq(notificationTemplates.id, id))
          .returning();
        await writeAudit(tx, actor, [
          { action: 'update', entity: 'notification_templates', entityId: id, before, after },
        ]);
        return templateView(after as TemplateRow);
      });
    },

    /** A template rendered against the sample values, as its recipient would read it. */
    preview(template: Pick<TemplateRow, 'subject' | 'content' | 'language'>) {
      return {
        subject: renderText(template.subject, template.language, TEMPLATE_VARIABLES),
        content: renderText(template.content, template.language, TEMPLATE_VARIABLES),
      };
    },
  };
}
