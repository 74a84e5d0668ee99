import { Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { type App, IdParams } from '../../platform/http.ts';
import { ListQuery } from '../../platform/pagination.ts';
import { Ref } from '../../platform/schemas.ts';
import { CreateServiceBody, ServicePage, ServiceResponse, UpdateServiceBody } from './profile-contract.ts';
import type { ProfileService } from './profile-service.ts';

/** What a provider offers, per subcategory: registered by `profileRoutes`, in its place in the document. */
export function providerServiceRoutes(app: App, profiles: ProfileService) {
  app.get(
    '/me/services',
    {
      config: { access: 'user' },
      schema: {
        tags: ['provider services'],
        operationId: 'listMyServices',
        summary: 'The services I offer, newest first',
        description:
          'The caller’s own services, active or not, a page at a time. Only a provider has services.',
        querystring: ListQuery({}),
        response: { 200: Ref(ServicePage), ...problems({ 422: ['provider_profile_required'] }) },
      },
    },
    async (request) => profiles.listServices(actorOf(request), request.query),
  );

  app.post(
    '/me/services',
    {
      config: { access: 'user', location: '/me/services/{id}' },
      schema: {
        tags: ['provider services'],
        operationId: 'createMyService',
        summary: 'Offer a service in a subcategory (one per subcategory)',
        description: '`base_price` is in tyiyn and must be within the category’s price range.',
        body: Ref(CreateServiceBody),
        response: {
          201: Ref(ServiceResponse),
          ...problems({
            409: ['service_already_offered'],
            422: ['price_out_of_range', 'provider_profile_required', 'subcategory_not_found'],
          }),
        },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await profiles.createService(actorOf(request), request.body)),
  );

  app.get(
    '/me/services/:id',
    {
      config: { access: 'user' },
      schema: {
        tags: ['provider services'],
        operationId: 'getMyService',
        summary: 'One of my services',
        description: 'One of the caller’s services; anyone else’s is 404.',
        params: IdParams,
        response: {
          200: Ref(ServiceResponse),
          ...problems({ 404: ['service_not_found'], 422: ['provider_profile_required'] }),
        },
      },
    },
    async (request) => profiles.getService(actorOf(request), request.params.id),
  );

  app.patch(
    '/me/services/:id',
    {
      config: { access: 'user' },
      schema: {
        tags: ['provider services'],
        operationId: 'updateMyService',
        summary: 'Change one of my services',
        description:
          'Only the fields sent change; `base_price` is in tyiyn, within the category’s price range. Anyone else’s service is 404.',
        params: IdParams,
        body: Ref(UpdateServiceBody),
        response: {
          200: Ref(ServiceResponse),
          ...problems({
            404: ['service_not_found'],
            422: ['price_out_of_range', 'provider_profile_required'],
          }),
        },
      },
    },
    async (request) => profiles.updateService(actorOf(request), request.params.id, request.body),
  );

  app.delete(
    '/me/services/:id',
    {
      config: { access: 'user' },
      schema: {
        tags: ['provider services'],
        operationId: 'deleteMyService',
        summary: 'Stop offering a service',
        description:
          'The service no longer shows in the directory or on the provider’s profile. Anyone else’s service is 404.',
        params: IdParams,
        response: {
          204: Type.Null(),
          ...problems({ 404: ['service_not_found'], 422: ['provider_profile_required'] }),
        },
      },
    },
    async (request, reply) => {
      await profiles.deleteService(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );
}
