import { type TObject, type TSchema, Type } from 'typebox';
import type { Role } from '../../platform/actor.ts';
import { actorOf } from '../../platform/auth.ts';
import { camelize, snakeize } from '../../platform/case.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, Nullable, type RoutesPlugin, RowMeta } from '../../platform/http.ts';
import { LANGUAGES, Translations } from '../../platform/i18n.ts';
import { ListQuery, Page } from '../../platform/pagination.ts';
import { Component, DeleteResult, Money, Ref, RestoreResult, Uuid } from '../../platform/schemas.ts';
import { HttpUrl, JsonValue, Text } from '../../platform/validation.ts';
import type { CatalogEntityName } from './catalog-entities.ts';
import { AddonPriceType, AppPlatform } from './routes.ts';
import type { CatalogService } from './service.ts';

/**
 * What the database refuses of a value the schema lets through (a number past a column's range, a
 * malformed value in a JSON setting): the platform's answers to those errors (errors.ts).
 */
const STORED_VALUE_REFUSALS = ['invalid_value', 'value_out_of_range'];

const Slug = Type.String({ pattern: '^[a-z0-9]+(-[a-z0-9]+)*$', minLength: 1, maxLength: 80 });

/** Staff-managed fields of each catalog model: the create body, and (all optional) the update body. */
const editable = {
  languages: {
    code: Type.Enum(LANGUAGES, { description: 'One of the languages the platform has texts in' }),
    name: Text({ maxLength: 100 }),
    native_name: Text({ maxLength: 100 }),
    is_active: Type.Optional(Type.Boolean()),
    is_default: Type.Optional(Type.Boolean()),
    sort_order: Type.Optional(Type.Integer()),
  },
  categories: {
    slug: Slug,
    name: Translations,
    description: Type.Optional(Nullable(Translations)),
    icon: Type.Optional(Nullable(Text({ maxLength: 100 }))),
    color: Type.Optional(Nullable(Type.String({ pattern: '^#[0-9A-Fa-f]{6}$' }))),
    sort_order: Type.Optional(Type.Integer()),
    is_active: Type.Optional(Type.Boolean()),
    commission_rate_bps: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 10_000 }))),
    min_price: Type.Optional(Nullable(Money)),
    max_price: Type.Optional(Nullable(Money)),
  },
  subcategories: {
    category_id: Uuid,
    slug: Slug,
    name: Translations,
    description: Type.Optional(Nullable(Translations)),
    icon: Type.Optional(Nullable(Text({ maxLength: 100 }))),
    sort_order: Type.Optional(Type.Integer()),
    is_active: Type.Optional(Type.Boolean()),
  },
  addons: {
    subcategory_id: Uuid,
    name: Translations,
    description: Type.Optional(Nullable(Translations)),
    price: Money,
    price_type: Type.Optional(AddonPriceType),
    sort_order: Type.Optional(Type.Integer()),
    is_active: Type.Optional(Type.Boolean()),
  },
  'service-areas': {
    slug: Slug,
    name: Translations,
    parent_id: Type.Optional(Nullable(Uuid)),
    sort_order: Type.Optional(Type.Integer()),
    is_active: Type.Optional(Type.Boolean()),
  },
  settings: {
    key: Type.String({ pattern: '^[a-z][a-z0-9_]{0,79}$' }),
    value: JsonValue(),
    description: Type.Optional(Nullable(Text({ maxLength: 500 }))),
    is_public: Type.Optional(Type.Boolean()),
  },
  'app-versions': {
    platform: AppPlatform,
    version: Type.String({ pattern: '^\\d+\\.\\d+\\.\\d+$' }),
    build_number: Type.Integer({ minimum: 1 }),
    release_notes: Type.Optional(Nullable(Translations)),
    is_forced_update: Type.Optional(Type.Boolean()),
    store_url: Type.Optional(Nullable(HttpUrl({ maxLength: 500 }))),
    is_active: Type.Optional(Type.Boolean()),
  },
} satisfies Record<CatalogEntityName, Record<string, TSchema>>;

