import type { FastifyReply, FastifyRequest } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { snakeize } from '../../platform/case.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, Nullable, type RoutesPlugin } from '../../platform/http.ts';
import { negotiateLanguage } from '../../platform/i18n.ts';
import { ListQuery, Page } from '../../platform/pagination.ts';
import { Component, Money, Ref, Uuid } from '../../platform/schemas.ts';
import type { CachedAnswer } from './catalog-cache.ts';
import { ADDON_PRICE_TYPES } from './contract.ts';
import { APP_PLATFORMS } from './schema.ts';
import type { CatalogService } from './service.ts';

export const AddonPriceType = Type.Enum(ADDON_PRICE_TYPES);
export const AppPlatform = Type.Enum(APP_PLATFORMS);

const SubcategorySummary = Component(
  'SubcategorySummary',
  Type.Object({
    id: Uuid,
    category_id: Uuid,
    slug: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    icon: Nullable(Type.String()),
    sort_order: Type.Integer(),
  }),
);

const CategoryResponse = Component(
  'Category',
  Type.Object({
    id: Uuid,
    slug: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    icon: Nullable(Type.String()),
    color: Nullable(Type.String()),
    sort_order: Type.Integer(),
    commission_rate_bps: Type.Integer({ description: 'Platform commission in basis points (1500 = 15%)' }),
    min_price: Money,
    max_price: Money,
    subcategories: Type.Array(Ref(SubcategorySummary)),
  }),
);

const SubcategoryAddon = Component(
  'SubcategoryAddon',
  Type.Object({
    id: Uuid,
    name: Type.String(),
    description: Nullable(Type.String()),
    price: Money,
    price_type: AddonPriceType,
    sort_order: Type.Integer(),
  }),
);

const SubcategoryResponse = Component(
  'Subcategory',
  Type.Object({
    ...SubcategorySummary.properties,
    category: Type.Object({ id: Uuid, slug: Type.String(), name: Type.String() }),
    addons: Type.Array(Ref(SubcategoryAddon)),
  }),
);

const LanguageResponse = Component(
  'Language',
  Type.Object({
    id: Uuid,
    code: Type.String(),
    name: Type.String(),
    native_name: Type.String(),
    is_default: Type.Boolean(),
  }),
);

const ServiceAreaResponse = Component(
  'ServiceArea',
  Type.Object({
    id: Uuid,
    slug: Type.String(),
    name: Type.String(),
    parent_id: Nullable(Uuid),
  }),
);
const SettingResponse = Component(
  'Setting',
  Type.Object({
    key: Type.String(),
    value: Type.Unknown(),
    description: Nullable(Type.String()),
  }),
);
/** The newest release of an app for a platform. */
const AppRelease = Component(
  'AppRelease',
  Type.Object({
    version: Type.String(),
    build_number: Type.Integer(),
    release_notes: Nullable(Type.String()),
    store_url: Nullable(Type.String()),
    is_forced_update: Type.Boolean(),
  }),
);

const AppVersionCheckResponse = Component(
  'AppVersionCheck',
  Type.Object({
    update_available: Type.Boolean(),
    force_update: Type.Boolean({
      description: 'True when a newer release is marked forced: the app must update',
    }),
    latest: Nullable(Ref(AppRelease)),
  }),
);

const CategoryPage = Page('CategoryPage', CategoryResponse);
const ServiceAreaPage = Page('ServiceAreaPage', ServiceAreaResponse);

/** A cached answer with the tag made when it was cached; the platform answers If-None-Match (http-cache.ts). */
function sendCached(reply: FastifyReply, answer: CachedAnswer) {
  return reply.header('etag', answer.etag).type('application/json; charset=utf-8').send(answer.body);
}

