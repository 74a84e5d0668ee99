import { and, arrayOverlaps, eq, inArray, isNull } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import { isStaff } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { AppError, NotFoundError, RuleViolationError } from '../../platform/errors.ts';
import { LANGUAGES, type LanguageCode } from '../../platform/i18n.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import type { TemplateInput, TemplateView } from './contract.ts';
import { chatTemplates } from './schema.ts';
import { renderIcu } from './texts.ts';

type TemplateRow = typeof chatTemplates.$inferSelect;
type Category = TemplateRow['category'];

const templatePages = idPages('chat.templates', chatTemplates.id);
const templateNotFound = () => new NotFoundError('chat_template');

const templateView = (t: TemplateRow): TemplateView => ({
  id: t.id,
  name: t.name,
  category: t.category,
  content: t.content as TemplateView['content'],
  variables: t.variables,
  roles: t.roles as TemplateView['roles'],
  is_active: t.isActive,
  updated_at: t.updatedAt.toISOString(),
});

/** The template roles a caller holds: their own, and `staff` for any staff role. */
const rolesOf = (actor: Actor) => [...actor.roles, ...(isStaff(actor) ? ['staff'] : [])];

/**
 * Refuses a text that does not parse, or names a variable the template does not declare: each language is
 * rendered with every declared variable at a sample number (a plural reads it, a select falls to `other`).
 */
function checkContent(input: TemplateInput) {
  const sample = Object.fromEntries(input.variables.map((v) => [v, 1]));
  for (const language of LANGUAGES) {
    try {
      renderIcu(input.content[language], language, sample);
    } catch (error) {
      throw new AppError(
        400,
        'template_invalid',
        `the ${language} text is not a message this platform renders`,
        [{ in: 'body', field: `content/${language}`, message: (error as Error).message }],
      );
    }
  }
}

export type TemplateService = ReturnType<typeof createTemplateService>;

/** Chat templates: staff write them; users list those for their role and send one, filled on the server. */
export function createTemplateService({ db }: { db: Db }) {
  async function live(id: string) {
    const [row] = await db
      .select()
      .from(chatTemplates)
      .where(and(eq(chatTemplates.id, id), isNull(chatTemplates.deletedAt)));
    if (!row) throw templateNotFound();
    return row;
  }

  const columns = (input: TemplateInput, actor: Actor) => ({
    name: input.name,
    category: input.category,
    content: input.content,
    variables: input.variables,
    roles: input.roles,
    isActive: input.is_active ?? true,
    updatedBy: actor.userId,
  });

  return {
    async createTemplate(actor: Actor, input: TemplateInput) {
      checkContent(input);
      return db.transaction(async () => {
        const [row] = await db.insert(chatTemplates).values(columns(input, actor)).returning();
        await writeAudit(db, actor, [
          { action: 'create', entity: 'chat_templates', entityId: row?.id as string, after: row },
        ]);
        return templateView(row as TemplateRow);
      });
    },

    async updateTemplate(actor: Actor, id: string, input: TemplateInput) {
      checkContent(input);
      return db.transaction(async () => {
        const before = await live(id);
        const [row] = await db
          .update(chatTemplates)
          .set(columns(input, actor))
          .where(eq(chatTemplates.id, id))
          .returning();
        await writeAudit(db, actor, [
          { action: 'update', entity: 'chat_templates', entityId: id, before, after: row },
        ]);
        return templateView(row as TemplateRow);
      });
    },

    async deleteTemplate(actor: Actor, id: string) {
      await db.transaction(async () => {
        const before = await live(id);
        await db
          .update(chatTemplates)
          .set({ deletedAt: new Date(), updatedBy: actor.userId })
          .where(eq(chatTemplates.id, id));
        await writeAudit(db, actor, [{ action: 'delete', entity: 'chat_templates', entityId: id, before }]);
      });
    },

    async getTemplate(id: string) {
      return templateView(await live(id));
    },

    /** Staff see every template; anyone else the active ones for their roles. */
    async listTemplates(
      actor: Actor,
      filter: { category?: Category[] } & PageRequest,
      mine: boolean,
    ): Promise<PageResult<TemplateView>> {
      const page = templatePages(filter, 'oldest');
      const rows = await db
        .select()
        .from(chatTemplates)
        .where(
          and(
            isNull(chatTemplates.deletedAt),
            page.where,
            filter.category ? inArray(chatTemplates.category, filter.category) : undefined,
            mine
              ? and(eq(chatTemplates.isActive, true), arrayOverlaps(chatTemplates.roles, rolesOf(actor)))
              : undefined,
          ),
        )
        .orderBy(page.orderBy)
        .limit(page.limit);
      return page.page(rows, (r) => r.id, templateView);
    },

    /** A template the caller may send, filled with their variables in their language. */
    async render(
      actor: Actor,
      id: string,
      variables: Record<string, string | number>,
      language: LanguageCode,
    ) {
      const template = await live(id).catch(() => undefined);
      const roles = rolesOf(actor);
      if (!template?.isActive || !template.roles.some((r) => roles.includes(r))) {
        throw new RuleViolationError('template_unavailable', 'this template is not one you may send', [
          { in: 'body', field: 'template_id', message: 'is not a template for your role' },
        ]);
      }
      const missing = template.variables.filter((v) => variables[v] === undefined);
      if (missing.length > 0) {
        throw new RuleViolationError(
          'template_variables_missing',
          `the template needs ${missing.join(', ')}`,
          [...missing.map((v) => ({ in: 'body' as const, field: `variables/${v}`, message: 'is required' }))],
        );
      }
      const known = Object.fromEntries(template.variables.map((v) => [v, variables[v] as string | number]));
      return renderIcu((template.content as Record<LanguageCode, string>)[language], language, known);
    },
  };
}
