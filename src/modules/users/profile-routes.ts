import { Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { ListQuery } from '../../platform/pagination.ts';
import { Component, Ref } from '../../platform/schemas.ts';
import { fileResponse, IMAGE_TYPES, sendStoredFile } from '../../platform/storage/reply.ts';
import type { FileService } from '../../platform/storage/service.ts';
import type { DirectoryService } from './directory-service.ts';
import {
  ClientProfileBody,
  ClientProfileResponse,
  CreateProviderProfileBody,
  DirectoryQuery,
  FavoritePage,
  ProfileResponse,
  ProviderCardPage,
  ProviderProfileResponse,
  ProviderPublicResponse,
  UpdateClientProfileBody,
  UpdateProfileBody,
  UpdateProviderProfileBody,
} from './profile-contract.ts';
import type { ProfileService } from './profile-service.ts';
import { providerServiceRoutes } from './provider-service-routes.ts';

const ProviderParams = Type.Object({ provider_id: Type.String({ format: 'uuid' }) });
/** The provider a favorite was made of. */
const FavoriteAdded = Component('FavoriteAdded', ProviderParams);

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
        description:
          'The signed-in person’s profile, contact details and address included: only its owner sees them.',
        response: { 200: Ref(ProfileResponse) },
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
        description:
          'Only the fields sent change. `photo_file_id` is one of the caller’s uploads with purpose `profile_photo`; `service_area_id` an id from /service-areas; an unknown id is 422.',
        body: Ref(UpdateProfileBody),
        response: {
          200: Ref(ProfileResponse),
          ...problems({ 422: ['invalid_file', 'language_not_supported', 'service_area_not_found'] }),
        },
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
        description:
          'Makes the signed-in person a client, with optional preferences. A person has one client profile: a second is 409. Creating an order makes the caller a client as well.',
        body: Ref(ClientProfileBody),
        response: { 201: Ref(ClientProfileResponse), ...problems({ 409: ['client_profile_exists'] }) },
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
        description:
          'The caller’s client profile and its counters (orders, rating by providers); 404 while the caller is not a client.',
        response: { 200: Ref(ClientProfileResponse), ...problems({ 404: ['client_profile_not_found'] }) },
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
        description: 'Only the fields sent change; 404 while the caller is not a client.',
        body: Ref(UpdateClientProfileBody),
        response: { 200: Ref(ClientProfileResponse), ...problems({ 404: ['client_profile_not_found'] }) },
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
        body: Ref(CreateProviderProfileBody),
        response: {
          201: Ref(ProviderProfileResponse),
          ...problems({ 409: ['provider_profile_exists'], 422: ['service_area_not_found'] }),
        },
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
        description:
          'The caller’s provider profile, as the directory shows it and with what only its owner sees; 404 while the caller is not a provider.',
        response: { 200: Ref(ProviderProfileResponse), ...problems({ 404: ['provider_profile_not_found'] }) },
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
        description:
          'Only the fields sent change. `service_area_ids` replaces the list; `is_available: false` hides the provider from the directory. 404 while the caller is not a provider.',
        body: Ref(UpdateProviderProfileBody),
        response: {
          200: Ref(ProviderProfileResponse),
          ...problems({ 404: ['provider_profile_not_found'], 422: ['service_area_not_found'] }),
        },
      },
    },
    async (request) => profiles.updateProviderProfile(actorOf(request), request.body),
  );

  providerServiceRoutes(app, profiles);

  app.get(
    '/me/favorites',
    {
      config: { access: 'user' },
      schema: {
        tags: ['favorites'],
        operationId: 'listMyFavorites',
        summary: 'My favorite providers, last added first',
        description:
          'The providers the caller keeps as favorites, each with its public card; a provider who left the directory is left out.',
        querystring: ListQuery({}),
        response: { 200: Ref(FavoritePage), ...problems({ 422: ['client_profile_required'] }) },
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
        description:
          'Answers 201 when the provider was added and 204 when it was a favorite already. A provider not in the directory is 404.',
        params: ProviderParams,
        response: {
          201: Ref(FavoriteAdded),
          204: Type.Null(),
          ...problems({ 404: ['provider_not_found'], 422: ['client_profile_required'] }),
        },
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
        description: 'A provider that is not among the caller’s favorites is 404.',
        params: ProviderParams,
        response: {
          204: Type.Null(),
          ...problems({ 404: ['favorite_not_found'], 422: ['client_profile_required'] }),
        },
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
        description:
          'Providers in the public directory, available and not blocked, filtered and ordered as asked; each with the public card only. Open to anyone, signed in or not.',
        querystring: DirectoryQuery,
        response: { 200: Ref(ProviderCardPage) },
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
        description:
          'What anyone may see of a provider in the directory: the card, availability and active services. A provider not in the directory (unavailable, blocked, closed) is 404.',
        params: IdParams,
        response: { 200: Ref(ProviderPublicResponse), ...problems({ 404: ['provider_not_found'] }) },
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
        description:
          'The profile photo of a provider in the directory, as uploaded; 404 when there is none or the provider is not in the directory.',
        params: IdParams,
        response: {
          200: fileResponse(IMAGE_TYPES, 'The image, with the type detected at upload'),
          ...problems({ 404: ['photo_not_found', 'provider_not_found'] }),
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