export const catalogRoutes: RoutesPlugin<{ catalog: CatalogService }> = async (app, { catalog }) => {
  const lang = async (request: FastifyRequest) =>
    negotiateLanguage(request.headers['accept-language'], await catalog.defaultLanguage());
  const AcceptLanguage = Type.Object({
    'accept-language': Type.Optional(Type.String({ description: 'ru, ky or en; default from settings' })),
  });
  const publicRoute = (operationId: string, summary: string, ok: TSchema) => ({
    config: { access: 'public' as const, shared: { maxAgeSeconds: 60 } },
    schema: {
      tags: ['catalog'],
      operationId,
      summary,
      description: `${summary}. Open to anyone; texts in the \`Accept-Language\` language. Any cache may keep the answer for 60 s; send its \`ETag\` in \`If-None-Match\` to get 304 while it has not changed.`,
      headers: AcceptLanguage,
      response: { 200: ok },
    },
  });
  const publicRouteById = (operationId: string, summary: string, ok: TSchema, notFound: string) => {
    const route = publicRoute(operationId, summary, ok);
    return {
      ...route,
      schema: {
        ...route.schema,
        params: IdParams,
        response: { ...route.schema.response, ...problems({ 404: [notFound] }) },
      },
    };
  };
  const publicPage = (operationId: string, summary: string, page: TSchema) => {
    const route = publicRoute(operationId, summary, Ref(page));
    return { ...route, schema: { ...route.schema, querystring: ListQuery({}) } };
  };
  /** A list that is not paged: its description says why it stays small. */
  const publicFixedList = (operationId: string, summary: string, item: TSchema, why: string) => {
    const route = publicRoute(operationId, summary, Type.Array(Ref(item)));
    return {
      ...route,
      schema: { ...route.schema, description: `A fixed list, not paged: ${why} ${route.schema.description}` },
    };
  };

  app.get(
    '/languages',
    publicFixedList(
      'listLanguages',
      'Active languages',
      LanguageResponse,
      'one row for each language the platform has texts in (ru, ky, en); staff cannot add another, so it is at most three.',
    ),
    async (_request, reply) =>
      sendCached(
        reply,
        await catalog.cachedAnswer(
          'languages',
          async () => (await catalog.listLanguages()).map((l) => snakeize(l)),
          (b) => reply.serialize(b) as string,
        ),
      ),
  );

  app.get(
    '/categories',
    publicPage(
      'listCategories',
      'Active categories with their subcategories, in the caller’s language and staff’s order',
      CategoryPage,
    ),
    async (request, reply) => {
      const language = await lang(request);
      const answer = await catalog.pageAnswer(
        `categories:${language}`,
        request.query,
        () => catalog.listCategories(language, request.query),
        (b) => reply.serialize(b) as string,
      );
      return sendCached(reply, answer);
    },
  );

  app.get(
    '/categories/:id',
    publicRouteById(
      'getCategory',
      'One category with its subcategories',
      Ref(CategoryResponse),
      'category_not_found',
    ),
    async (request, reply) => {
      const language = await lang(request);
      const answer = await catalog.cachedAnswer(
        `category:${request.params.id}:${language}`,
        () => catalog.getCategory(request.params.id, language),
        (b) => reply.serialize(b) as string,
      );
      return sendCached(reply, answer);
    },
  );

  app.get(
    '/subcategories/:id',
    publicRouteById(
      'getSubcategory',
      'One subcategory with its add-ons',
      Ref(SubcategoryResponse),
      'subcategory_not_found',
    ),
    async (request, reply) => {
      const language = await lang(request);
      const answer = await catalog.cachedAnswer(
        `subcategory:${request.params.id}:${language}`,
        () => catalog.getSubcategory(request.params.id, language),
        (b) => reply.serialize(b) as string,
      );
      return sendCached(reply, answer);
    },
  );

  app.get(
    '/service-areas',
    publicPage('listServiceAreas', 'Cities and districts providers serve, in staff’s order', ServiceAreaPage),
    async (request, reply) => {
      const language = await lang(request);
      const answer = await catalog.pageAnswer(
        `areas:${language}`,
        request.query,
        () => catalog.listServiceAreas(language, request.query),
        (b) => reply.serialize(b) as string,
      );
      return sendCached(reply, answer);
    },
  );

  app.get(
    '/settings',
    publicFixedList(
      'listPublicSettings',
      'Settings the apps may read',
      SettingResponse,
      'one row per rule the platform has a number or text for (a dozen today), added only by an admin, never by users.',
    ),
    async (_request, reply) =>
      sendCached(
        reply,
        await catalog.cachedAnswer(
          'settings',
          () => catalog.listPublicSettings(),
          (b) => reply.serialize(b) as string,
        ),
      ),
  );

  app.get(
    '/app-versions/check',
    {
      config: { access: 'public' },
      schema: {
        tags: ['catalog'],
        operationId: 'checkAppVersion',
        summary: 'Whether an app build must or may update',
        description:
          'Compares `build` with the active releases for `platform`: `update_available` when a newer one exists, `force_update` when one of the newer ones is marked forced. `latest` is the newest, with its notes in the `Accept-Language` language.',
        headers: AcceptLanguage,
        querystring: Type.Object({ platform: AppPlatform, build: Type.Integer({ minimum: 0 }) }),
        response: { 200: Ref(AppVersionCheckResponse) },
      },
    },
    async (request) =>
      catalog.checkAppVersion(request.query.platform, request.query.build, await lang(request)),
  );
};
