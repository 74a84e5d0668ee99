import { Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { ListQuery, Page } from '../../platform/pagination.ts';
import { fileResponse, IMAGE_TYPES, sendStoredFile } from '../../platform/storage/reply.ts';
import type { FileService } from '../../platform/storage/service.ts';
import type { DirectoryService } from './directory-service.ts';
import {
  ClientProfileBody,
  ClientProfileResponse,
  CreateProviderProfileBody,
  CreateServiceBody,
  DirectoryQuery,
  FavoriteResponse,
  ProfileResponse,
  ProviderCardResponse,
  ProviderProfileResponse,
  ProviderPublicResponse,
  ServiceResponse,
  UpdateProfileBody,
  UpdateProviderProfileBody,
  UpdateServiceBody,
} from './profile-contract.ts';
import type { ProfileService } from './profile-service.ts';

const problem = Type.Ref('Problem');
const ProviderParams = Type.Object({ provider_id: Type.String({ format: 'uuid' }) });

export const profileRoutes: RoutesPlugin<{
  profiles: ProfileService;
  directory: DirectoryService;
  files: FileService;
}> = async (app, { profiles, directory, files }) => {
  const tags = ['profiles'];

  app.get(
    '/me/profile',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getMyProfile',
        summary: 'My profile',
        response: { 200: ProfileResponse },
      },
    },
    async (request) => profiles.getProfile(actorOf(request)),
  );

  app.patch(
    '/me/profile',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'updateMyProfile',
        summary: 'Change my profile; fields left out stay as they are, null clears one',
        body: UpdateProfileBody,
        response: { 200: ProfileResponse, 422: problem },
      },
    },
    async (request) => profiles.updateProfile(actorOf(request), request.body),
  );

  app.post(
    '/me/client-profile',
    {
      config: { access: 'user', location: '/me/client-profile' },
      schema: {
        tags,
        operationId: 'createMyClientProfile',
        summary: 'Become a client',
        body: ClientProfileBody,
        response: { 201: ClientProfileResponse, 409: problem },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await profiles.createClientProfile(actorOf(request), request.body)),
  );

  app.get(
    '/me/client-profile',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getMyClientProfile',
        summary: 'My client profile',
        response: { 200: ClientProfileResponse, 404: problem },
      },
    },
    async (request) => profiles.getClientProfile(actorOf(request)),
  );

  app.patch(
    '/me/client-profile',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'updateMyClientProfile',
        summary: 'Change my client preferences',
        body: Type.Object(ClientProfileBody.properties, { additionalProperties: false, minProperties: 1 }),
        response: { 200: ClientProfileResponse, 404: problem },
      },
    },
    async (request) => profiles.updateClientProfile(actorOf(request), request.body),
  );

  app.post(
    '/me/provider-profile',
    {
      config: { access: 'user', location: '/me/provider-profile' },
      schema: {
        tags,
        operationId: 'createMyProviderProfile',
        summary: 'Become a provider',
        description:
          'Adds the `provider` role to the account; refresh the tokens to carry it. Availability is per weekday, as HH:MM ranges in Asia/Bishkek time.',
        body: CreateProviderProfileBody,
        response: { 201: ProviderProfileResponse, 409: problem, 422: problem },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await profiles.createProviderProfile(actorOf(request), request.body)),
  );

  app.get(
    '/me/provider-profile',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getMyProviderProfile',
        summary: 'My provider profile',
        response: { 200: ProviderProfileResponse, 404: problem },
      },
    },
    async (request) => profiles.getProviderProfile(actorOf(request)),
  );

  app.patch(
    '/me/provider-profile',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'updateMyProviderProfile',
        summary: 'Change my provider profile',
        body: UpdateProviderProfileBody,
        response: { 200: ProviderProfileResponse, 404: problem, 422: problem },
      },
    },
    async (request) => profiles.updateProviderProfile(actorOf(request), request.body),
  );

  app.get(
    '/me/services',
    {
      config: { access: 'user' },
      schema: {
        tags: ['provider services'],
        operationId: 'listMyServices',
        summary: 'The services I offer, newest first',
        querystring: ListQuery({}),
        response: { 200: Page(ServiceResponse), 422: problem },
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
        body: CreateServiceBody,
        response: { 201: ServiceResponse, 409: problem, 422: problem },
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
        params: IdParams,
        response: { 200: ServiceResponse, 404: problem, 422: problem },
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
        params: IdParams,
        body: UpdateServiceBody,
        response: { 200: ServiceResponse, 404: problem, 422: problem },
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
        params: IdParams,
        response: { 204: Type.Null(), 404: problem, 422: problem },
      },
    },
    async (request, reply) => {
      await profiles.deleteService(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/me/favorites',
    {
      config: { access: 'user' },
      schema: {
        tags: ['favorites'],
        operationId: 'listMyFavorites',
        summary: 'My favorite providers, last added first',
        querystring: ListQuery({}),
        response: { 200: Page(FavoriteResponse), 422: problem },
      },
    },
    async (request) => {
      const page = await profiles.listFavorites(actorOf(request), request.query);
      const cards = await directory.cards(page.data.map((r) => r.providerId));
      return {
        data: page.data.flatMap((r) => {
          const provider = cards.get(r.providerId);
          return provider ? [{ provider, added_at: r.addedAt.toISOString() }] : [];
        }),
        next_cursor: page.next_cursor,
      };
    },
  );

  app.put(
    '/me/favorites/:provider_id',
    {
      config: { access: 'user', location: '/me/favorites/{provider_id}' },
      schema: {
        tags: ['favorites'],
        operationId: 'addFavorite',
        summary: 'Add a provider to my favorites (doing it again changes nothing)',
        params: ProviderParams,
        response: { 201: ProviderParams, 204: Type.Null(), 404: problem, 422: problem },
      },
    },
    async (request, reply) => {
      const { provider_id } = request.params;
      const { created } = await profiles.addFavorite(actorOf(request), provider_id);
      return created ? reply.status(201).send({ provider_id }) : reply.status(204).send(null);
    },
  );

  app.delete(
    '/me/favorites/:provider_id',
    {
      config: { access: 'user' },
      schema: {
        tags: ['favorites'],
        operationId: 'removeFavorite',
        summary: 'Remove a provider from my favorites',
        params: ProviderParams,
        response: { 204: Type.Null(), 404: problem, 422: problem },
      },
    },
    async (request, reply) => {
      await profiles.removeFavorite(actorOf(request), request.params.provider_id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/providers',
    {
      config: { access: 'public', shared: { maxAgeSeconds: 0 } },
      schema: {
        tags: ['directory'],
        operationId: 'searchProviders',
        summary: 'Find providers by text, category, area, rating, price and weekday',
        querystring: DirectoryQuery,
        response: { 200: Page(ProviderCardResponse) },
      },
    },
    async (request) => directory.search(request.query),
  );

  app.get(
    '/providers/:id',
    {
      config: { access: 'public', shared: { maxAgeSeconds: 0 } },
      schema: {
        tags: ['directory'],
        operationId: 'getProvider',
        summary: 'A provider’s public profile: services, areas, rating; never contact details',
        params: IdParams,
        response: { 200: ProviderPublicResponse, 404: problem },
      },
    },
    async (request) => directory.getProvider(request.params.id),
  );

  app.get(
    '/providers/:id/photo',
    {
      config: { access: 'public' },
      schema: {
        tags: ['directory'],
        operationId: 'getProviderPhoto',
        summary: 'A provider’s profile photo',
        params: IdParams,
        response: {
          200: fileResponse(IMAGE_TYPES, 'The image, with the type detected at upload'),
          404: problem,
        },
      },
    },
    async (request, reply) => {
      const provider = await directory.getProvider(request.params.id);
      if (!provider.photo_file_id) throw new NotFoundError('photo');
      const { file, stream } = await files.openPublic(provider.photo_file_id, 'profile_photo');
      return sendStoredFile(reply, { file, stream }, { cacheControl: 'public, max-age=3600' });
    },
  );
};
