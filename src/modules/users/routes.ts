import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { ValidationError } from '../../platform/errors.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { negotiateLanguage } from '../../platform/i18n.ts';
import { ListQuery } from '../../platform/pagination.ts';
import { Ref } from '../../platform/schemas.ts';
import {
  ChangePasswordBody,
  LoginBody,
  OtpSentResponse,
  OtpSignIn,
  RefreshTokensBody,
  RegisterBody,
  RequestOtpBody,
  SessionPage,
  SignedOutEverywhere,
  TokenResponse,
  UserResponse,
  VerifyOtpBody,
} from './contract.ts';
import type { AccountService, ClientInfo } from './service.ts';

const clientOf = (request: FastifyRequest, deviceName?: string): ClientInfo => ({
  ip: request.ip,
  userAgent: request.headers['user-agent'],
  deviceName,
  requestId: request.id,
});

export const accountRoutes: RoutesPlugin<{
  accounts: AccountService;
  authRateLimitPerMinute: number;
}> = async (app, { accounts, authRateLimitPerMinute }) => {
  // Sign-in routes are limited per IP on top of the per-phone limits of one-time codes.
  const signIn = {
    access: 'public' as const,
    rateLimit: { max: authRateLimitPerMinute, timeWindow: 60_000 },
  };
  /**
   * Answers that carry tokens are never kept for an Idempotency-Key replay: the store would hold live
   * tokens and the email or phone in plain text for a day, and a replay would hand them out twice.
   */
  const issuesTokens = { ...signIn, idempotency: 'off' as const };
  const tags = ['auth'];

  app.post(
    '/auth/register',
    {
      // The account is the caller's own from now on.
      config: { ...issuesTokens, location: '/me' },
      schema: {
        tags,
        operationId: 'register',
        summary: 'Create an account with email and password; signs in',
        description:
          'Makes an account and a first session: the answer carries the tokens. An email already used is 409 `email_taken`. Limited per IP (`AUTH_RATE_LIMIT_PER_MINUTE`).',
        body: Ref(RegisterBody),
        response: { 201: Ref(TokenResponse), ...problems({ 409: ['email_taken'] }) },
      },
    },
    async (request, reply) => {
      const tokens = await accounts.register(request.body, clientOf(request, request.body.device_name));
      return reply.status(201).send(tokens);
    },
  );

  app.post(
    '/auth/login',
    {
      config: issuesTokens,
      schema: {
        tags,
        operationId: 'login',
        summary: 'Sign in with email or phone, and password',
        description:
          'Give `email` or `phone`, not both. A wrong email, phone or password all answer `invalid_credentials`. Five wrong passwords for one email or phone, from any address, lock its password sign-in for a minute (429 `login_throttled` with `Retry-After`, even for the right password); each wrong one after a lock doubles the next lock, up to an hour, and a day without one forgets them. A one-time code (`/auth/otp/verify`) still signs the owner in and clears the count; the owner is told of each lock.',
        body: Ref(LoginBody),
        response: {
          200: Ref(TokenResponse),
          ...problems({
            401: ['invalid_credentials'],
            403: ['account_blocked', 'account_deactivated'],
            429: ['login_throttled'],
          }),
        },
      },
    },
    async (request) => {
      const { email, phone } = request.body;
      if ((email === undefined) === (phone === undefined)) {
        throw new ValidationError([
          { in: 'body', field: email ? 'phone' : 'email', message: 'give either email or phone' },
        ]);
      }
      return accounts.login(request.body, clientOf(request, request.body.device_name));
    },
  );

  app.post(
    '/auth/otp/request',
    {
      config: signIn,
      schema: {
        tags,
        operationId: 'requestOtp',
        summary: 'Send a one-time sign-in code to a phone by SMS',
        description:
          'Codes are 6 digits and live 5 minutes. One code per minute and 5 per hour per phone; 20 per hour per IP. The SMS is in the `Accept-Language` language.',
        headers: Type.Object({ 'accept-language': Type.Optional(Type.String()) }),
        body: Ref(RequestOtpBody),
        response: {
          202: Ref(OtpSentResponse),
          ...problems({ 429: ['otp_rate_limited', 'otp_resend_too_soon'], 503: ['sms_unavailable'] }),
        },
      },
    },
    async (request, reply) => {
      const language = negotiateLanguage(request.headers['accept-language']);
      return reply
        .status(202)
        .send(await accounts.requestOtp(request.body.phone, clientOf(request), language));
    },
  );

  app.post(
    '/auth/otp/verify',
    {
      // A new phone makes an account: 201, the caller's own from now on.
      config: { ...issuesTokens, location: '/me' },
      schema: {
        tags,
        operationId: 'verifyOtp',
        summary: 'Sign in with a one-time code; creates the account when the phone is new',
        description:
          'At most 5 tries per code. A phone that had no account answers 201 (the account made, `Location: /api/v1/me`) ' +
          'and `is_new_user: true`, which tells the app to ask for a profile; a known one answers 200.',
        body: Ref(VerifyOtpBody),
        response: {
          200: Ref(OtpSignIn),
          201: Ref(OtpSignIn),
          ...problems({
            401: ['otp_attempts_exceeded', 'otp_invalid', 'otp_wrong_code'],
            403: ['account_blocked'],
          }),
        },
      },
    },
    async (request, reply) => {
      const signedIn = await accounts.verifyOtp(request.body, clientOf(request, request.body.device_name));
      return reply.status(signedIn.is_new_user ? 201 : 200).send(signedIn);
    },
  );

  app.post(
    '/auth/refresh',
    {
      config: { access: 'public', idempotency: 'off' },
      schema: {
        tags,
        operationId: 'refreshTokens',
        summary: 'Exchange a refresh token for a new access and refresh token',
        description:
          'Each refresh token works once. Presenting a used one ends that session (`refresh_token_reused`): apps must not refresh twice in parallel.',
        body: Ref(RefreshTokensBody),
        response: {
          200: Ref(TokenResponse),
          ...problems({
            401: ['invalid_refresh_token', 'refresh_token_reused', 'session_expired'],
            403: ['account_blocked'],
          }),
        },
      },
    },
    async (request) => accounts.refresh(request.body.refresh_token, clientOf(request)),
  );

  app.post(
    '/auth/logout',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'logout',
        summary: 'Sign out this device',
        description:
          'Ends the session this access token belongs to; its refresh token stops working. The access token itself lives until it expires.',
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      await accounts.revokeSession(actor, actor.sessionId ?? '');
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/auth/sessions',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'listSessions',
        summary: 'The devices signed in to this account, newest first',
        description:
          'Every live session of the account, a page at a time; `current` marks the one this request was made with.',
        querystring: ListQuery({}),
        response: { 200: Ref(SessionPage) },
      },
    },
    async (request) => accounts.listSessions(actorOf(request), request.query),
  );

  app.delete(
    '/auth/sessions',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'logoutEverywhere',
        summary: 'Sign out every device, this one included',
        description:
          'Ends every session of the account, the caller’s own included, and answers how many were ended.',
        response: { 200: Ref(SignedOutEverywhere) },
      },
    },
    async (request) => ({ revoked: await accounts.logoutAll(actorOf(request)) }),
  );

  app.delete(
    '/auth/sessions/:id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'revokeSession',
        summary: 'Sign out one device',
        description:
          'Ends one session of the account; a session that is not the caller’s (or is over) is 404.',
        params: IdParams,
        response: { 204: Type.Null(), ...problems({ 404: ['session_not_found'] }) },
      },
    },
    async (request, reply) => {
      await accounts.revokeSession(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/me',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getMe',
        summary: 'The signed-in account',
        description:
          'The account of the access token: name, email and phone, roles, status and verification flags.',
        response: { 200: Ref(UserResponse) },
      },
    },
    async (request) => accounts.me(actorOf(request)),
  );

  app.put(
    '/me/password',
    {
      config: { access: 'user', rateLimit: signIn.rateLimit },
      schema: {
        tags,
        operationId: 'changePassword',
        summary: 'Set or change the password; other devices are signed out',
        description:
          '`current_password` is required when the account has a password (phone-only accounts may set one).',
        body: Ref(ChangePasswordBody),
        response: {
          204: Type.Null(),
          ...problems({ 422: ['wrong_current_password'], 429: ['login_throttled'] }),
        },
      },
    },
    async (request, reply) => {
      await accounts.changePassword(actorOf(request), request.body);
      return reply.status(204).send(null);
    },
  );

  for (const [action, status] of [
    ['block', 'blocked'],
    ['unblock', 'active'],
  ] as const) {
    app.post(
      `/admin/users/:id/${action}`,
      {
        config: { access: ['admin', 'moderator'] },
        schema: {
          tags: ['admin'],
          operationId: `adminUser${action === 'block' ? 'Block' : 'Unblock'}`,
          summary: action === 'block' ? 'Block an account and end its sessions' : 'Unblock an account',
          description: `${
            action === 'block'
              ? 'A moment later the account’s orders still looking for a provider are cancelled (reason `account_blocked`, their bidders told) and its pending bids withdrawn; unblocking reopens none of them. '
              : ''
          }Not one’s own account, nor that of someone one has dealings with: an order one of you placed and the other bid on, a review or an open dispute between you (403 \`own_case\`). A staff account only by an admin (403 \`staff_account_admin_only\`).`,
          params: IdParams,
          response: {
            200: Ref(UserResponse),
            ...problems({ 403: ['own_case', 'staff_account_admin_only'], 404: ['user_not_found'] }),
          },
        },
      },
      async (request) => accounts.setStatus(actorOf(request), request.params.id, status),
    );
  }
};
