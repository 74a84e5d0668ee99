import { Type } from 'typebox';
import { RoleSchema } from '../../platform/actor.ts';
import { actorOf } from '../../platform/auth.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { decodeCursor, IdCursor, Page, PageParams, toPage } from '../../platform/pagination.ts';
import type { UserAdminService } from './admin-service.ts';
import { AdminUserResponse, Email, Phone, UserResponse } from './contract.ts';
import type { PrivacyService } from './privacy-service.ts';
import { USER_STATUSES } from './schema.ts';

const problem = Type.Ref('Problem');

export const userAdminRoutes: RoutesPlugin<{ admin: UserAdminService; privacy: PrivacyService }> = async (
  app,
  { admin, privacy },
) => {
  const tags = ['admin', 'users'];
  const staff = { access: ['admin', 'moderator'] as const };

  app.get(
    '/admin/users',
    {
      config: staff,
      schema: {
        tags,
        operationId: 'adminListUsers',
        summary: 'Find accounts by name, exact email or phone, role and status; newest first',
        querystring: Type.Object({
          q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Part of the name' })),
          email: Type.Optional(Email),
          phone: Type.Optional(Phone),
          role: Type.Optional(RoleSchema),
          status: Type.Optional(Type.Enum(USER_STATUSES)),
          deleted: Type.Boolean({ default: false, description: 'List erased accounts instead of live ones' }),
          ...PageParams,
        }),
        response: { 200: Page(AdminUserResponse) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      const rows = await admin.listUsers(filter, { limit, before: decodeCursor(cursor, IdCursor)?.[0] });
      return toPage(
        rows,
        limit,
        (r) => [r.id],
        (r) => r.view,
      );
    },
  );

  app.get(
    '/admin/users/:id',
    {
      config: staff,
      schema: {
        tags,
        operationId: 'adminGetUser',
        summary: 'One account',
        params: IdParams,
        response: { 200: AdminUserResponse, 404: problem },
      },
    },
    async (request) => admin.getUser(request.params.id),
  );

  app.put(
    '/admin/users/:id/roles',
    {
      config: { access: ['admin'] },
      schema: {
        tags,
        operationId: 'adminSetUserRoles',
        summary: 'Set an account’s roles (admin only); taking a role away signs the account out',
        params: IdParams,
        body: Type.Object(
          { roles: Type.Array(RoleSchema, { minItems: 1, maxItems: 6, uniqueItems: true }) },
          { additionalProperties: false },
        ),
        response: { 200: AdminUserResponse, 404: problem, 422: problem },
      },
    },
    async (request) => admin.setRoles(actorOf(request), request.params.id, request.body.roles),
  );

  app.post(
    '/admin/users/:id/restore',
    {
      config: staff,
      schema: {
        tags,
        operationId: 'adminRestoreUser',
        summary: 'Reopen a deactivated account with exactly what its closing hid',
        params: IdParams,
        response: {
          200: Type.Object({ user: UserResponse, restored: Type.Record(Type.String(), Type.Integer()) }),
          404: problem,
          409: problem,
        },
      },
    },
    async (request) => privacy.restoreAccount(actorOf(request), request.params.id),
  );
};
