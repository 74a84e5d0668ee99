import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { Ref } from '../../platform/schemas.ts';
import { fileResponse, IMAGE_TYPES, sendStoredFile } from '../../platform/storage/reply.ts';
import {
  AddProgressNoteBody,
  AssignmentPhotoParams,
  AssignmentResponse,
  MyAssignmentPage,
  MyAssignmentsQuery,
  UpdateAssignmentBody,
} from './assignment-contract.ts';
import type { AssignmentService } from './assignment-service.ts';
import { wrongStateCodes } from './lifecycle.ts';

export const assignmentRoutes: RoutesPlugin<{ assignments: AssignmentService }> = async (
  app,
  { assignments },
) => {
  const tags = ['assignments'];

  app.get(
    '/orders/:id/assignment',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getOrderAssignment',
        summary:
          'The agreed work on an order: accepted bid, progress, completion, the other party’s contacts',
        description: 'For the order’s client, its assigned provider and staff; anyone else gets 404.',
        params: IdParams,
        response: { 200: Ref(AssignmentResponse), ...problems({ 404: ['assignment_not_found'] }) },
      },
    },
    async (request) => assignments.getAssignment(actorOf(request), request.params.id),
  );

  app.post(
    '/orders/:id/assignment/notes',
    {
      config: { access: 'user', location: '/orders/{order_id}/assignment' },
      schema: {
        tags,
        operationId: 'addAssignmentProgressNote',
        summary: 'Add a progress note (the assigned provider, while the order is assigned or in progress)',
        description:
          'The note is kept, with its time, in the assignment’s `progress_notes`, which both parties see; at most 200 notes.',
        params: IdParams,
        body: Ref(AddProgressNoteBody),
        response: {
          201: Ref(AssignmentResponse),
          ...problems({
            403: ['assigned_provider_only'],
            404: ['assignment_not_found'],
            409: wrongStateCodes('workNotes'),
            422: ['too_many_progress_notes'],
          }),
        },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await assignments.addProgressNote(actorOf(request), request.params.id, request.body)),
  );

  app.patch(
    '/orders/:id/assignment',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'updateOrderAssignment',
        summary: 'Set completion notes and photos (the assigned provider, while the work is on)',
        description:
          'Photos are your own uploads with purpose `order_photo` (POST /files); the list given replaces the one there.',
        params: IdParams,
        body: Ref(UpdateAssignmentBody),
        response: {
          200: Ref(AssignmentResponse),
          ...problems({
            403: ['assigned_provider_only'],
            404: ['assignment_not_found'],
            409: wrongStateCodes('workNotes'),
            422: ['invalid_file'],
          }),
        },
      },
    },
    async (request) => assignments.updateAssignment(actorOf(request), request.params.id, request.body),
  );

  app.get(
    '/orders/:id/assignment/photos/:file_id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getAssignmentCompletionPhoto',
        summary: 'A completion photo of the assignment, for its parties and staff',
        description:
          'One of the photos the provider attached to the completion report; 404 to anyone who may not see the assignment.',
        params: AssignmentPhotoParams,
        response: {
          200: fileResponse(IMAGE_TYPES, 'The image, with the type detected at upload'),
          ...problems({ 404: ['assignment_not_found', 'file_not_found'] }),
        },
      },
    },
    async (request, reply) => {
      const { file, stream } = await assignments.openCompletionPhoto(
        actorOf(request),
        request.params.id,
        request.params.file_id,
      );
      return sendStoredFile(reply, { file, stream }, { cacheControl: 'private, max-age=3600' });
    },
  );

  app.get(
    '/me/assignments',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'listMyAssignments',
        summary: 'Work agreed with me, as provider or as client, newest first',
        description:
          'Every assignment where the caller is the client or the assigned provider, a page at a time, with the order’s essentials; filter by role and by the order’s status.',
        querystring: MyAssignmentsQuery,
        response: { 200: Ref(MyAssignmentPage) },
      },
    },
    async (request) => assignments.listMyAssignments(actorOf(request), request.query),
  );
};
