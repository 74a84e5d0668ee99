import { type TSchema, Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { UnauthorizedError } from '../../platform/errors.ts';
import type { RoutesPlugin } from '../../platform/http.ts';
import { Ref } from '../../platform/schemas.ts';
import { EraseAccountBody, ReauthenticationBody } from './contract.ts';
import type { PrivacyService } from './privacy-service.ts';

const CONFIRMATION =
  'Asks for re-authentication, so that an access token alone, which may have been stolen, is not enough: send the account’s `password`, or `otp_code`, a fresh one-time code sent to the account’s phone by `POST /auth/otp/request` (the only way for an account without a password). Without either: 401 `reauthentication_required`, its detail saying which the account can use; both: 400. A wrong password: 403 `wrong_password`, counted as a wrong sign-in is, so five of them lock the password for a while (429 `login_throttled`); a wrong or spent code: 403 `otp_wrong_code`, `otp_attempts_exceeded` or `otp_invalid`. Never kept for an `Idempotency-Key` replay: the request carries a credential.';

/**
 * Routes that take the password or a one-time code in their body: it reaches no store (an Idempotency-Key's
 * request hash would be a fast hash of it) and no transaction (the wrong one must be counted though the
 * request fails), and a body left out is a confirmation left out, answered 401, not 400.
 */
const confirmed = { access: 'user' as const, idempotency: 'off' as const };

/**
 * A route moved to a POST that carries the confirmation: it only says where, as a 401 the app can act on. Kept
 * for the apps built before the move, and in the OpenAPI document as deprecated for as long as the README's
 * deprecation policy promises; it never succeeds, so the linters' rule that an operation documents a success
 * is waived for these two alone (.redocly.lint-ignore.yaml, .spectral.yaml).
 */
const moved = (to: string, what: string) => async () => {
  throw new UnauthorizedError(
    'reauthentication_required',
    `${what} asks for the account’s password or a one-time code, which this request cannot carry: send them to ${to}`,
  );
};

/** `exportDocument`: the export's schema, every module's section in it (platform/data-rights.ts). */
export const privacyRoutes: RoutesPlugin<{ privacy: PrivacyService; exportDocument: TSchema }> = async (
  app,
  { privacy, exportDocument },
) => {
  const tags = ['privacy'];
  // Made when the app is built, from the modules registered: named here rather than as a module's component.
  app.addSchema({ ...exportDocument, $id: 'DataExport' });

  app.post(
    '/me/close',
    {
      config: { ...confirmed, optionalBody: true },
      schema: {
        tags,
        operationId: 'closeMe',
        summary: 'Close my account',
        description: `Deactivates the account, ends every session and hides the profile, provider profile and services. A moment later the orders still looking for a provider (draft, published, bidding) are cancelled with the reason \`account_closed\`, their bidders told, and the pending bids are withdrawn; agreed work goes on. Support can reopen the account, but not those orders and bids; use /me/erase to remove personal data for good. ${CONFIRMATION}`,
        body: Ref(ReauthenticationBody),
        response: {
          204: Type.Null(),
          ...problems({
            401: ['reauthentication_required'],
            403: ['otp_attempts_exceeded', 'otp_invalid', 'otp_wrong_code', 'wrong_password'],
            429: ['login_throttled'],
          }),
        },
      },
    },
    async (request, reply) => {
      await privacy.deactivateAccount(actorOf(request), request.body);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/me',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'deactivateMe',
        deprecated: true,
        summary: 'Moved to POST /me/close',
        description:
          'Closing an account asks for re-authentication, which a DELETE cannot portably carry (RFC 9110 gives content in a DELETE no meaning, and the proxies between an app and the API may drop it). Always answers 401 `reauthentication_required` naming `POST /me/close`.',
        response: { ...problems({ 401: ['reauthentication_required'] }) },
      },
    },
    moved('POST /api/v1/me/close', 'closing an account'),
  );

  app.post(
    '/me/export',
    {
      config: { ...confirmed, optionalBody: true },
      schema: {
        tags,
        operationId: 'exportMyData',
        summary: 'Everything the platform holds about me, as JSON',
        description: `One section per module, under its name: \`users\` (account, profiles, services, favorites, verifications, sessions), \`orders\` (orders placed, bids, agreed work, reviews written and received, disputes, searches), \`platform\` (the activity trail of my changes, my uploads). A POST and not a GET: the request carries the confirmation. ${CONFIRMATION}`,
        body: Ref(ReauthenticationBody),
        response: {
          200: Type.Ref('DataExport'),
          ...problems({
            401: ['reauthentication_required'],
            403: ['otp_attempts_exceeded', 'otp_invalid', 'otp_wrong_code', 'wrong_password'],
            429: ['login_throttled'],
          }),
        },
      },
    },
    async (request, reply) => {
      const document = await privacy.exportData(actorOf(request), request.body);
      reply.header('content-disposition', 'attachment; filename="kg-job-portal-export.json"');
      return document;
    },
  );

  app.get(
    '/me/export',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'exportMyDataByGet',
        deprecated: true,
        summary: 'Moved to POST /me/export',
        description:
          'The export asks for re-authentication, which a GET cannot carry (a GET has no body that clients send, and a password in the URL would be logged on the way). Always answers 401 `reauthentication_required` naming `POST /me/export`.',
        response: { ...problems({ 401: ['reauthentication_required'] }) },
      },
    },
    moved('POST /api/v1/me/export', 'the export'),
  );

  app.post(
    '/me/erase',
    {
      config: confirmed,
      schema: {
        tags,
        operationId: 'eraseMe',
        summary: 'Erase my personal data irreversibly',
        description: `Overwrites name, email, phone, password, contact details, address, photo, notes and descriptions; deletes favorites, sign-in tokens and the answers stored for retried requests; removes the names of uploaded files and the address and location of the orders; and signs out everywhere. A moment later the orders still looking for a provider are cancelled (reason \`account_erased\`, their bidders told) and the pending bids withdrawn. Records the business must keep (orders, bids, agreed work, reviews, disputes) stay under an id that names no one. Refused, with nothing erased, while agreed work is not finished (assigned, in progress or disputed, as client or provider: 409 \`work_in_progress\`): finish or cancel it first. Send \`{"confirm": "ERASE"}\` with the confirmation. ${CONFIRMATION}`,
        body: Ref(EraseAccountBody),
        response: {
          204: Type.Null(),
          ...problems({
            401: ['reauthentication_required'],
            403: ['otp_attempts_exceeded', 'otp_invalid', 'otp_wrong_code', 'wrong_password'],
            409: ['work_in_progress'],
            429: ['login_throttled'],
          }),
        },
      },
    },
    async (request, reply) => {
      await privacy.eraseAccount(actorOf(request), request.body);
      return reply.status(204).send(null);
    },
  );
};
