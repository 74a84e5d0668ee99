import { type Static, Type } from 'typebox';
import { RoleSchema } from '../../platform/actor.ts';
import { Nullable } from '../../platform/http.ts';
import { Page } from '../../platform/pagination.ts';
import { Component, DateTime, Ref, Uuid } from '../../platform/schemas.ts';
import { Text } from '../../platform/validation.ts';
import { USER_STATUSES } from './schema.ts';

/** Kyrgyz mobile numbers in E.164: +996 and nine digits. */
export const Phone = Type.String({ pattern: '^\\+996\\d{9}$', examples: ['+996555123456'] });
export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Password = Type.String({ minLength: 8, maxLength: 128 });
/** A password as given to be checked: any length a password may have had. */
export const GivenPassword = Type.String({ minLength: 1, maxLength: 128 });
export const OtpCode = Type.String({ pattern: '^\\d{6}$' });
export const FullName = Text({ maxLength: 150 });

const DeviceName = Type.Optional(
  Text({ maxLength: 100, description: 'Shown in the session list, e.g. "Pixel 8"' }),
);

export const RegisterBody = Component(
  'RegisterBody',
  Type.Object(
    { email: Email, password: Password, full_name: FullName, device_name: DeviceName },
    { additionalProperties: false },
  ),
);

export const LoginBody = Component(
  'LoginBody',
  Type.Object(
    {
      email: Type.Optional(Email),
      phone: Type.Optional(Phone),
      password: GivenPassword,
      device_name: DeviceName,
    },
    { additionalProperties: false },
  ),
);

export const RequestOtpBody = Component(
  'RequestOtpBody',
  Type.Object({ phone: Phone }, { additionalProperties: false }),
);

export const VerifyOtpBody = Component(
  'VerifyOtpBody',
  Type.Object(
    { phone: Phone, code: OtpCode, full_name: Type.Optional(FullName), device_name: DeviceName },
    { additionalProperties: false },
  ),
);

export const RefreshTokensBody = Component(
  'RefreshTokensBody',
  Type.Object(
    { refresh_token: Type.String({ minLength: 1, maxLength: 200 }) },
    { additionalProperties: false },
  ),
);

export const ChangePasswordBody = Component(
  'ChangePasswordBody',
  Type.Object(
    { current_password: Type.Optional(Type.String({ maxLength: 128 })), new_password: Password },
    { additionalProperties: false },
  ),
);

export const SignedOutEverywhere = Component(
  'SignedOutEverywhere',
  Type.Object({ revoked: Type.Integer({ description: 'The sessions ended' }) }),
);

export const SetRolesBody = Component(
  'SetRolesBody',
  Type.Object(
    { roles: Type.Array(RoleSchema, { minItems: 1, maxItems: 6, uniqueItems: true }) },
    { additionalProperties: false },
  ),
);

/**
 * Why a person can no longer be chosen for work: `blocked` by staff, or `closed` (deactivated or erased).
 * Other modules show it beside what the person left behind (a bid), never the account itself.
 */
export const UNAVAILABLE_STANDINGS = ['blocked', 'closed'] as const;
/** How an account stands for other modules: `active`, or why it is not. */
export const ACCOUNT_STANDINGS = ['active', ...UNAVAILABLE_STANDINGS] as const;
export type AccountStanding = (typeof ACCOUNT_STANDINGS)[number];

export const UserResponse = Component(
  'User',
  Type.Object({
    id: Uuid,
    email: Nullable(Type.String()),
    phone: Nullable(Type.String()),
    full_name: Type.String(),
    roles: Type.Array(RoleSchema),
    status: Type.Enum(USER_STATUSES),
    email_verified: Type.Boolean(),
    phone_verified: Type.Boolean(),
    has_password: Type.Boolean(),
    created_at: DateTime,
  }),
);
export type UserView = Static<typeof UserResponse>;

/**
 * What closing, erasing and exporting ask for besides the access token (`AccountService.reauthenticate`):
 * one of the two, never both.
 */
export const Reauthentication = {
  password: Type.Optional({ ...GivenPassword, description: 'The account’s password' }),
  otp_code: Type.Optional({
    ...OtpCode,
    description:
      'For an account with a phone (the only way for one without a password): a fresh one-time code sent to it by `POST /auth/otp/request`',
  }),
};
export const ReauthenticationBody = Component(
  'ReauthenticationBody',
  Type.Object(Reauthentication, { additionalProperties: false }),
);
export type ReauthenticationInput = Static<typeof ReauthenticationBody>;

/** Erasing asks for the word besides the re-authentication, so that no client erases by a slip. */
export const EraseAccountBody = Component(
  'EraseAccountBody',
  Type.Object({ confirm: Type.Literal('ERASE'), ...Reauthentication }, { additionalProperties: false }),
);

export const TokenResponse = Component(
  'Tokens',
  Type.Object({
    access_token: Type.String({ description: 'JWT for the Authorization header; short-lived' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires' }),
    refresh_token: Type.String({
      description: 'Opaque; exchange it once at /auth/refresh. Using it a second time ends the session.',
    }),
    refresh_expires_at: DateTime,
    user: Ref(UserResponse),
  }),
);

/** A sign-in with a one-time code, which makes the account when the phone had none. */
export const OtpSignIn = Component(
  'OtpSignIn',
  Type.Object({ ...TokenResponse.properties, is_new_user: Type.Boolean() }),
);
export type Tokens = Static<typeof TokenResponse>;

export const OtpSentResponse = Component(
  'OtpSent',
  Type.Object({
    expires_in: Type.Integer({ description: 'Seconds the code stays valid' }),
    resend_after: Type.Integer({ description: 'Seconds before another code may be requested' }),
  }),
);
export type OtpSent = Static<typeof OtpSentResponse>;

export const SessionResponse = Component(
  'Session',
  Type.Object({
    id: Uuid,
    device_name: Nullable(Type.String()),
    user_agent: Nullable(Type.String()),
    ip: Nullable(Type.String()),
    created_at: DateTime,
    last_used_at: DateTime,
    expires_at: DateTime,
    current: Type.Boolean({ description: 'The session this request was made with' }),
  }),
);
export type SessionView = Static<typeof SessionResponse>;
export const SessionPage = Page('SessionPage', SessionResponse);

/** An account as staff see it. */
export const AdminUserResponse = Component(
  'AdminUser',
  Type.Object({
    ...UserResponse.properties,
    is_deleted: Type.Boolean(),
    deleted_at: Nullable(DateTime),
    last_login_at: Nullable(DateTime),
    user_type: Nullable(Type.String()),
    verification_status: Nullable(Type.String()),
  }),
);
export type AdminUserView = Static<typeof AdminUserResponse>;

/** A reopened account, and what of it came back per table. */
export const RestoredAccount = Component(
  'RestoredAccount',
  Type.Object({ user: Ref(UserResponse), restored: Type.Record(Type.String(), Type.Integer()) }),
);
export const AdminUserPage = Page('AdminUserPage', AdminUserResponse);
