import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import type { RoutesPlugin } from '../../platform/http.ts';
import { Ref } from '../../platform/schemas.ts';
import { FeedQuery, OrderListingPage, OrderSearchQuery } from './feed-contract.ts';
import type { FeedService } from './feed-service.ts';

export const feedRoutes: RoutesPlugin<{ feed: FeedService }> = async (app, { feed }) => {
  const tags = ['orders'];

  app.get(
    '/orders/feed',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getOrderFeed',
        summary: 'Orders for me as a provider: open for bids, in what I offer and where I work',
        description:
          'Orders in the subcategories of my active services and, when my provider profile names service areas, in those areas or their districts. My own orders, orders I already have a live bid on and orders whose client rejected my bid are left out. Never shows addresses or locations.',
        querystring: FeedQuery,
        response: { 200: Ref(OrderListingPage), ...problems({ 403: ['provider_profile_required'] }) },
      },
    },
    async (request) => feed.feed(actorOf(request), request.query),
  );

  app.get(
    '/orders/search',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'searchOrders',
        summary: 'Search orders open for bids by text, category, area, budget, urgency and service date',
        description:
          '`q` matches every word in the title or description, in any order; a misspelt word or another form of it also finds the words orders use that are close to it. By relevance (the default with `q`), orders holding the words as typed come first. Budget filters keep orders whose budget range meets the one asked for (orders without a budget drop out); date filters keep orders with a service date in the range.',
        querystring: OrderSearchQuery,
        response: { 200: Ref(OrderListingPage) },
      },
    },
    async (request) => feed.search(actorOf(request), request.query),
  );
};
