import { type Static, Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, Nullable, type RoutesPlugin } from '../../platform/http.ts';
import { ID_SORTS, ListQuery, OneOrMore, Page, Sort } from '../../platform/pagination.ts';
import { Component, DateTime, Ref, Uuid } from '../../platform/schemas.ts';
import { Text } from '../../platform/validation.ts';
import { VERIFICATION_STATUSES, VERIFICATION_TYPES } from './schema.ts';
import {
  EVIDENCE_REQUIRED,
  MAX_EVIDENCE_FILES,
  VERIFICATION_REVIEWERS,
  type VerificationService,
} from './verification-service.ts';

const VerificationType = Type.Enum(VERIFICATION_TYPES);
const VerificationStatus = Type.Enum(VERIFICATION_STATUSES);
const Note = Text({ maxLength: 2000 });

export const MyVerificationResponse = Component(
  'MyVerification',
  Type.Object({
    id: Uuid,
    verification_type: VerificationType,
    status: VerificationStatus,
    evidence_file_ids: Type.Array(Uuid),
    user_note: Nullable(Type.String()),
    public_note: Nullable(Type.String({ description: "The moderator's note to the user" })),
    created_at: DateTime,
    reviewed_at: Nullable(DateTime),
  }),
);
export type MyVerificationView = Static<typeof MyVerificationResponse>;

export const AdminVerificationResponse = Component(
  'AdminVerification',
  Type.Object({
    ...MyVerificationResponse.properties,
    user_id: Uuid,
    user_profile_id: Uuid,
    admin_notes: Nullable(Type.String({ description: 'Staff only; never shown to the user' })),
    reviewed_by: Nullable(Uuid),
    updated_at: DateTime,
  }),
);
export type AdminVerificationView = Static<typeof AdminVerificationResponse>;
const MyVerificationPage = Page('MyVerificationPage', MyVerificationResponse);
const AdminVerificationPage = Page('AdminVerificationPage', AdminVerificationResponse);

const SubmitVerificationBody = Component(
  'SubmitVerificationBody',
  Type.Object(
    {
      verification_type: VerificationType,
      evidence_file_ids: Type.Optional(Type.Array(Uuid, { maxItems: MAX_EVIDENCE_FILES })),
      note: Type.Optional(Note),
    },
    { additionalProperties: false },
  ),
);

/** Both notes are optional, so the body may be left out altogether. */
const DecideVerificationBody = Component(
  'DecideVerificationBody',
  Type.Object(
    { public_note: Type.Optional(Note), admin_notes: Type.Optional(Note) },
    { additionalProperties: false },
  ),
);

const staff = { access: VERIFICATION_REVIEWERS };

export const verificationRoutes: RoutesPlugin<{ verifications: VerificationService }> = async (
  app,
  { verifications },
) => {
  app.post(
    '/me/verifications',
    {
      config: { access: 'user', location: '/me/verifications/{id}' },
      schema: {
        tags: ['verification'],
        operationId: 'submitVerification',
        summary: 'Ask for a verification, with evidence',
        description:
          `Evidence is the ids of files uploaded with \`POST /files?purpose=verification_evidence\`; it is required for ${EVIDENCE_REQUIRED.join(', ')}. ` +
          'Another pending request of the same type is 409 `verification_already_pending`. ' +
          'An identity request moves the profile to `pending` until a moderator decides.',
        body: Ref(SubmitVerificationBody),
        response: {
          201: Ref(MyVerificationResponse),
          ...problems({
            409: ['already_verified', 'verification_already_pending'],
            422: ['evidence_required', 'invalid_file'],
          }),
        },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await verifications.submit(actorOf(request), request.body)),
  );

  app.get(
    '/me/verifications',
    {
      config: { access: 'user' },
      schema: {
        tags: ['verification'],
        operationId: 'listMyVerifications',
        summary: 'My verification requests and their decisions, newest first',
        description:
          'The caller’s verification requests, pending and decided, with the moderator’s public note.',
        querystring: ListQuery({}),
        response: { 200: Ref(MyVerificationPage) },
      },
    },
    async (request) => verifications.listMine(actorOf(request), request.query),
  );

  app.get(
    '/me/verifications/:id',
    {
      config: { access: 'user' },
      schema: {
        tags: ['verification'],
        operationId: 'getMyVerification',
        summary: 'One of my verification requests',
        description: 'One of the caller’s verification requests; anyone else’s is 404.',
        params: IdParams,
        response: { 200: Ref(MyVerificationResponse), ...problems({ 404: ['verification_not_found'] }) },
      },
    },
    async (request) => verifications.getMine(actorOf(request), request.params.id),
  );

  app.get(
    '/admin/verifications',
    {
      config: staff,
      schema: {
        tags: ['verification', 'admin'],
        operationId: 'adminListVerifications',
        summary: 'Verification requests to review',
        description:
          'Use `status=pending` for the review queue. Oldest first by default (`sort=oldest`). Evidence files download from `GET /files/{id}`.',
        querystring: ListQuery({
          status: OneOrMore(VERIFICATION_STATUSES, 'Request statuses'),
          type: Type.Optional(VerificationType),
          user_id: Type.Optional(Uuid),
          sort: Sort(ID_SORTS, { default: 'oldest', description: 'By submission time' }),
        }),
        response: { 200: Ref(AdminVerificationPage) },
      },
    },
    async (request) => verifications.adminList(request.query),
  );

  app.get(
    '/admin/verifications/:id',
    {
      config: staff,
      schema: {
        tags: ['verification', 'admin'],
        operationId: 'adminGetVerification',
        summary: 'One verification request',
        description: 'One verification request with its staff notes, for the staff who review them.',
        params: IdParams,
        response: { 200: Ref(AdminVerificationResponse), ...problems({ 404: ['verification_not_found'] }) },
      },
    },
    async (request) => verifications.adminGet(request.params.id),
  );

  for (const [action, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    app.post(
      `/admin/verifications/:id/${action}`,
      {
        // Both notes are optional, so the body may be left out altogether.
        config: { ...staff, optionalBody: true },
        schema: {
          tags: ['verification', 'admin'],
          operationId: action === 'approve' ? 'adminApproveVerification' : 'adminRejectVerification',
          summary: action === 'approve' ? 'Approve a pending verification' : 'Reject a pending verification',
          description:
            '`public_note` is shown to the user; `admin_notes` stays with staff. Only a pending request can be decided ' +
            '(else 409 `verification_not_pending`); nobody decides their own (403 `own_case`).' +
            (action === 'approve'
              ? ' Approving an identity verification marks the profile verified and badges its provider profile.'
              : ' Rejecting an identity verification sends a pending profile back to unverified.'),
          params: IdParams,
          body: Ref(DecideVerificationBody),
          response: {
            200: Ref(AdminVerificationResponse),
            ...problems({
              403: ['own_case'],
              404: ['verification_not_found'],
              409: ['verification_not_pending'],
            }),
          },
        },
      },
      async (request) => verifications.decide(actorOf(request), request.params.id, decision, request.body),
    );
  }
};