/** The staff view of a row: every editable field (null when unset) plus the row's metadata. */
function staffRow(fields: Record<string, TSchema>) {
  const props: Record<string, TSchema> = { ...RowMeta };
  for (const [name, schema] of Object.entries(fields)) {
    const { '~optional': optional, ...required } = schema as TSchema & { '~optional'?: boolean };
    props[name] = optional ? Nullable(required as TSchema) : schema;
  }
  return Type.Object(props);
}

const admin: Record<CatalogEntityName, { singular: string; plural: string; roles: readonly Role[] }> = {
  languages: { singular: 'Language', plural: 'Languages', roles: ['admin'] },
  categories: { singular: 'Category', plural: 'Categories', roles: ['admin', 'moderator'] },
  subcategories: { singular: 'Subcategory', plural: 'Subcategories', roles: ['admin', 'moderator'] },
  addons: { singular: 'Addon', plural: 'Addons', roles: ['admin', 'moderator'] },
  'service-areas': { singular: 'ServiceArea', plural: 'ServiceAreas', roles: ['admin', 'moderator'] },
  settings: { singular: 'Setting', plural: 'Settings', roles: ['admin'] },
  'app-versions': { singular: 'AppVersion', plural: 'AppVersions', roles: ['admin'] },
};

const DeleteResponse = DeleteResult(
  'CatalogDeletion',
  'Catalog rows soft-deleted per table, cascade included. The orders of a deleted category or subcategory that are still looking for a provider (draft, published, bidding) are not counted here: the orders module takes them down a moment later, with their bids, under the same deletion, and tells their clients and bidders.',
);
const RestoreResponse = RestoreResult(
  'CatalogRestoration',
  'Catalog rows restored per table. The orders the deletion took come back a moment later, with what they took.',
);

/** Each catalog model's named shapes as staff use them: create and update bodies, the row, a page of rows. */
const staffSchemas = {} as Record<
  CatalogEntityName,
  { Create: TSchema; Update: TSchema; Row: TSchema; Rows: TSchema }
>;
for (const name of Object.keys(editable) as CatalogEntityName[]) {
  const { singular } = admin[name];
  const fields: Record<string, TSchema> = editable[name];
  const create = Type.Object(fields, { additionalProperties: false });
  const Row = Component(`Admin${singular}`, staffRow(fields));
  staffSchemas[name] = {
    Create: Component(`Create${singular}Body`, create),
    Update: Component(
      `Update${singular}Body`,
      Type.Partial(create as TObject, { additionalProperties: false, minProperties: 1 }),
    ),
    Row,
    Rows: Page(`Admin${singular}Page`, Row),
  };
}

