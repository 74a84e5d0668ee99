import { Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import { Nullable, type RoutesPlugin } from '../../platform/http.ts';
import { UserResponse } from './contract.ts';
import type { PrivacyService } from './privacy-service.ts';
import {
  ClientProfileResponse,
  ProfileResponse,
  ProviderProfileResponse,
  ServiceResponse,
} from './profile-contract.ts';
import { VERIFICATION_STATUSES, VERIFICATION_TYPES } from './schema.ts';

const DateTime = Type.String({ format: 'date-time' });
const Uuid = Type.String({ format: 'uuid' });
const WasDeleted = Type.Object({ is_deleted: Type.Boolean() });

const ExportResponse = Type.Object({
  exported_at: DateTime,
  account: UserResponse,
  profile: ProfileResponse,
  client_profiles: Type.Array(Type.Intersect([ClientProfileResponse, WasDeleted])),
  provider_profiles: Type.Array(Type.Intersect([ProviderProfileResponse, WasDeleted])),
  services: Type.Array(Type.Intersect([ServiceResponse, WasDeleted])),
  favorites: Type.Array(Type.Object({ provider_id: Uuid, added_at: DateTime })),
  verifications: Type.Array(
    Type.Object({
      id: Uuid,
      verification_type: Type.Enum(VERIFICATION_TYPES),
      status: Type.Enum(VERIFICATION_STATUSES),
      evidence_file_ids: Type.Array(Uuid),
      user_note: Nullable(Type.String()),
      public_note: Nullable(Type.String()),
      created_at: DateTime,
      reviewed_at: Nullable(DateTime),
    }),
  ),
  sessions: Type.Array(
    Type.Object({
      id: Uuid,
      device_name: Nullable(Type.String()),
      user_agent: Nullable(Type.String()),
      ip: Nullable(Type.String()),
      created_at: DateTime,
      last_used_at: DateTime,
      revoked_at: Nullable(DateTime),
    }),
  ),
  activity: Type.Array(
    Type.Object({
      created_at: DateTime,
      action: Type.String(),
      entity: Type.String(),
      entity_id: Uuid,
      changes: Type.Record(Type.String(), Type.Object({ before: Type.Unknown(), after: Type.Unknown() })),
    }),
  ),
});

export const privacyRoutes: RoutesPlugin<{ privacy: PrivacyService }> = async (app, { privacy }) => {
  const tags = ['privacy'];

  app.delete(
    '/me',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'deactivateMe',
        summary: 'Close my account',
        description:
          'Deactivates the account, ends every session and hides the profile, provider profile and services. Support can reopen it; use /me/erase to remove personal data for good.',
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await privacy.deactivateAccount(actorOf(request));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/me/export',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'exportMyData',
        summary: 'Everything the platform holds about me, as JSON',
        response: { 200: ExportResponse },
      },
    },
    async (request, reply) => {
      reply.header('content-disposition', 'attachment; filename="kg-job-portal-export.json"');
      return privacy.exportData(actorOf(request));
    },
  );

  app.post(
    '/me/erase',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'eraseMe',
        summary: 'Erase my personal data irreversibly',
        description:
          'Overwrites name, email, phone, password, contact details, address, photo, notes and descriptions, and signs out everywhere. Records the business must keep (orders, payments) stay under an id that names no one. Send `{"confirm": "ERASE"}`.',
        body: Type.Object({ confirm: Type.Literal('ERASE') }, { additionalProperties: false }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await privacy.eraseAccount(actorOf(request));
      return reply.status(204).send(null);
    },
  );
};
