import { type TSchema, Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import type { RoutesPlugin } from '../../platform/http.ts';
import type { PrivacyService } from './privacy-service.ts';

/** `exportDocument`: the export's schema, every module's section in it (platform/data-rights.ts). */
export const privacyRoutes: RoutesPlugin<{ privacy: PrivacyService; exportDocument: TSchema }> = async (
  app,
  { privacy, exportDocument },
) => {
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
          'Deactivates the account, ends every session and hides the profile, provider profile and services. A moment later the orders still looking for a provider (draft, published, bidding) are cancelled with the reason `account_closed`, their bidders told, and the pending bids are withdrawn; agreed work goes on. Support can reopen the account, but not those orders and bids; use /me/erase to remove personal data for good.',
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
        description:
          'One section per module, under its name: `users` (account, profiles, services, favorites, verifications, sessions), `orders` (orders placed, bids, agreed work, reviews written and received, disputes, searches), `platform` (the activity trail of my changes, my uploads).',
        response: { 200: exportDocument },
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
          'Overwrites name, email, phone, password, contact details, address, photo, notes and descriptions; deletes favorites, sign-in tokens and the answers stored for retried requests; removes the names of uploaded files and the address and location of the orders; and signs out everywhere. A moment later the orders still looking for a provider are cancelled (reason `account_erased`, their bidders told) and the pending bids withdrawn. Records the business must keep (orders, bids, agreed work, reviews, disputes) stay under an id that names no one. Refused, with nothing erased, while agreed work is not finished (assigned, in progress or disputed, as client or provider: 409 `work_in_progress`): finish or cancel it first. Send `{"confirm": "ERASE"}`.',
        body: Type.Object({ confirm: Type.Literal('ERASE') }, { additionalProperties: false }),
        response: { 204: Type.Null(), 409: Type.Ref('Problem') },
      },
    },
    async (request, reply) => {
      await privacy.eraseAccount(actorOf(request));
      return reply.status(204).send(null);
    },
  );
};