/** The staff routes every catalog model gets: /admin/<model> to list, get, create, update, delete, restore. */
export const catalogAdminRoutes: RoutesPlugin<{ catalog: CatalogService }> = async (app, { catalog }) => {
  for (const name of Object.keys(editable) as CatalogEntityName[]) {
    const { singular, plural, roles } = admin[name];
    const entity = catalog.entities[name];
    const { Create, Update, Row, Rows } = staffSchemas[name];
    const notFound = `${entity.label}_not_found`;
    // A create or change naming a parent that does not exist (`category_not_found`), or, for an area, itself.
    const parent = (entity as { parent?: { label: string } }).parent;
    const badParent = parent ? [`${parent.label}_not_found`, 'invalid_parent'] : [];
    const base = { tags: ['admin', 'catalog'] };
    const config = { access: roles };
    const toRow = (row: object) => snakeize(row) as Record<string, unknown>;

    app.get(
      `/admin/${name}`,
      {
        config,
        schema: {
          ...base,
          operationId: `adminList${plural}`,
          summary: `List ${plural} (live, or deleted with deleted=true)`,
          description: `Every ${singular} row as staff manage it, inactive ones included, a page at a time.`,
          querystring: ListQuery({ deleted: Type.Boolean({ default: false }) }),
          response: { 200: Ref(Rows) },
        },
      },
      async (request) => {
        const page = await catalog.listEntity(entity, request.query);
        return { data: page.data.map(toRow), next_cursor: page.next_cursor };
      },
    );
    app.get(
      `/admin/${name}/:id`,
      {
        config,
        schema: {
          ...base,
          operationId: `adminGet${singular}`,
          summary: `One ${singular}, as staff manage it`,
          description: `The ${singular} row with every field staff edit, deleted or not; an unknown id is 404.`,
          params: IdParams,
          response: { 200: Ref(Row), ...problems({ 404: [notFound] }) },
        },
      },
      async (request) => toRow(await catalog.getEntity(entity, request.params.id)),
    );
    app.post(
      `/admin/${name}`,
      {
        config: { ...config, location: `/admin/${name}/{id}` },
        schema: {
          ...base,
          operationId: `adminCreate${singular}`,
          summary: `Create a ${singular}`,
          description: `Adds a ${singular} to the catalog; the public catalog shows it at once when it is active. A value that must be unique and is taken is 409.`,
          body: Ref(Create),
          response: {
            201: Ref(Row),
            ...problems({
              400: STORED_VALUE_REFUSALS,
              409: ['already_exists'],
              ...(badParent.length > 0 && { 422: badParent }),
            }),
          },
        },
      },
      async (request, reply) => {
        const row = await catalog.createEntity(
          actorOf(request),
          entity,
          camelize(request.body as Record<string, unknown>),
        );
        return reply.code(201).send(toRow(row));
      },
    );
    app.patch(
      `/admin/${name}/:id`,
      {
        config,
        schema: {
          ...base,
          operationId: `adminUpdate${singular}`,
          summary: `Change a ${singular}`,
          description:
            'Only the fields sent change; null clears an optional one. The public catalog shows the change at once.',
          params: IdParams,
          body: Ref(Update),
          response: {
            200: Ref(Row),
            ...problems({
              400: STORED_VALUE_REFUSALS,
              404: [notFound],
              409: ['already_exists'],
              ...(badParent.length > 0 && { 422: badParent }),
            }),
          },
        },
      },
      async (request) =>
        toRow(
          await catalog.updateEntity(
            actorOf(request),
            entity,
            request.params.id,
            camelize(request.body as Record<string, unknown>),
          ),
        ),
    );
    app.delete(
      `/admin/${name}/:id`,
      {
        config,
        schema: {
          ...base,
          operationId: `adminDelete${singular}`,
          summary: `Soft-delete a ${singular} and what depends on it`,
          description: `Takes the ${singular} and the catalog rows under it out of the catalog under one deletion id, which a restore brings back exactly.`,
          params: IdParams,
          response: { 200: Ref(DeleteResponse), ...problems({ 404: [notFound] }) },
        },
      },
      async (request) => {
        const result = await catalog.deleteEntity(actorOf(request), entity, request.params.id);
        return { deletion_id: result.deletionId, counts: result.counts };
      },
    );
    app.post(
      `/admin/${name}/:id/restore`,
      {
        config,
        schema: {
          ...base,
          operationId: `adminRestore${singular}`,
          summary: `Restore a ${singular} and exactly what its deletion took`,
          description: `Brings back the rows the ${singular}’s deletion took. A ${singular} that is not deleted is 409 \`not_deleted\`; one whose parent is still deleted is 409 \`parent_deleted\`.`,
          params: IdParams,
          response: {
            200: Ref(RestoreResponse),
            ...problems({ 404: [notFound], 409: ['not_deleted', 'parent_deleted', 'already_exists'] }),
          },
        },
      },
      async (request) => catalog.restoreEntity(actorOf(request), entity, request.params.id),
    );
  }
};
