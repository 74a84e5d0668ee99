import { Type } from 'typebox';
import { RoleSchema } from '../../platform/actor.ts';
import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { ListQuery, OneOrMore } from '../../platform/pagination.ts';
import { Ref } from '../../platform/schemas.ts';
import type { UserAdminService } from './admin-service.ts';
import { AdminUserPage, AdminUserResponse, Email, Phone, RestoredAccount, SetRolesBody } from './contract.ts';
import type { PrivacyService } from './privacy-service.ts';
import { USER_STATUSES } from './schema.ts';

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
        description:
          'For staff. `q` matches part of a name; `email` and `phone` find the account with exactly that value. Erased accounts are listed only with `deleted=true`, and then only they.',
        querystring: ListQuery({
          q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Part of the name' })),
          email: Type.Optional(Email),
          phone: Type.Optional(Phone),
          role: Type.Optional(RoleSchema),
          status: OneOrMore(USER_STATUSES, 'Account statuses'),
          deleted: Type.Boolean({ default: false, description: 'List erased accounts instead of live ones' }),
        }),
        response: { 200: Ref(AdminUserPage) },
      },
    },
    async (request) => admin.listUsers(request.query),
  );

  app.get(
    '/admin/users/:id',
    {
      config: staff,
      schema: {
        tags,
        operationId: 'adminGetUser',
        summary: 'One account',
        description: 'An account as staff see it, a closed one included; an unknown id is 404.',
        params: IdParams,
        response: { 200: Ref(AdminUserResponse), ...problems({ 404: ['user_not_found'] }) },
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
        description: 'Never one’s own (403 `own_case`), so no admin can take away their own admin role.',
        params: IdParams,
        body: Ref(SetRolesBody),
        response: {
          200: Ref(AdminUserResponse),
          ...problems({ 403: ['own_case'], 404: ['user_not_found'] }),
        },
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
        description:
          'Brings back what the closing took of the account (profiles, services, verifications); the orders and bids it cancelled and withdrew stay so. Not one’s own, nor that of someone one has dealings with: an order one of you placed and the other bid on, a review or an open dispute between you (403 `own_case`). An account that holds a staff role only by an admin (403 `staff_account_admin_only`).',
        params: IdParams,
        response: {
          200: Ref(RestoredAccount),
          ...problems({
            403: ['own_case', 'staff_account_admin_only'],
            404: ['user_not_found'],
            409: ['account_not_deactivated'],
          }),
        },
      },
    },
    async (request) => privacy.restoreAccount(actorOf(request), request.params.id),
  );
};
